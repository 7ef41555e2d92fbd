"""What a RayService pass may ask for: plain values, carried out by :mod:`raykube.controllers.rayservice.act`.

API actions run in order before the status write and stop the pass at the first failure; Serve actions only
start background calls (:mod:`raykube.controllers.rayservice.serve`) and never fail the pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from raykube.controllers.actions import AddFinalizer as AddFinalizer  # the shared finalizer actions, re-exported
from raykube.controllers.actions import ApplyChild, CreateChild, DeleteChild
from raykube.controllers.actions import RemoveFinalizer as RemoveFinalizer
from raykube.controllers.rayservice.view import Applied, Endpoint
from raykube.runtime.objects import Obj


@dataclass(frozen=True)
class CreateCluster(CreateChild):
    role: str = "pending"


@dataclass(frozen=True)
class UpdateCluster(ApplyChild):
    """Replace the ``existing`` cluster's spec, labels and annotations with ``body``'s (KubeRay's in-place update:
    a suspend toggle, worker groups appended, or a cluster stamped by another operator version)."""

    role: str = "active"


@dataclass(frozen=True)
class DeleteCluster(DeleteChild):
    why: str


class ApplyService(ApplyChild):
    """Create the Service, or switch an existing one's selector (nothing else: its ClusterIP stays)."""


class DeleteService(DeleteChild):
    """Delete a Service the RayService no longer uses."""


@dataclass(frozen=True)
class LabelHeadPod:
    """Set ``ray.io/serve`` on a head pod."""

    name: str
    value: str


@dataclass(frozen=True)
class PollApplications:
    cluster: str
    endpoint: Endpoint


@dataclass(frozen=True)
class DeployConfig:
    """PUT a serve config; ``capacity_only`` when only its ``target_capacity`` changed (an incremental upgrade
    step: reported as KubeRay's UpdatedServeTargetCapacity rather than UpdatedServeApplications)."""

    cluster: str
    endpoint: Endpoint
    config: dict[str, Any] = field(hash=False)
    applied: Applied
    capacity_only: bool = False


@dataclass(frozen=True)
class ApplyRouting:
    """Create the RayService's Gateway or HTTPRoute, or replace the spec of the existing one."""

    kind: str  # "Gateway" or "HTTPRoute"
    body: Obj = field(hash=False)
    existing: Obj | None = field(default=None, hash=False)


@dataclass(frozen=True)
class DeleteRouting:
    """Delete the RayService's Gateway or HTTPRoute (suspend)."""

    kind: str
    name: str


@dataclass(frozen=True)
class CheckProxy:
    cluster: str
    endpoint: Endpoint
    pod_ip: str


Action = (
    AddFinalizer
    | RemoveFinalizer
    | CreateCluster
    | UpdateCluster
    | DeleteCluster
    | ApplyService
    | DeleteService
    | LabelHeadPod
    | PollApplications
    | DeployConfig
    | CheckProxy
    | ApplyRouting
    | DeleteRouting
)
