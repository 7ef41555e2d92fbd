"""RayService NewClusterWithIncrementalUpgrade against a real API server with the Gateway API CRDs installed.

Fake nodes (kwok) and the stand-in dashboard's Serve API, as in test_rayservice_controller.py. No gateway
controller runs (no Istio, no Envoy): the test plays its part by setting the Gateway's ``Accepted`` and
``Programmed`` conditions and the HTTPRoute's parent status, which is what KubeRay waits for before it moves
capacity. So what is shown is the operator's side: the objects it writes, as the API server validated and stored
them, and the order in which it changes them; no request goes through a gateway.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from raykube.ray.standin import JobScript, StandInDashboard
from tests.builders import make_raycluster, make_rayservice
from tests.integration.kube import apply, eventually, kubectl, scratch_namespace
from tests.integration.operator import OperatorProcess, running_operator
from tests.integration.watch import Recorder

pytestmark = pytest.mark.integration

STEP, INTERVAL, SURGE = 25, 1, 50


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInDashboard]:
    server = StandInDashboard(JobScript())
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop_thread()


@pytest.fixture(scope="module")
def operator(
    kubeconfig: Path,
    ray_crds: None,
    gateway_crds: Path,
    standin: StandInDashboard,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    yield from running_operator(
        kubeconfig,
        tmp_path_factory.mktemp("rayservice-incremental-operator"),
        lease_namespace="kube-system",
        extra=(f"--dashboard-url-override={standin.url}",),
    )


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "rsi")


def _get(kubeconfig: Path, ns: str, kind: str, name: str) -> dict[str, Any] | None:
    result = kubectl(kubeconfig, "get", kind, name, "-n", ns, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def _status(kubeconfig: Path, ns: str, name: str) -> dict[str, Any]:
    return dict((_get(kubeconfig, ns, "rayservice", name) or {}).get("status") or {})


def _condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions") or [] if c["type"] == kind), {})


def _clusters(kubeconfig: Path, ns: str) -> list[str]:
    items = json.loads(kubectl(kubeconfig, "get", "rayclusters", "-n", ns, "-o", "json").stdout)["items"]
    return sorted(o["metadata"]["name"] for o in items if not o["metadata"].get("deletionTimestamp"))


def _events(kubeconfig: Path, ns: str) -> list[tuple[str, str, str]]:
    items = json.loads(kubectl(kubeconfig, "get", "events.events.k8s.io", "-n", ns, "-o", "json").stdout)["items"]
    return [(e.get("type", ""), e.get("reason", ""), e.get("note", "")) for e in items]


def _rayservice(name: str, *, env: str) -> dict[str, Any]:
    apps = [{"name": "fruit_app", "import_path": "fruit.deployment_graph", "route_prefix": "/fruit"}]
    version = {"VERSION": env}
    cluster = (
        make_raycluster(name)
        .ray_version("2.52.0")
        .autoscaling()  # NewClusterWithIncrementalUpgrade requires the autoscaler
        .image("rayproject/ray:2.52.0")
        .resources(cpu="100m", memory="128Mi")
        .head(container="ray-head", env=version)
        .worker_group("small", replicas=1, min_replicas=1, max_replicas=3, container="ray-worker", env=version)
    )
    upgrade = {
        "upgradeStrategy": {
            "type": "NewClusterWithIncrementalUpgrade",
            "clusterUpgradeOptions": {
                "gatewayClassName": "test-gateway-class",
                "stepSizePercent": STEP,
                "intervalSeconds": INTERVAL,
                "maxSurgePercent": SURGE,
            },
        },
        "rayClusterDeletionDelaySeconds": 5,
    }
    service = make_rayservice(name).serve_config(yaml.safe_dump({"applications": apps})).cluster(cluster)
    return service.spec(**upgrade).json()


def _accept(kubeconfig: Path, ns: str, gateway: str, route: str) -> None:
    """What a gateway controller would write: the Gateway accepted and programmed, the route accepted by it."""

    def condition(kind: str) -> dict[str, str]:
        return {
            "type": kind,
            "status": "True",
            "reason": kind,
            "message": "set by the test, standing in for a gateway controller",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }

    gateway_status = {"status": {"conditions": [condition("Accepted"), condition("Programmed")]}}
    kubectl(kubeconfig, "patch", "gateway", gateway, "-n", ns, "--subresource=status", "--type=merge",
            "-p", json.dumps(gateway_status))
    parent = {
        "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gateway, "namespace": ns},
        "controllerName": "raykube.dev/test-gateway-controller",
        "conditions": [condition("Accepted"), condition("ResolvedRefs")],
    }
    kubectl(kubeconfig, "patch", "httproute", route, "-n", ns, "--subresource=status", "--type=merge",
            "-p", json.dumps({"status": {"parents": [parent]}}))


def _weights(route: dict[str, Any]) -> tuple[tuple[str, int], ...]:
    refs = [r for rule in route["spec"]["rules"] for r in rule.get("backendRefs") or []]
    return tuple((r["name"], r["weight"]) for r in refs)


def _distinct(rows: list[Any]) -> list[Any]:
    return [row for i, row in enumerate(rows) if i == 0 or rows[i - 1] != row]


def _shares(events: list[tuple[str, dict[str, Any]]], pending: str) -> list[tuple[Any, Any, Any]]:
    """(active capacity, pending capacity, pending traffic) each time the status reported them (once the pending
    cluster is in the route)."""
    rows: list[tuple[Any, Any, Any]] = []
    for _, obj in events:
        st = obj.get("status") or {}
        active, waiting = st.get("activeServiceStatus") or {}, st.get("pendingServiceStatus") or {}
        if waiting.get("rayClusterName") == pending and "trafficRoutedPercent" in waiting:
            rows.append((active.get("targetCapacity"), waiting["targetCapacity"], waiting.get("trafficRoutedPercent")))
    return _distinct(rows)


def _ready_with_routing(kubeconfig: Path, ns: str, standin: StandInDashboard) -> str:
    """Apply ``incr`` and check the steady state: full capacity, the Gateway, the route and the per-cluster
    serve Service of the one cluster; then accept them as a gateway controller would. Returns the cluster."""
    apply(kubeconfig, ns, _rayservice("incr", env="1"))
    # The pass that promotes the first cluster marks the RayService Ready; the route (and with it the active
    # cluster's trafficRoutedPercent) follows in the next pass: wait for that steady state, not the first Ready.
    status = eventually(
        lambda: (s := _status(kubeconfig, ns, "incr")) and _condition(s, "Ready").get("status") == "True"
        and "trafficRoutedPercent" in (s.get("activeServiceStatus") or {}) and s,
        timeout=90,
        what="RayService incr Ready, its traffic routed",
    )
    old = str(status["activeServiceStatus"]["rayClusterName"])
    active = status["activeServiceStatus"]
    assert (active["targetCapacity"], active["trafficRoutedPercent"]) == (100, 100)
    assert standin.serve.instances[f"{ns}/{old}"].config["target_capacity"] == 100  # sent with the config
    gateway = eventually(lambda: _get(kubeconfig, ns, "gateway", "incr-gateway"), what="the Gateway")
    assert gateway["spec"]["gatewayClassName"] == "test-gateway-class"
    assert [(x["name"], x["port"], x["protocol"]) for x in gateway["spec"]["listeners"]] == [("http", 80, "HTTP")]
    assert gateway["metadata"]["ownerReferences"][0]["kind"] == "RayService"
    route = eventually(lambda: _get(kubeconfig, ns, "httproute", "incr-httproute"), what="the HTTPRoute")
    assert _weights(route) == ((f"{old}-serve-svc", 100),)
    assert route["spec"]["parentRefs"][0]["name"] == "incr-gateway"
    per_cluster = _get(kubeconfig, ns, "service", f"{old}-serve-svc") or {}
    assert per_cluster["spec"]["selector"] == {"ray.io/cluster": old, "ray.io/serve": "true"}
    assert per_cluster["metadata"]["ownerReferences"][0]["kind"] == "RayCluster"
    _accept(kubeconfig, ns, "incr-gateway", "incr-httproute")
    return old


def test_the_route_weights_move_in_steps_to_the_new_cluster_and_the_old_one_is_deleted_after(
    operator: OperatorProcess, kubeconfig: Path, ns: str, standin: StandInDashboard
) -> None:
    old = _ready_with_routing(kubeconfig, ns, standin)
    routes = Recorder(kubeconfig, ns, "httproutes.gateway.networking.k8s.io")
    services = Recorder(kubeconfig, ns, "rayservices.ray.io")
    try:
        apply(kubeconfig, ns, _rayservice("incr", env="2"))
        pending = eventually(
            lambda: (_status(kubeconfig, ns, "incr").get("pendingServiceStatus") or {}).get("rayClusterName"),
            what="a pending cluster",
        )
        eventually(
            lambda: _status(kubeconfig, ns, "incr")["activeServiceStatus"]["rayClusterName"] == pending,
            timeout=120,
            what="the pending cluster promoted",
        )
        eventually(lambda: _clusters(kubeconfig, ns) == [pending], timeout=60, what="the old cluster deleted")
        eventually(
            lambda: _weights(_get(kubeconfig, ns, "httproute", "incr-httproute") or {"spec": {"rules": []}})
            == ((f"{pending}-serve-svc", 100),),
            what="the old cluster out of the route",
        )
    finally:
        route_events = routes.stop()
        service_events = services.stop()
    a, b = f"{old}-serve-svc", f"{pending}-serve-svc"
    assert _distinct([_weights(obj) for _, obj in route_events]) == [
        ((a, 100),),
        ((a, 100), (b, 0)),
        ((a, 75), (b, 25)),
        ((a, 50), (b, 50)),
        ((a, 25), (b, 75)),
        ((a, 0), (b, 100)),
        ((b, 100),),
    ]
    # The route above carries the traffic and moved through every step. The status is a report written at the end
    # of a pass: when one write loses a conflict, the retrying pass may already report the next step, so a
    # reported step can be missing, never one out of the schedule or out of order.
    schedule = [
        (100, 0, 0),
        (100, 50, 0),
        (100, 50, 25),
        (100, 50, 50),
        (50, 50, 50),
        (50, 100, 50),
        (50, 100, 75),
        (50, 100, 100),  # the pass that sees the old cluster at capacity 0 promotes the new one
    ]
    reported = _shares(service_events, pending)
    assert reported[0] == schedule[0] and reported[-1] == schedule[-1], reported
    assert [step for step in schedule if step in reported] == reported, reported
    final = _status(kubeconfig, ns, "incr")
    active = final["activeServiceStatus"]
    assert (active["targetCapacity"], active["trafficRoutedPercent"]) == (100, 100)
    assert active["lastTrafficMigratedTime"] and not (final.get("pendingServiceStatus") or {}).get("rayClusterName")
    assert _condition(final, "Ready")["status"] == "True" and final["numServeEndpoints"] > 0
    assert _condition(final, "UpgradeInProgress")["reason"] == "NoPendingCluster"
    assert standin.serve.instances[f"{ns}/{old}"].config["target_capacity"] == 0  # scaled to nothing first
    assert standin.serve.instances[f"{ns}/{pending}"].config["target_capacity"] == 100
    eventually(
        lambda: (_get(kubeconfig, ns, "service", "incr-serve-svc") or {})["spec"]["selector"]["ray.io/cluster"]
        == pending,
        what="incr-serve-svc on the new cluster",
    )
    eventually(lambda: _get(kubeconfig, ns, "service", f"{old}-serve-svc") is None, what="old per-cluster Service gone")
    wanted = {
        "CreatedGateway",
        "CreatedHTTPRoute",
        "UpdatedHTTPRoute",
        "UpdatedServeTargetCapacity",
        "PromotedPendingRayCluster",
        "DeletedRayCluster",
    }
    eventually(lambda: wanted <= {r for _, r, _ in _events(kubeconfig, ns)}, what=f"Events {wanted}")
    notes = [n for _, r, n in _events(kubeconfig, ns) if r == "UpdatedServeTargetCapacity"]
    assert any(old in n for n in notes) and any(pending in n for n in notes)


def test_without_a_gateway_controller_no_traffic_moves_and_the_old_cluster_keeps_serving(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    apply(kubeconfig, ns, _rayservice("stuck", env="1"))
    old = eventually(
        lambda: (s := _status(kubeconfig, ns, "stuck")) and _condition(s, "Ready").get("status") == "True"
        and s["activeServiceStatus"]["rayClusterName"],
        timeout=90,
        what="RayService stuck Ready",
    )
    apply(kubeconfig, ns, _rayservice("stuck", env="2"))
    pending = eventually(
        lambda: (_status(kubeconfig, ns, "stuck").get("pendingServiceStatus") or {}).get("rayClusterName"),
        what="a pending cluster",
    )
    route: dict[str, Any] = eventually(
        lambda: ((r := _get(kubeconfig, ns, "httproute", "stuck-httproute")) and len(_weights(r)) == 2 and r) or None,
        what="the pending cluster in the route",
    )
    assert _weights(route) == ((f"{old}-serve-svc", 100), (f"{pending}-serve-svc", 0))
    status = eventually(
        lambda: (s := _status(kubeconfig, ns, "stuck"))
        and (s.get("pendingServiceStatus") or {}).get("applicationStatuses")
        and s,
        what="the pending cluster's applications reported",
    )
    assert status["pendingServiceStatus"]["targetCapacity"] == 0  # capacity waits for an accepted Gateway
    assert _condition(status, "UpgradeInProgress")["reason"] == "BothActivePendingClustersExist"
    assert _condition(status, "Ready")["status"] == "True"
    assert _weights(_get(kubeconfig, ns, "httproute", "stuck-httproute") or {"spec": {"rules": []}}) == (
        (f"{old}-serve-svc", 100),
        (f"{pending}-serve-svc", 0),
    )
