"""The RayCluster status as computed before it was typed (JSON dicts, camelCase keys, time strings).

Kept only as the reference of tests/unit/properties/test_raycluster_status_typed.py, which checks that the
typed `raykube.controllers.raycluster.status` serialises to exactly these dicts. Not used by the operator;
the one change from the removed code is reading the old status with ``to_json()`` (its times are datetimes
now, and JSON text is what this version was written against).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Any

from raykube import reasons
from raykube.api.defaults import effective_num_of_hosts, effective_replicas
from raykube.api.quantity import Quantity, total
from raykube.api.raycluster import MAX_INT32, RayCluster
from raykube.controllers.event import Event
from raykube.controllers.raycluster import pods as podfacts
from raykube.controllers.raycluster.pods import Pod
from raykube.runtime.clock import stamp

C = reasons.RayClusterConditionType
E = reasons.EventReason
R = reasons.RayClusterConditionReason
_REASON_SYNTAX = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")

#: Condition messages, KubeRay's text.
HEAD_POD_NOT_FOUND_MESSAGE = "Head Pod not found"
PROVISIONED_MESSAGE = "All Ray Pods are ready for the first time"
PROVISIONING_MESSAGE = "RayCluster Pods are being provisioned for first time"
SUSPENDED_MESSAGE = "RayCluster has been suspended"


@dataclass(frozen=True)
class ReconcileFailure:
    """A typed reconcile error, shown as the ReplicaFailure condition (reason e.g. FailedCreateWorkerPod)."""

    reason: reasons.RayClusterConditionReason
    message: str


def _group_pod_resources(template: dict[str, Any]) -> dict[str, Quantity]:
    """Per-pod resources: each container's requests, falling back to its limits key by key."""
    sums: dict[str, list[Quantity]] = {}
    for container in (template.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        for key, value in merged.items():
            sums.setdefault(key, []).append(Quantity.parse(str(value)))
    return {key: total(values) for key, values in sums.items()}


def desired_resources(cluster: RayCluster) -> dict[str, str]:
    """desiredCPU/Memory/GPU/TPU: head plus every worker pod the spec asks for."""
    per_pod = [(1, _group_pod_resources(cluster.spec.head_group_spec.template))]
    for group in cluster.spec.worker_group_specs or []:
        if not group.suspend:
            per_pod.append((effective_replicas(group), _group_pod_resources(group.template)))
    cpu, memory, gpu, tpu = [], [], [], []
    for count, resources in per_pod:
        for key, quantity in resources.items():
            scaled = quantity * count
            if key == "cpu":
                cpu.append(scaled)
            elif key == "memory":
                memory.append(scaled)
            elif key == "google.com/tpu":
                tpu.append(scaled)
            elif key.endswith("gpu") or key.startswith("nvidia.com/mig-"):
                gpu.append(scaled)
    return {
        "desiredCPU": str(total(cpu)),
        "desiredMemory": str(total(memory)),
        "desiredGPU": str(total(gpu)),
        "desiredTPU": str(total(tpu)),
    }


def _replica_counts(cluster: RayCluster, workers: list[Pod]) -> dict[str, int]:
    """The five worker counts, each saturated at 2^31-1: the status schema holds int32 (KubeRay's Go int32
    arithmetic would wrap; a value past the schema's range would make every status write fail). A zero
    count is left out, as KubeRay's ``omitempty`` int32 fields are (`kubectl get rayclusters` shows a blank)."""
    groups = [g for g in cluster.spec.worker_group_specs or [] if not g.suspend]
    counts = {
        "desiredWorkerReplicas": sum(effective_replicas(g) for g in groups),
        "minWorkerReplicas": sum((g.min_replicas or 0) * effective_num_of_hosts(g) for g in groups),
        "maxWorkerReplicas": sum((g.max_replicas or 0) * effective_num_of_hosts(g) for g in groups),
        "readyWorkerReplicas": sum(1 for p in workers if podfacts.is_ready(p)),
        "availableWorkerReplicas": sum(1 for p in workers if podfacts.phase(p) == "Running"),
    }
    return {name: min(value, MAX_INT32) for name, value in counts.items() if value}


def _endpoints(service: dict[str, Any] | None) -> dict[str, str]:
    ports = ((service or {}).get("spec") or {}).get("ports") or []
    result = {}
    for port in ports:
        value = port.get("nodePort") or port.get("targetPort") or port.get("port")
        if port.get("name") and value:
            result[str(port["name"])] = str(value)
    return result


def _head_info(head: Pod | None, service: dict[str, Any] | None) -> dict[str, str]:
    info: dict[str, str] = {}
    pod_ip = ((head or {}).get("status") or {}).get("podIP")
    if head is not None:
        info["podName"] = podfacts.name(head)
    if pod_ip:
        info["podIP"] = pod_ip
    if service is not None:
        info["serviceName"] = service["metadata"]["name"]
        cluster_ip = (service.get("spec") or {}).get("clusterIP")
        service_ip = pod_ip if cluster_ip in (None, "", "None") else cluster_ip
        if service_ip:
            info["serviceIP"] = service_ip
    return info


class _Conditions:
    """The old conditions plus changes; lastTransitionTime moves only when a status flips."""

    def __init__(self, old: list[dict[str, Any]], now: str) -> None:
        self._by_type = {c["type"]: dict(c) for c in old}
        self._now = now

    def get(self, kind: str) -> bool:
        return self._by_type.get(kind, {}).get("status") == "True"

    def set(self, kind: str, status: bool, reason: str, message: str = "") -> None:
        text = "True" if status else "False"
        old = self._by_type.get(kind)
        if not _REASON_SYNTAX.match(reason):
            reason = R.UNKNOWN
        changed = old is None or old.get("status") != text
        self._by_type[kind] = {
            "type": kind,
            "status": text,
            "reason": reason,
            "message": message,
            "lastTransitionTime": self._now if changed else old["lastTransitionTime"],  # type: ignore[index]
        }

    def remove(self, kind: str) -> None:
        self._by_type.pop(kind, None)

    def as_list(self) -> list[dict[str, Any]]:
        return list(self._by_type.values())


def _head_ready_condition(head: Pod | None) -> tuple[bool, str, str]:
    if head is None:
        return False, R.HEAD_POD_NOT_FOUND, HEAD_POD_NOT_FOUND_MESSAGE
    if podfacts.is_ready(head):
        return True, R.HEAD_POD_RUNNING_AND_READY, ""
    ready = podfacts.condition(head, "Ready") or {}
    for status in (head.get("status") or {}).get("containerStatuses") or []:
        state = status.get("state") or {}
        detail = state.get("waiting") or state.get("terminated")
        if not status.get("ready") and detail and detail.get("reason"):
            return False, str(detail["reason"]), str(detail.get("message", ""))
    return False, str(ready.get("reason") or R.UNKNOWN), str(ready.get("message", ""))


def compute_status(
    cluster: RayCluster,
    observed: list[Pod],
    *,
    head_service: dict[str, Any] | None,
    failure: ReconcileFailure | None,
    now: dt.datetime,
    conditions_enabled: bool = True,
) -> dict[str, Any]:
    """The complete new `status` of `cluster` (JSON, camelCase), ready to be written.

    ``conditions_enabled`` is KubeRay's RayClusterStatusConditions gate (on by default): off, no condition
    is written (those already there stay as they are) and ``state`` turns ``suspended`` once a suspended
    cluster has no pods.
    """
    old = cluster.status.to_json() if cluster.status else {}
    now_text = stamp(now)
    live = [p for p in observed if not podfacts.is_terminating(p)]
    heads = [p for p in live if podfacts.is_head(p)]
    head = heads[0] if len(heads) == 1 else None
    workers = [p for p in live if podfacts.is_worker(p)]
    counts = _replica_counts(cluster, workers)
    conditions = _Conditions(old.get("conditions") or [], now_text)
    all_ready = (
        failure is None
        and head is not None
        and len(live) == counts.get("desiredWorkerReplicas", 0) + 1
        and all(podfacts.is_running_and_ready(p) for p in live)
    )
    state = old.get("state")
    if all_ready:
        state = reasons.ClusterState.READY.value
    if conditions_enabled:
        _update_conditions(cluster, conditions, head, failure, pod_count=len(observed), all_ready=all_ready)
    if conditions.get(C.SUSPENDED) or (not conditions_enabled and cluster.spec.suspend and not observed):
        # As KubeRay: after a resume the state stays `suspended` until every pod is ready again.
        state = reasons.ClusterState.SUSPENDED.value

    status: dict[str, Any] = {
        **counts,
        **desired_resources(cluster),
        "endpoints": _endpoints(head_service),
        "head": _head_info(head, head_service),
        "conditions": conditions.as_list(),
        "lastUpdateTime": now_text,
    }
    if generation := int(cluster.metadata.get("generation") or 0):
        status["observedGeneration"] = generation
    transitions = dict(old.get("stateTransitionTimes") or {})
    if state:
        status["state"] = state
        if state != old.get("state"):
            transitions[state] = now_text
    if transitions:
        status["stateTransitionTimes"] = transitions
    if old.get("reason") and state != reasons.ClusterState.READY.value:
        status["reason"] = old["reason"]
    return status


def _update_conditions(
    cluster: RayCluster,
    conditions: _Conditions,
    head: Pod | None,
    failure: ReconcileFailure | None,
    *,
    pod_count: int,
    all_ready: bool,
) -> None:
    """ReplicaFailure from the reconcile error, HeadPodReady from the head pod, then the rest."""
    if failure is None:
        conditions.remove(C.REPLICA_FAILURE)
    else:
        conditions.set(C.REPLICA_FAILURE, True, failure.reason, failure.message)
    ready_now, reason, message = _head_ready_condition(head)
    conditions.set(C.HEAD_POD_READY, ready_now, reason, message)
    _suspend_and_provisioned(cluster, conditions, pod_count=pod_count, all_ready=all_ready)


def _suspend_and_provisioned(cluster: RayCluster, conditions: _Conditions, *, pod_count: int, all_ready: bool) -> None:
    """RayClusterProvisioned (which a suspension resets), then the suspend state machine.

    As KubeRay's `calculateStatus`: outside a suspension both RayClusterSuspending and RayClusterSuspended
    are written with status False (reason = the type), so every cluster carries all four conditions.
    """
    suspending, suspended = conditions.get(C.SUSPENDING), conditions.get(C.SUSPENDED)
    if not suspended and not conditions.get(C.PROVISIONED):
        if all_ready:
            conditions.set(C.PROVISIONED, True, R.ALL_POD_RUNNING_AND_READY_FIRST_TIME, PROVISIONED_MESSAGE)
        else:
            conditions.set(C.PROVISIONED, False, R.PODS_PROVISIONING, PROVISIONING_MESSAGE)
    if suspending:
        if pod_count == 0:
            conditions.set(C.PROVISIONED, False, R.PODS_PROVISIONING, SUSPENDED_MESSAGE)
            conditions.set(C.SUSPENDING, False, C.SUSPENDING)
            conditions.set(C.SUSPENDED, True, C.SUSPENDED)
    elif suspended:
        if not cluster.spec.suspend:
            conditions.set(C.SUSPENDED, False, C.SUSPENDED)
    else:
        conditions.set(C.SUSPENDED, False, C.SUSPENDED)
        conditions.set(C.SUSPENDING, bool(cluster.spec.suspend), C.SUSPENDING)


#: The CRD's maxLength of a condition message.
_CONDITION_MESSAGE_LIMIT = 32768


def invalid_spec_status(
    old: dict[str, Any], message: str, *, now: dt.datetime, conditions_enabled: bool = True
) -> dict[str, Any]:
    """The status of a cluster whose spec (or name) does not validate: the old status plus ReplicaFailure
    (reason ``InvalidRayClusterSpec``, the validation message), besides the Warning Event. raykube only: KubeRay
    sends the Event alone, so the problem vanishes from ``kubectl describe`` once the Event expires. Nothing
    else changes: no pod was looked at. With status conditions off the status is left as it is."""
    if not conditions_enabled:
        return old
    conditions = _Conditions(old.get("conditions") or [], stamp(now))
    conditions.set(C.REPLICA_FAILURE, True, R.INVALID_SPEC, message[:_CONDITION_MESSAGE_LIMIT])
    return {**old, "conditions": conditions.as_list()}


def status_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """True if anything but `lastUpdateTime` differs: only then is the status written."""
    return {k: v for k, v in old.items() if k != "lastUpdateTime"} != {
        k: v for k, v in new.items() if k != "lastUpdateTime"
    }


#: Condition flips worth an Event: (condition type, new status) -> the Event (none for Provisioned since issue 16).
_TRANSITION_EVENTS = {
    (C.SUSPENDING, "True"): Event.normal(E.RAYCLUSTER_SUSPENDING, "Suspending: deleting all Ray pods"),
    (C.SUSPENDED, "True"): Event.normal(E.RAYCLUSTER_SUSPENDED, "Suspended: all Ray pods are gone"),
    (C.SUSPENDED, "False"): Event.normal(E.RAYCLUSTER_RESUMED, "Resumed: recreating the Ray pods"),
    (C.HEAD_POD_READY, "False"): Event.warning(E.HEAD_POD_NOT_READY, "The head pod is not ready"),
}


def transition_events(old: dict[str, Any], new: dict[str, Any]) -> list[Event]:
    """Events for conditions that flipped between two statuses; pure."""
    before = {c["type"]: c.get("status") for c in old.get("conditions") or []}
    events: list[Event] = []
    for condition in new.get("conditions") or []:
        kind, status = condition["type"], condition.get("status")
        if before.get(kind) == status:
            continue
        if kind == C.HEAD_POD_READY and before.get(kind) != "True":
            continue  # only a head that *was* ready and stopped being so is news
        if kind == C.SUSPENDED and status == "False" and before.get(kind) is None:
            continue
        found = _TRANSITION_EVENTS.get((kind, status))
        if found:
            detail = condition.get("reason") if kind == C.HEAD_POD_READY else None
            events.append(replace(found, message=f"{found.message} ({detail})") if detail else found)
    return events
