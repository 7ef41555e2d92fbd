"""Gateway API objects of a RayService's incremental upgrade (KubeRay v1.7.0, NewClusterWithIncrementalUpgrade).

* **Gateway** ``<rayservice>-gateway``: class ``clusterUpgradeOptions.gatewayClassName``, one listener ``http``
  (HTTP, port 80);
* **HTTPRoute** ``<rayservice>-httproute``: attached to that Gateway, one rule (path prefix ``/``) whose
  weighted backends are the per-cluster serve Services ``<cluster>-serve-svc`` of the active cluster and, during
  an upgrade, the pending one.

Both are owned by the RayService (the garbage collector removes them with it). Every field the API server
would default (parent and backend group/kind, the path match) is written out, so the stored spec equals the
desired one and a pass that changes nothing writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from raykube import reasons
from raykube.api.schema import K8sObject
from raykube.builders import kube

GROUP = reasons.GATEWAY_API_GROUP
VERSION = reasons.GATEWAY_API_VERSION
API_VERSION = f"{GROUP}/{VERSION}"

#: KubeRay's ``GatewayListenerPortName`` / ``DefaultGatewayListenerPort``.
LISTENER_NAME = "http"
LISTENER_PORT = 80


def gateway_name(rayservice: str) -> str:
    return f"{rayservice}-gateway"


def httproute_name(rayservice: str) -> str:
    return f"{rayservice}-httproute"


@dataclass(frozen=True)
class Backend:
    """One weighted backend of the route: a cluster's serve Service."""

    service: str
    port: int
    weight: int


def build_gateway(svc_meta: K8sObject, gateway_class: str) -> K8sObject:
    """The RayService's Gateway: one plain HTTP listener on port 80."""
    name, namespace = str(svc_meta.get("name", "")), str(svc_meta.get("namespace", ""))
    return {
        "apiVersion": API_VERSION,
        "kind": "Gateway",
        "metadata": {
            "name": gateway_name(name),
            "namespace": namespace,
            "ownerReferences": [kube.ray_owner_reference("RayService", svc_meta)],
        },
        "spec": {
            "gatewayClassName": gateway_class,
            "listeners": [{"name": LISTENER_NAME, "protocol": "HTTP", "port": LISTENER_PORT}],
        },
    }


def build_httproute(svc_meta: K8sObject, backends: Sequence[Backend]) -> K8sObject:
    """The RayService's HTTPRoute: every request (prefix ``/``) split over ``backends`` by weight."""
    name, namespace = str(svc_meta.get("name", "")), str(svc_meta.get("namespace", ""))
    refs = [
        {"group": "", "kind": "Service", "name": b.service, "namespace": namespace, "port": b.port, "weight": b.weight}
        for b in backends
    ]
    return {
        "apiVersion": API_VERSION,
        "kind": "HTTPRoute",
        "metadata": {
            "name": httproute_name(name),
            "namespace": namespace,
            "ownerReferences": [kube.ray_owner_reference("RayService", svc_meta)],
        },
        "spec": {
            "parentRefs": [{"group": GROUP, "kind": "Gateway", "name": gateway_name(name), "namespace": namespace}],
            "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": refs}],
        },
    }


def spec_matches(desired: Any, existing: Any) -> bool:
    """Every field of ``desired`` has its value in ``existing`` (fields the API server added are ignored)."""
    if isinstance(desired, Mapping):
        return isinstance(existing, Mapping) and all(spec_matches(v, existing.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        return (
            isinstance(existing, list)
            and len(desired) == len(existing)
            and all(spec_matches(d, e) for d, e in zip(desired, existing, strict=True))
        )
    return bool(desired == existing)


def route_weights(route: K8sObject | None, services: Sequence[str]) -> list[int | None]:
    """The weight the route gives each of ``services`` (None when it has no backend of that name)."""
    found: dict[str, int] = {}
    for rule in ((route or {}).get("spec") or {}).get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            found.setdefault(str(ref.get("name", "")), int(ref.get("weight", 1)))
    return [found.get(s) for s in services]


def _true(conditions: Sequence[Mapping[str, Any]], kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


def gateway_ready(gateway: K8sObject | None) -> bool:
    """KubeRay's ``IsGatewayReady``: the gateway controller set ``Accepted`` and ``Programmed`` True."""
    conditions = ((gateway or {}).get("status") or {}).get("conditions") or []
    return gateway is not None and _true(conditions, "Accepted") and _true(conditions, "Programmed")


def httproute_ready(route: K8sObject | None, gateway: str, namespace: str) -> bool:
    """KubeRay's ``IsHTTPRouteReady``: the route's status for our Gateway has ``Accepted`` and ``ResolvedRefs``
    True."""
    for parent in ((route or {}).get("status") or {}).get("parents") or []:
        ref = parent.get("parentRef") or {}
        if ref.get("name") != gateway or ref.get("namespace", namespace) != namespace:
            continue
        conditions = parent.get("conditions") or []
        if _true(conditions, "Accepted") and _true(conditions, "ResolvedRefs"):
            return True
    return False
