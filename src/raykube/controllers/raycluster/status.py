"""The RayCluster status: computed in one place, from the spec, the observed pods and head Service.

`compute_status` is pure (the clock is an argument); the reconciler writes its result through the status
subresource only when `status_changed` says something other than `lastUpdateTime` moved. Semantics follow
KubeRay's `calculateStatus` (controllers/ray/raycluster_controller.go, §2.8 of the behaviour reference):
counts, desired resources, the sticky `ready` state, HeadPodReady, RayClusterProvisioned (True once, for
good, until a suspension), ReplicaFailure from the reconcile error, and the suspend state machine
(spec.suspend → Suspending → pods gone → Suspended → spec.suspend false → resumed).

The status is a typed `RayClusterStatus` throughout (times are datetimes, conditions `Condition`s) and is
compared as such; it becomes the API's JSON only at the write (`RayModel.to_json`), where KubeRay's
``omitempty`` shows as the fields left ``None`` here (zero counts, no state, no reason).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from raykube import reasons
from raykube.api.defaults import effective_num_of_hosts, effective_replicas
from raykube.api.meta import Condition
from raykube.api.quantity import Quantity, total
from raykube.api.raycluster import MAX_INT32, HeadInfo, RayCluster, RayClusterStatus
from raykube.controllers.raycluster import pods as podfacts
from raykube.controllers.raycluster.conditions import ConditionSet
from raykube.controllers.raycluster.pods import Pod

C = reasons.RayClusterConditionType
R = reasons.RayClusterConditionReason

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


@dataclass(frozen=True)
class DesiredResources:
    """desiredCPU/Memory/GPU/TPU as Quantity text (a Quantity is never omitted: Go's encoder writes "0")."""

    cpu: str
    memory: str
    gpu: str
    tpu: str


def desired_resources(cluster: RayCluster) -> DesiredResources:
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
    return DesiredResources(str(total(cpu)), str(total(memory)), str(total(gpu)), str(total(tpu)))


@dataclass(frozen=True)
class ReplicaCounts:
    """The five worker counts of the status, each saturated at 2^31-1: the status schema holds int32
    (KubeRay's Go int32 arithmetic would wrap; a value past the schema's range would make every status write
    fail)."""

    desired: int
    minimum: int
    maximum: int
    ready: int
    available: int


def _replica_counts(cluster: RayCluster, workers: list[Pod]) -> ReplicaCounts:
    groups = [g for g in cluster.spec.worker_group_specs or [] if not g.suspend]
    return ReplicaCounts(
        desired=min(sum(effective_replicas(g) for g in groups), MAX_INT32),
        minimum=min(sum((g.min_replicas or 0) * effective_num_of_hosts(g) for g in groups), MAX_INT32),
        maximum=min(sum((g.max_replicas or 0) * effective_num_of_hosts(g) for g in groups), MAX_INT32),
        ready=min(sum(1 for p in workers if podfacts.is_ready(p)), MAX_INT32),
        available=min(sum(1 for p in workers if podfacts.phase(p) == "Running"), MAX_INT32),
    )


def _omitempty(count: int) -> int | None:
    """A zero count is left out, as KubeRay's ``omitempty`` int32 fields are (`kubectl get rayclusters` shows a
    blank)."""
    return count or None


def _endpoints(service: dict[str, Any] | None) -> dict[str, str]:
    ports = ((service or {}).get("spec") or {}).get("ports") or []
    result = {}
    for port in ports:
        value = port.get("nodePort") or port.get("targetPort") or port.get("port")
        if port.get("name") and value:
            result[str(port["name"])] = str(value)
    return result


def _head_info(head: Pod | None, service: dict[str, Any] | None) -> HeadInfo:
    pod_ip = ((head or {}).get("status") or {}).get("podIP") or None
    service_ip = None
    if service is not None:
        cluster_ip = (service.get("spec") or {}).get("clusterIP")
        service_ip = (pod_ip if cluster_ip in (None, "", "None") else cluster_ip) or None
    return HeadInfo(
        pod_name=podfacts.name(head) if head is not None else None,
        pod_ip=pod_ip,
        service_name=service["metadata"]["name"] if service is not None else None,
        service_ip=service_ip,
    )


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
) -> RayClusterStatus:
    """The complete new status of `cluster`, typed; the reconciler serialises it at the write.

    ``conditions_enabled`` is KubeRay's RayClusterStatusConditions gate (on by default): off, no condition
    is written (those already there stay as they are) and ``state`` turns ``suspended`` once a suspended
    cluster has no pods.
    """
    old = cluster.status or RayClusterStatus()
    live = [p for p in observed if not podfacts.is_terminating(p)]
    heads = [p for p in live if podfacts.is_head(p)]
    head = heads[0] if len(heads) == 1 else None
    counts = _replica_counts(cluster, [p for p in live if podfacts.is_worker(p)])
    conditions = ConditionSet(old.conditions, now)
    all_ready = (
        failure is None
        and head is not None
        and len(live) == counts.desired + 1
        and all(podfacts.is_running_and_ready(p) for p in live)
    )
    state = old.state
    if all_ready:
        state = reasons.ClusterState.READY.value
    if conditions_enabled:
        _update_conditions(cluster, conditions, head, failure, pod_count=len(observed), all_ready=all_ready)
    if conditions.get(C.SUSPENDED) or (not conditions_enabled and cluster.spec.suspend and not observed):
        # As KubeRay: after a resume the state stays `suspended` until every pod is ready again.
        state = reasons.ClusterState.SUSPENDED.value
    transitions = dict(old.state_transition_times or {})
    if state and state != old.state:
        transitions[state] = now
    resources = desired_resources(cluster)
    return RayClusterStatus(
        desired_worker_replicas=_omitempty(counts.desired),
        min_worker_replicas=_omitempty(counts.minimum),
        max_worker_replicas=_omitempty(counts.maximum),
        ready_worker_replicas=_omitempty(counts.ready),
        available_worker_replicas=_omitempty(counts.available),
        desired_cpu=resources.cpu,
        desired_memory=resources.memory,
        desired_gpu=resources.gpu,
        desired_tpu=resources.tpu,
        endpoints=_endpoints(head_service),
        head=_head_info(head, head_service),
        conditions=conditions.as_list(),
        last_update_time=now,
        observed_generation=int(cluster.metadata.get("generation") or 0) or None,
        state=state or None,
        state_transition_times=transitions or None,
        reason=old.reason if old.reason and state != reasons.ClusterState.READY.value else None,
    )


def _update_conditions(
    cluster: RayCluster,
    conditions: ConditionSet,
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


def _suspend_and_provisioned(
    cluster: RayCluster, conditions: ConditionSet, *, pod_count: int, all_ready: bool
) -> None:
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



def invalid_spec_status(
    old: RayClusterStatus | None, message: str, *, now: dt.datetime, conditions_enabled: bool = True
) -> RayClusterStatus | None:
    """The status of a cluster whose spec (or name) does not validate: the old status plus ReplicaFailure
    (reason ``InvalidRayClusterSpec``, the validation message), besides the Warning Event. raykube only: KubeRay
    sends the Event alone, so the problem vanishes from ``kubectl describe`` once the Event expires. Nothing
    else changes: no pod was looked at. With status conditions off the status is left as it is."""
    if not conditions_enabled:
        return old
    base = old or RayClusterStatus()
    conditions = ConditionSet(base.conditions, now)
    conditions.set(C.REPLICA_FAILURE, True, R.INVALID_SPEC, message)  # cut to the API's limit by set()
    return base.model_copy(update={"conditions": conditions.as_list()})


def deleting_status(old: RayClusterStatus | None, reason: str, *, now: dt.datetime) -> RayClusterStatus:
    """The status of a cluster whose deletion the GCS FT clean-up finalizer holds: the old status with
    ``reason`` saying what the deletion waits for and until when (`gcs_cleanup.waiting_reason`). raykube only:
    KubeRay writes no status while it deletes. Nothing else changes: the pods are going away, and counting
    them down would only add writes."""
    return (old or RayClusterStatus()).model_copy(update={"reason": reason, "last_update_time": now})


def status_changed(old: RayClusterStatus | None, new: RayClusterStatus) -> bool:
    """True if anything but `lastUpdateTime` differs: only then is the status written."""
    if old is None:
        return True
    return old.model_copy(update={"last_update_time": None}) != new.model_copy(update={"last_update_time": None})


#: The fields whose change alone is progress (pods turning ready, addresses appearing), which a reconciler
#: may hold for a moment to write together with the next change (`kit.StatusPacer`).
_PROGRESS_FIELDS = frozenset({"ready_worker_replicas", "available_worker_replicas", "head", "endpoints",
                              "last_update_time"})


def progress_only(old: RayClusterStatus | None, new: RayClusterStatus) -> bool:
    """True when ``new`` differs from ``old`` only in progress: ready/available counts, the head's addresses,
    endpoints and the HeadPodReady condition. A first status, a new state, reason or generation, and any
    other condition are not progress (they are written at once)."""
    if old is None:
        return False
    for name in RayClusterStatus.model_fields:
        if name in _PROGRESS_FIELDS or name == "conditions":
            continue
        if getattr(old, name) != getattr(new, name):
            return False
    return _without_head_ready(old.conditions) == _without_head_ready(new.conditions)


def ever_ready(status: RayClusterStatus) -> bool:
    """True once the cluster has been ``ready`` (state now, or a recorded transition to it)."""
    ready = reasons.ClusterState.READY.value
    return status.state == ready or ready in (status.state_transition_times or {})


def _without_head_ready(conditions: list[Condition] | None) -> list[Condition]:
    return [c for c in conditions or () if c.type != C.HEAD_POD_READY]
