"""Facts about observed pods that the planner and the status share (pure, on raw pod JSON)."""

from __future__ import annotations

from typing import Any

from raykube import reasons

Pod = dict[str, Any]


def name(pod: Pod) -> str:
    return str(pod["metadata"]["name"])


def labels(pod: Pod) -> dict[str, str]:
    return dict(pod["metadata"].get("labels") or {})


def is_head(pod: Pod) -> bool:
    return labels(pod).get(reasons.LABEL_NODE_TYPE) == "head"


def is_worker(pod: Pod) -> bool:
    return labels(pod).get(reasons.LABEL_NODE_TYPE) == "worker"


def group(pod: Pod) -> str:
    return labels(pod).get(reasons.LABEL_GROUP, "")


def is_terminating(pod: Pod) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def phase(pod: Pod) -> str:
    return str((pod.get("status") or {}).get("phase", ""))


def condition(pod: Pod, kind: str) -> dict[str, Any] | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


def is_running_and_ready(pod: Pod) -> bool:
    """Phase Running and, if the pod reports one, a True Ready condition."""
    if phase(pod) != "Running":
        return False
    ready = condition(pod, "Ready")
    return ready is None or ready.get("status") == "True"


def is_ready(pod: Pod) -> bool:
    ready = condition(pod, "Ready")
    return phase(pod) == "Running" and ready is not None and ready.get("status") == "True"


DEFAULT_SCHEDULER = "default-scheduler"


def awaits_first_scheduling(pod: Pod) -> bool:
    """Whether the pod sits in the default scheduler's queue waiting for its first attempt: not bound to a node
    and no PodScheduled condition yet (the scheduler sets it False after an attempt that found no node, and
    a pod held by scheduling gates has it False too, reason SchedulingGated). Pods of another scheduler
    (Volcano, YuniKorn, ...: a gang scheduler may wait for every pod before it binds any) never count."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName") or (spec.get("schedulerName") or DEFAULT_SCHEDULER) != DEFAULT_SCHEDULER:
        return False
    return phase(pod) in ("", "Pending") and not is_terminating(pod) and condition(pod, "PodScheduled") is None


def ray_container_status(pod: Pod) -> dict[str, Any] | None:
    """Status of the Ray container (index 0 of the spec, matched by name)."""
    containers = (pod.get("spec") or {}).get("containers") or []
    if not containers:
        return None
    ray_name = containers[0].get("name")
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == ray_name:
            return dict(status)
    return None


def deletion_reason(pod: Pod) -> str | None:
    """Why the pod must be replaced, or None to keep it (KubeRay's `shouldDeletePod`).

    A pod in phase Failed or Succeeded never runs again. A Running pod whose Ray container terminated
    and will not be restarted (restartPolicy Never) is as good as dead. Anything else is left to the
    kubelet, which restarts containers itself.
    """
    current = phase(pod)
    if current in ("Failed", "Succeeded"):
        return f"pod {name(pod)} is in phase {current} and will not restart"
    if current == "Running" and (pod.get("spec") or {}).get("restartPolicy") == "Never":
        status = ray_container_status(pod)
        if status and "terminated" in (status.get("state") or {}):
            return f"the Ray container of pod {name(pod)} terminated and restartPolicy is Never"
    return None


def _go_time(text: str | None) -> str:
    """An RFC 3339 time as Go's ``time.Time.String()`` prints it (``2024-01-02 03:04:05 +0000 UTC``)."""
    if not text:
        return "0001-01-01 00:00:00 +0000 UTC"
    return text.replace("T", " ").replace("Z", " +0000 UTC")


def terminated_text(pod: Pod) -> str:
    """The Ray container's terminated state as KubeRay's Event texts print it (Go's ``%v``), ``nil`` if running."""
    status = ray_container_status(pod)
    done = ((status or {}).get("state") or {}).get("terminated")
    if not done:
        return "nil"
    return (
        f"&ContainerStateTerminated{{ExitCode:{done.get('exitCode', 0)},Signal:{done.get('signal', 0)},"
        f"Reason:{done.get('reason', '')},Message:{done.get('message', '')},"
        f"StartedAt:{_go_time(done.get('startedAt'))},FinishedAt:{_go_time(done.get('finishedAt'))},"
        f"ContainerID:{done.get('containerID', '')},}}"
    )


def state_summary(pod: Pod) -> str:
    """``Pod status: ...; Pod restart policy: ...; Ray container terminated status: ...`` (KubeRay's Event text)."""
    policy = (pod.get("spec") or {}).get("restartPolicy", "")
    terminated = terminated_text(pod)
    return f"Pod status: {phase(pod)}; Pod restart policy: {policy}; Ray container terminated status: {terminated}"


#: What the controllers never read from a cached Ray pod: the container fields that make a Ray pod heavy (the
#: injected environment, probes, the `ray start` line, mounts) and the pod's volumes. Everything they read stays:
#: metadata, the whole status, and of the spec the node, restart policy and each container's name, image, ports and
#: resources. A cached worker pod of the benchmark's clusters: 22.6 KB of Python objects whole, 10.7 KB slim.
_UNREAD_CONTAINER_FIELDS = ("env", "envFrom", "livenessProbe", "readinessProbe", "startupProbe", "command", "args",
                            "volumeMounts", "lifecycle", "securityContext")


def slim_for_cache(pod: Pod) -> None:
    """Drop (in place) the fields of a Ray pod that no controller reads, before the informer stores it."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    spec.pop("volumes", None)
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or ():
            if isinstance(container, dict):
                for unread in _UNREAD_CONTAINER_FIELDS:
                    container.pop(unread, None)
