"""``make_pod(name, ...)``: a Ray pod as the informer cache holds it (labels, phase, readiness, IP)."""

from __future__ import annotations

from typing import Any


def make_pod(
    name: str,
    *,
    group: str = "headgroup",
    cluster: str = "rc",
    phase: str = "Running",
    ready: bool = True,
    created: str = "2026-01-01T00:00:00Z",
    terminating: bool = False,
    restart_policy: str | None = None,
    terminated: bool = False,
    ip: str = "10.244.0.9",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A head pod (``group="headgroup"``) or a worker of ``group``; ``terminated``: its container exited 1."""
    node_type = "head" if group == "headgroup" else "worker"
    pod: dict[str, Any] = {
        "metadata": {
            "name": name,
            "creationTimestamp": created,
            "labels": {"ray.io/cluster": cluster, "ray.io/node-type": node_type, "ray.io/group": group,
                       **(labels or {})},
        },
        "spec": {"containers": [{"name": "ray"}]},
        "status": {
            "phase": phase,
            "podIP": ip,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }
    if terminating:
        pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    if restart_policy:
        pod["spec"]["restartPolicy"] = restart_policy
    if terminated:
        pod["status"]["containerStatuses"] = [
            {"name": "ray", "ready": False, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
        ]
    return pod
