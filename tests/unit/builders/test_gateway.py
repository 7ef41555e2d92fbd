"""The Gateway API objects of an incremental RayService upgrade, and how their status is read."""

from __future__ import annotations

from typing import Any

from raykube.builders import gateway
from raykube.builders.gateway import Backend

META = {"name": "svc", "namespace": "ns", "uid": "svc-uid"}


def test_the_gateway_has_one_http_listener_of_the_chosen_class_and_belongs_to_the_rayservice() -> None:
    body = gateway.build_gateway(META, "istio")
    assert (body["apiVersion"], body["kind"]) == ("gateway.networking.k8s.io/v1", "Gateway")
    assert (body["metadata"]["name"], body["metadata"]["namespace"]) == ("svc-gateway", "ns")
    assert body["spec"] == {
        "gatewayClassName": "istio",
        "listeners": [{"name": "http", "protocol": "HTTP", "port": 80}],
    }
    (owner,) = body["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == ("RayService", "svc", "svc-uid", True)


def test_the_route_splits_every_path_over_the_cluster_serve_services_by_weight() -> None:
    route = gateway.build_httproute(META, [Backend("svc-a-serve-svc", 8000, 75), Backend("svc-b-serve-svc", 9000, 25)])
    assert route["metadata"]["name"] == "svc-httproute"
    assert route["spec"]["parentRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "svc-gateway", "namespace": "ns"}
    ]
    (rule,) = route["spec"]["rules"]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert [(r["name"], r["port"], r["weight"], r["kind"]) for r in rule["backendRefs"]] == [
        ("svc-a-serve-svc", 8000, 75, "Service"),
        ("svc-b-serve-svc", 9000, 25, "Service"),
    ]
    assert gateway.route_weights(route, ["svc-b-serve-svc", "svc-a-serve-svc", "other"]) == [25, 75, None]


def test_a_stored_spec_with_server_defaults_matches_but_a_moved_weight_does_not() -> None:
    desired = gateway.build_httproute(META, [Backend("a", 8000, 100)])["spec"]
    stored: dict[str, Any] = {**desired, "hostnames": []}
    stored["rules"] = [{**desired["rules"][0], "timeouts": {"request": "10s"}}]
    assert gateway.spec_matches(desired, stored)
    moved = gateway.build_httproute(META, [Backend("a", 8000, 90), Backend("b", 8000, 10)])["spec"]
    assert not gateway.spec_matches(moved, stored)
    assert not gateway.spec_matches(desired, gateway.build_httproute(META, [Backend("a", 8000, 90)])["spec"])
    assert not gateway.spec_matches(desired, None)


def _condition(kind: str, status: str = "True") -> dict[str, str]:
    return {"type": kind, "status": status, "reason": kind, "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}


def test_a_gateway_is_ready_when_accepted_and_programmed() -> None:
    assert not gateway.gateway_ready(None)
    assert not gateway.gateway_ready({"status": {"conditions": [_condition("Accepted")]}})
    assert not gateway.gateway_ready({"status": {"conditions": [_condition("Programmed")]}})
    assert not gateway.gateway_ready(
        {"status": {"conditions": [_condition("Accepted"), _condition("Programmed", "Unknown")]}}
    )
    assert gateway.gateway_ready({"status": {"conditions": [_condition("Accepted"), _condition("Programmed")]}})


def test_a_route_is_ready_when_our_gateway_accepted_it_and_resolved_its_backends() -> None:
    def route(name: str, *conditions: dict[str, str]) -> dict[str, Any]:
        parent = {"parentRef": {"name": name, "namespace": "ns"}, "controllerName": "x", "conditions": list(conditions)}
        return {"status": {"parents": [parent]}}

    assert gateway.httproute_ready(
        route("svc-gateway", _condition("Accepted"), _condition("ResolvedRefs")), "svc-gateway", "ns"
    )
    assert not gateway.httproute_ready(
        route("other", _condition("Accepted"), _condition("ResolvedRefs")), "svc-gateway", "ns"
    )
    assert not gateway.httproute_ready(route("svc-gateway", _condition("Accepted")), "svc-gateway", "ns")
    assert not gateway.httproute_ready(
        route("svc-gateway", _condition("Accepted"), _condition("ResolvedRefs", "False")), "svc-gateway", "ns"
    )
    assert not gateway.httproute_ready(None, "svc-gateway", "ns")
