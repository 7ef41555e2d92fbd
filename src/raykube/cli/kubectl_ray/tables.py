"""The tables `kubectl ray get` prints, as pure functions of API objects (KubeRay v1.7.0's layouts).

Column names and order are KubeRay's (``get cluster``: NAME, NAMESPACE, DESIRED WORKERS, AVAILABLE WORKERS,
CPUS, GPUS, TPUS, MEMORY, CONDITION, STATUS, AGE; ``get nodes`` and ``get workergroups`` add NAMESPACE in
front only with ``-A``). :func:`render` pads like kubectl's table printer (Go ``tabwriter`` with minimum cell
width 10 and padding 3; the last column unpadded) and :func:`human_duration` is apimachinery's
``HumanDuration``, so the text is the same as the Go plugin's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from raykube.api.quantity import Quantity

Obj = dict[str, Any]

CLUSTER_COLUMNS = ("Name", "Namespace", "Desired Workers", "Available Workers", "CPUs", "GPUs", "TPUs", "Memory",
                   "Condition", "Status", "Age")
NODE_COLUMNS = ("Name", "CPUs", "GPUs", "TPUs", "Memory", "Cluster", "Type", "Worker Group", "Age")
WORKERGROUP_COLUMNS = ("Name", "Replicas", "CPUs", "GPUs", "TPUs", "Memory", "Cluster")
GPU, TPU = "nvidia.com/gpu", "google.com/tpu"

# RayClusterProvisioned > HeadPodReady > ReplicaFailure > Suspended > Suspending: the first one that is True.
_CONDITION_PRECEDENCE = ("RayClusterProvisioned", "HeadPodReady", "ReplicaFailure", "RayClusterSuspended",
                         "RayClusterSuspending")


def render(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A kubectl table: upper-case headers, each column as wide as its widest cell plus 3 (at least 10)."""
    table = [[c.upper() for c in columns], *[[str(cell) for cell in row] for row in rows]]
    widths = [max(max(len(row[i]) for row in table) + 3, 10) for i in range(len(columns))]
    lines = ["".join(cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row))
             for row in table]
    return "\n".join(lines) + "\n"


def human_duration(seconds: float) -> str:
    """apimachinery's ``duration.HumanDuration``: 45s, 3m20s, 15m, 5h30m, 30h, 3d4h, 90d, 3y10d, 9y."""
    if seconds < -1:
        return "<invalid>"
    s = max(int(seconds), 0)
    minutes, hours, days = s // 60, s // 3600, s // 86400
    if s < 120:
        return f"{s}s"
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    if hours < 24 * 365 * 8:
        years = days // 365
        return f"{years}y{days % 365}d" if days % 365 else f"{years}y"
    return f"{days // 365}y"


def age(obj: Obj, now: dt.datetime) -> str:
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    created = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    return human_duration((now - created).total_seconds())


def relevant_condition(cluster: Obj) -> str:
    """The condition type KubeRay's CONDITION column shows: the first True one in precedence order."""
    conditions = {c.get("type"): c for c in (cluster.get("status") or {}).get("conditions") or ()}
    for kind in _CONDITION_PRECEDENCE:
        if (conditions.get(kind) or {}).get("status") == "True":
            return kind
    return ""


def cluster_rows(clusters: Sequence[Obj], now: dt.datetime) -> list[list[str]]:
    rows = []
    for cluster in clusters:
        status, meta = cluster.get("status") or {}, cluster["metadata"]
        rows.append([meta["name"], meta.get("namespace", ""), str(status.get("desiredWorkerReplicas", 0)),
                     str(status.get("availableWorkerReplicas", 0)), str(status.get("desiredCPU") or "0"),
                     str(status.get("desiredGPU") or "0"), str(status.get("desiredTPU") or "0"),
                     str(status.get("desiredMemory") or "0"), relevant_condition(cluster),
                     str(status.get("state") or ""), age(cluster, now)])
    return rows


def _request(container: Obj, resource: str) -> str:
    value = ((container.get("resources") or {}).get("requests") or {}).get(resource)
    return str(Quantity.parse(str(value))) if value is not None else "0"


def node_rows(pods: Sequence[Obj], now: dt.datetime, *, all_namespaces: bool) -> list[list[str]]:
    """One row per Ray node pod; resources are the requests of its first container, as KubeRay reads them."""
    rows = []
    for pod in pods:
        meta, first = pod["metadata"], (pod["spec"]["containers"] or [{}])[0]
        labels = meta.get("labels") or {}
        row = [meta["name"], _request(first, "cpu"), _request(first, GPU), _request(first, TPU),
               _request(first, "memory"), labels.get("ray.io/cluster", ""), labels.get("ray.io/node-type", ""),
               labels.get("ray.io/group", ""), age(pod, now)]
        rows.append(([meta.get("namespace", "")] if all_namespaces else []) + row)
    return rows


def pod_resources(pod_spec: Obj) -> dict[str, Quantity]:
    """Sum over containers of requests, limits filling in what requests leave out (KubeRay's rule)."""
    total: dict[str, Quantity] = {}
    for container in pod_spec.get("containers") or ():
        resources = container.get("resources") or {}
        merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        for name, value in merged.items():
            quantity = Quantity.parse(str(value))
            total[name] = total[name] + quantity if name in total else quantity
    return total


def is_running_and_ready(pod: Obj) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ())


def workergroup_row(cluster: Obj, group: Obj, pods: Sequence[Obj], *, all_namespaces: bool) -> list[str]:
    """``READY/DESIRED`` replicas and the group's total resources (zero when the group is suspended)."""
    replicas = int(group["replicas"]) if group.get("replicas") is not None else 0  # the CRD default
    ready = sum(1 for p in pods if is_running_and_ready(p))
    per_pod = {} if group.get("suspend") else pod_resources((group.get("template") or {}).get("spec") or {})

    def total(name: str) -> str:
        return str(per_pod[name] * replicas) if name in per_pod else "0"

    row = [group["groupName"], f"{ready}/{replicas}", total("cpu"), total(GPU), total(TPU), total("memory"),
           cluster["metadata"]["name"]]
    return ([cluster["metadata"].get("namespace", "")] if all_namespaces else []) + row
