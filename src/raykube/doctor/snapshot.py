"""Everything the doctor looks at for one Ray object, read once: plain API objects and the time of reading."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

LEASE_NAME = "ray-operator-leader"
OPERATOR_LABEL = "app.kubernetes.io/name=kuberay-operator"


@dataclass(frozen=True)
class OperatorView:
    """What shows whether an operator runs: its leader-election Leases and kuberay-operator Deployments."""

    leases: tuple[Obj, ...] = ()
    deployments: tuple[Obj, ...] = ()


@dataclass(frozen=True)
class LogTail:
    """The last lines of one container's log, or why they could not be read.

    Parameters:
        pod, container: whose log.
        lines: its last lines (of the previous run with ``previous``: a crashed container's last words).
        error: why the log could not be read (fake nodes have no kubelet; RBAC on pods/log), else "".
    """

    pod: str
    container: str
    lines: tuple[str, ...] = ()
    error: str = ""
    previous: bool = False


@dataclass(frozen=True)
class Snapshot:
    """One Ray object and its surroundings.

    Parameters:
        kind: RayCluster, RayJob or RayService.
        obj: the object itself.
        now: when the snapshot was taken (ages are measured against it).
        pods: the Ray pods of its cluster(s), and a RayJob's submitter pods.
        events: the namespace's Events about the object, its clusters and its pods.
        quotas: the namespace's ResourceQuotas.
        clusters: the RayClusters a RayJob or RayService runs on.
        operator: the operator's Leases and Deployments.
        operator_known: False when those could not be read (the operator rules are then skipped).
        roles, role_bindings: the namespace's Roles and RoleBindings (the autoscaler's are named after the
            cluster); ``rbac_known`` False when they could not be read.
        crds: the ray.io CustomResourceDefinitions installed; ``crds_known`` False when they could not be read.
        logs: the log tails read for the rules: failed submitter containers, the head's autoscaler sidecar.
        jobs: the Redis clean-up Jobs of clusters whose deletion the GCS FT finalizer holds; ``jobs_known`` False
            when they could not be read.
    """

    kind: str
    obj: Obj
    now: dt.datetime
    pods: tuple[Obj, ...] = ()
    events: tuple[Obj, ...] = ()
    quotas: tuple[Obj, ...] = ()
    clusters: tuple[Obj, ...] = ()
    operator: OperatorView = field(default_factory=OperatorView)
    operator_known: bool = True
    roles: tuple[Obj, ...] = ()
    role_bindings: tuple[Obj, ...] = ()
    rbac_known: bool = True
    crds: tuple[Obj, ...] = ()
    crds_known: bool = False
    logs: tuple[LogTail, ...] = ()
    jobs: tuple[Obj, ...] = ()
    jobs_known: bool = True

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.obj["metadata"].get("namespace", ""))

    @property
    def subject(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def parse_time(text: Any) -> dt.datetime | None:
    """An RFC 3339 time from the API (``...Z`` or with micro-seconds), or None."""
    if not text:
        return None
    return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def age(obj: Obj, now: dt.datetime) -> float:
    """Seconds since the object was created (0 when unknown)."""
    created = parse_time((obj.get("metadata") or {}).get("creationTimestamp"))
    return (now - created).total_seconds() if created else 0.0


def events_about(snapshot: Snapshot, name: str, kind: str | None = None) -> list[Obj]:
    """Events whose involved object (or ``regarding``) is ``name`` (of ``kind``), oldest first."""
    found = []
    for event in snapshot.events:
        involved = event.get("involvedObject") or event.get("regarding") or {}
        if involved.get("name") == name and (kind is None or involved.get("kind") == kind):
            found.append(event)
    return sorted(found, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))


def event_line(event: Obj) -> str:
    """An Event as ``kubectl describe`` shows it: type, reason, (count,) message."""
    count = event.get("count") or (event.get("series") or {}).get("count")
    times = f" (x{count})" if count and int(count) > 1 else ""
    message = event.get("message") or event.get("note") or ""
    return f"Event {event.get('type', '')} {event.get('reason', '')}{times}: {message}"
