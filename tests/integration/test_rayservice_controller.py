"""The RayService controller against a real API server with fake nodes and a stand-in Ray dashboard.

kwok makes every pod Running and Ready; the operator runs with its test hook ``--dashboard-url-override``
pointing at a stand-in dashboard that serves Ray Serve's REST API per cluster (it tells clusters apart by
the ``Host`` header, which names the real dashboard). What is real: the API server, the EndpointSlice
controller (``numServeEndpoints``), the garbage collector, the operator process and HTTP.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from raykube.ray.standin import JobScript, StandInDashboard
from raykube.ray.standin_serve import ServeScript
from tests.builders import RayClusterBuilder, make_raycluster, make_rayservice
from tests.integration.kube import apply, eventually, kubectl, kubectl_json, scratch_namespace
from tests.integration.operator import OperatorProcess, running_operator

pytestmark = pytest.mark.integration


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
    kubeconfig: Path, ray_crds: None, standin: StandInDashboard, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    yield from running_operator(
        kubeconfig,
        tmp_path_factory.mktemp("rayservice-operator"),
        lease_namespace="kube-system",
        extra=(f"--dashboard-url-override={standin.url}",),
    )


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "rs")


def _get(kubeconfig: Path, ns: str, kind: str, name: str) -> dict[str, Any] | None:
    result = kubectl(kubeconfig, "get", kind, name, "-n", ns, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def _status(kubeconfig: Path, ns: str, name: str) -> dict[str, Any]:
    return dict((_get(kubeconfig, ns, "rayservice", name) or {}).get("status") or {})


def _condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions") or [] if c["type"] == kind), {})


def _ready(kubeconfig: Path, ns: str, name: str, timeout: float = 90) -> dict[str, Any]:
    return eventually(
        lambda: (s := _status(kubeconfig, ns, name)) and _condition(s, "Ready").get("status") == "True" and s,
        timeout=timeout,
        what=f"RayService {name} Ready",
    )


def _clusters(kubeconfig: Path, ns: str) -> list[str]:
    items = kubectl_json(kubeconfig, "get", "rayclusters", "-n", ns)["items"]
    return sorted(o["metadata"]["name"] for o in items if not o["metadata"].get("deletionTimestamp"))


def _events(kubeconfig: Path, ns: str) -> list[tuple[str, str, str]]:
    items = kubectl_json(kubeconfig, "get", "events.events.k8s.io", "-n", ns)["items"]
    return [(e.get("type", ""), e.get("reason", ""), e.get("note", "")) for e in items]


def _active(status: dict[str, Any]) -> str:
    return str((status.get("activeServiceStatus") or {}).get("rayClusterName") or "")


def _serve_config(price: int = 3, import_path: str = "fruit.deployment_graph") -> str:
    apps = [
        {
            "name": "fruit_app",
            "import_path": import_path,
            "route_prefix": "/fruit",
            "deployments": [{"name": "MangoStand", "user_config": {"price": price}}, {"name": "FruitMarket"}],
        },
        {
            "name": "math_app",
            "import_path": "conditional_dag.serve_dag",
            "route_prefix": "/calc",
            "deployments": [{"name": "Adder"}, {"name": "Router"}],
        },
    ]
    return yaml.safe_dump({"applications": apps})


def _serving_cluster(name: str, *, env: str) -> RayClusterBuilder:
    """The RayServices' cluster: ``VERSION=env`` in the head (an upgrade changes it), ``VERSION=1`` in workers."""
    return (
        make_raycluster(name)
        .ray_version("2.52.0")
        .image("rayproject/ray:2.52.0")
        .resources(cpu="100m", memory="128Mi")
        .head(container="ray-head", env={"VERSION": env})
        .worker_group("small", replicas=1, min_replicas=1, max_replicas=3, container="ray-worker", env={"VERSION": "1"})
    )


def _rayservice(name: str, *, env: str = "1", config: str | None = None, **spec: Any) -> dict[str, Any]:
    service = make_rayservice(name).serve_config(config or _serve_config()).cluster(_serving_cluster(name, env=env))
    return service.spec(**spec).json()


def test_the_sample_rayservice_becomes_ready_with_its_applications_running(
    operator: OperatorProcess, kubeconfig: Path, ns: str, kuberay_reference: Path, standin: StandInDashboard
) -> None:
    apply(kubeconfig, ns, (kuberay_reference / "v1.7.0" / "samples" / "ray-service.sample.yaml").read_text())
    status = _ready(kubeconfig, ns, "rayservice-sample")
    cluster = _active(status)
    assert cluster.startswith("rayservice-sample-") and len(cluster) == len("rayservice-sample-") + 5
    assert _clusters(kubeconfig, ns) == [cluster]
    apps = status["activeServiceStatus"]["applicationStatuses"]
    assert {app: apps[app]["status"] for app in apps} == {"fruit_app": "RUNNING", "math_app": "RUNNING"}
    assert set(apps["fruit_app"]["serveDeploymentStatuses"]) == {
        "MangoStand",
        "OrangeStand",
        "PearStand",
        "FruitMarket",
    }
    eventually(
        lambda: (
            _status(kubeconfig, ns, "rayservice-sample")["activeServiceStatus"]["rayClusterStatus"].get("state")
            == "ready"
        ),
        what="the cluster's status copied",
    )  # the copy follows the RayCluster
    assert "pendingServiceStatus" not in status or not status["pendingServiceStatus"].get("rayClusterName")
    assert status["serviceStatus"] == "Running"
    assert status["numServeEndpoints"] == 2  # the head (proxy healthy) and the worker
    assert _condition(status, "Ready")["reason"] == "NonZeroServeEndpoints"
    assert (_condition(status, "UpgradeInProgress")["status"], _condition(status, "UpgradeInProgress")["reason"]) == (
        "False",
        "NoPendingCluster",
    )
    assert status["observedGeneration"] == 1
    serve_svc = _get(kubeconfig, ns, "service", "rayservice-sample-serve-svc")
    head_svc = _get(kubeconfig, ns, "service", "rayservice-sample-head-svc")
    assert serve_svc is not None and head_svc is not None
    assert serve_svc["spec"]["selector"] == {"ray.io/cluster": cluster, "ray.io/serve": "true"}
    assert serve_svc["spec"]["ports"] == [{"name": "serve", "port": 8000, "protocol": "TCP", "targetPort": 8000}]
    assert head_svc["spec"]["selector"]["ray.io/cluster"] == cluster
    head = json.loads(
        kubectl(
            kubeconfig, "get", "pods", "-n", ns, "-l", f"ray.io/cluster={cluster},ray.io/node-type=head", "-o", "json"
        ).stdout
    )["items"][0]
    assert head["metadata"]["labels"]["ray.io/serve"] == "true"
    assert standin.serve.puts(f"{ns}/{cluster}") == 1
    put = standin.serve.instances[f"{ns}/{cluster}"].config
    assert [a["name"] for a in put["applications"]] == ["fruit_app", "math_app"]  # the YAML went out as JSON
    wanted = {
        "CreatedRayCluster",
        "UpdatedServeApplications",
        "CreatedService",
        "UpdatedHeadPodServeLabel",
        "PromotedPendingRayCluster",
        "NonZeroServeEndpoints",
    }
    eventually(lambda: wanted <= {r for _, r, _ in _events(kubeconfig, ns)}, what=f"Events {wanted}")
    table = kubectl(kubeconfig, "get", "rayservices", "-n", ns).stdout.splitlines()
    assert table[1].split()[1:3] == ["Running", "2"]
    assert 'raykube_rayservices{ready="True",upgrade_in_progress="False"}' in operator.metrics()


def test_the_config_is_reapplied_only_when_it_changes(
    operator: OperatorProcess, kubeconfig: Path, ns: str, standin: StandInDashboard
) -> None:
    apply(kubeconfig, ns, _rayservice("cfg"))
    cluster = _active(_ready(kubeconfig, ns, "cfg"))
    key = f"{ns}/{cluster}"

    def gets() -> int:
        return sum(1 for m, _p, h in standin.hosts if m == "GET" and h.startswith(f"{cluster}-head-svc."))

    seen = gets()
    eventually(lambda: gets() >= seen + 3, what="three more polls of the applications")
    assert standin.serve.puts(key) == 1, "".join(
        c[0][0] for c in standin.hosts if cluster in c[2]
    )  # polled again and again, PUT once
    version = (_get(kubeconfig, ns, "rayservice", "cfg") or {})["metadata"]["resourceVersion"]
    seen = gets()
    eventually(lambda: gets() >= seen + 3, what="three more polls")
    assert (_get(kubeconfig, ns, "rayservice", "cfg") or {})["metadata"]["resourceVersion"] == version  # no rewrites
    apply(kubeconfig, ns, _rayservice("cfg", config=_serve_config(price=7)))
    eventually(lambda: standin.serve.puts(key) == 2, what="the changed config PUT")
    prices = [d.get("user_config") for d in standin.serve.instances[key].config["applications"][0]["deployments"]]
    assert prices[0] == {"price": 7}
    seen = gets()
    eventually(lambda: gets() >= seen + 3, what="three more polls")
    assert standin.serve.puts(key) == 2
    assert _clusters(kubeconfig, ns) == [cluster]  # a serve config change needs no new cluster


def test_a_cluster_spec_change_is_served_by_a_new_cluster_and_the_old_one_deleted_after_the_delay(
    operator: OperatorProcess, kubeconfig: Path, ns: str, standin: StandInDashboard
) -> None:
    standin.serve.script("upgrade-", ServeScript(deploying_for=3))
    apply(kubeconfig, ns, _rayservice("upgrade", rayClusterDeletionDelaySeconds=15))
    old = _active(_ready(kubeconfig, ns, "upgrade"))
    serve_ip = (_get(kubeconfig, ns, "service", "upgrade-serve-svc") or {})["spec"]["clusterIP"]
    changed_at = time.monotonic()
    apply(kubeconfig, ns, _rayservice("upgrade", env="2", rayClusterDeletionDelaySeconds=15))
    during = eventually(
        lambda: (s := _status(kubeconfig, ns, "upgrade")).get("pendingServiceStatus", {}).get("rayClusterName") and s,
        what="a pending cluster",
    )
    new = during["pendingServiceStatus"]["rayClusterName"]
    assert new != old and new.startswith("upgrade-")
    assert _condition(during, "UpgradeInProgress")["reason"] == "BothActivePendingClustersExist"
    assert _condition(during, "Ready")["status"] == "True"  # the old cluster serves meanwhile
    switched_at = time.monotonic()
    promoted = eventually(
        lambda: (s := _status(kubeconfig, ns, "upgrade")) and _active(s) == new and s,
        timeout=90,
        what="the pending cluster promoted",
    )
    print(
        f"switch-over: spec change to promotion {time.monotonic() - changed_at:.1f}s "
        f"(pending seen after {switched_at - changed_at:.1f}s; Serve scripted DEPLOYING for 3 s)"
    )
    assert old in _clusters(kubeconfig, ns)  # kept for rayClusterDeletionDelaySeconds
    assert _condition(promoted, "UpgradeInProgress")["reason"] == "NoPendingCluster"
    serve_svc = _get(kubeconfig, ns, "service", "upgrade-serve-svc") or {}
    assert serve_svc["spec"]["selector"]["ray.io/cluster"] == new
    assert serve_svc["spec"]["clusterIP"] == serve_ip  # switched by selector, same Service
    eventually(lambda: _clusters(kubeconfig, ns) == [new], timeout=60, what="the old cluster deleted")
    eventually(
        lambda: any(r == "DeletedRayCluster" and old in n for _, r, n in _events(kubeconfig, ns)),
        what="DeletedRayCluster",
    )


def test_a_broken_config_names_the_failing_application_and_the_active_cluster_keeps_serving(
    operator: OperatorProcess, kubeconfig: Path, ns: str, standin: StandInDashboard
) -> None:
    standin.serve.script("broken-", ServeScript(failures={"missing.module:app": "ModuleNotFoundError: missing"}))
    apply(kubeconfig, ns, _rayservice("broken"))
    cluster = _active(_ready(kubeconfig, ns, "broken"))
    apply(kubeconfig, ns, _rayservice("broken", config=_serve_config(import_path="missing.module:app")))
    status = eventually(
        lambda: (
            (s := _status(kubeconfig, ns, "broken"))
            and s["activeServiceStatus"]["applicationStatuses"]["fruit_app"]["status"] == "DEPLOY_FAILED"
            and s
        ),
        what="fruit_app DEPLOY_FAILED",
    )
    assert (
        status["activeServiceStatus"]["applicationStatuses"]["fruit_app"]["message"] == "ModuleNotFoundError: missing"
    )
    assert status["activeServiceStatus"]["applicationStatuses"]["math_app"]["status"] == "RUNNING"
    warning = eventually(
        lambda: [n for t, r, n in _events(kubeconfig, ns) if (t, r) == ("Warning", "ServeApplicationUnhealthy")],
        what="the Warning Event",
    )
    assert "fruit_app" in warning[0] and "DEPLOY_FAILED" in warning[0] and "ModuleNotFoundError" in warning[0]
    assert _condition(status, "Ready")["status"] == "True" and status["numServeEndpoints"] > 0
    assert (_get(kubeconfig, ns, "service", "broken-serve-svc") or {})["spec"]["selector"]["ray.io/cluster"] == cluster
    assert _clusters(kubeconfig, ns) == [cluster]
    cli = subprocess.run(
        [sys.executable, "-m", "raykube.cli.main", "serve", "status", "broken", "-n", ns, f"--kubeconfig={kubeconfig}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert f"Serving cluster: {cluster} (via Service broken-serve-svc)" in cli.stdout
    failing = [line.split() for line in cli.stdout.splitlines() if "DEPLOY_FAILED" in line]
    assert failing and all(row[:4] == [cluster, "active", "fruit_app", "DEPLOY_FAILED"] for row in failing)
    assert {row[4] for row in failing} == {"MangoStand", "FruitMarket"}


def test_a_restarted_head_gets_the_config_again(
    operator: OperatorProcess, kubeconfig: Path, ns: str, standin: StandInDashboard
) -> None:
    apply(kubeconfig, ns, _rayservice("restart"))
    cluster = _active(_ready(kubeconfig, ns, "restart"))
    assert standin.serve.puts(f"{ns}/{cluster}") == 1
    kubectl(
        kubeconfig, "delete", "pods", "-n", ns, "-l", f"ray.io/cluster={cluster},ray.io/node-type=head", "--wait=false"
    )
    eventually(lambda: standin.serve.puts(f"{ns}/{cluster}") == 2, timeout=90, what="the config PUT to the new head")
    assert _clusters(kubeconfig, ns) == [cluster]


def test_suspend_deletes_the_clusters_and_services_and_resume_starts_again(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    apply(kubeconfig, ns, _rayservice("pause"))
    _ready(kubeconfig, ns, "pause")
    apply(kubeconfig, ns, _rayservice("pause", suspend=True))
    status = eventually(
        lambda: (s := _status(kubeconfig, ns, "pause")) and _condition(s, "Suspended").get("status") == "True" and s,
        what="Suspended",
    )
    assert _condition(status, "Ready")["status"] == "False" and not status.get("activeServiceStatus")
    eventually(lambda: _clusters(kubeconfig, ns) == [], what="clusters deleted")
    eventually(lambda: _get(kubeconfig, ns, "service", "pause-serve-svc") is None, what="serve Service deleted")
    apply(kubeconfig, ns, _rayservice("pause", suspend=False))
    status = _ready(kubeconfig, ns, "pause")
    assert _condition(status, "Suspended")["reason"] == "RayServiceResumed"


def test_deleting_the_rayservice_deletes_its_clusters(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    apply(kubeconfig, ns, _rayservice("gone"))
    _ready(kubeconfig, ns, "gone")
    obj = _get(kubeconfig, ns, "rayservice", "gone") or {}
    assert "ray.io/rayservice-finalizer" in obj["metadata"]["finalizers"]
    kubectl(kubeconfig, "delete", "rayservice", "gone", "-n", ns, "--wait=false")
    eventually(
        lambda: _get(kubeconfig, ns, "rayservice", "gone") is None and _clusters(kubeconfig, ns) == [],
        what="the RayService and its clusters gone",
    )


def test_an_invalid_spec_and_an_initializing_timeout_are_reported(
    operator: OperatorProcess, kubeconfig: Path, ns: str, standin: StandInDashboard
) -> None:
    apply(kubeconfig, ns, _rayservice("invalid", upgradeStrategy={"type": "Sideways"}))
    status = eventually(
        lambda: (
            (s := _status(kubeconfig, ns, "invalid"))
            and _condition(s, "Ready").get("reason") == "ValidationFailed"
            and s
        ),
        what="ValidationFailed",
    )
    assert "Sideways" in _condition(status, "Ready")["message"]
    eventually(lambda: any(r == "InvalidRayServiceSpec" for _, r, _ in _events(kubeconfig, ns)), what="the Event")
    standin.serve.script("slow-", ServeScript(status_code=503))
    body = _rayservice("slow")
    body["metadata"]["annotations"] = {"ray.io/initializing-timeout": "3s"}
    apply(kubeconfig, ns, body)
    status = eventually(
        lambda: (
            (s := _status(kubeconfig, ns, "slow"))
            and _condition(s, "Ready").get("reason") == "InitializingTimeout"
            and s
        ),
        timeout=60,
        what="InitializingTimeout",
    )
    eventually(lambda: not [c for c in _clusters(kubeconfig, ns) if c.startswith("slow-")], what="clusters deleted")
    rejected = [n for t, r, n in _events(kubeconfig, ns) if (t, r) == ("Warning", "FailedToUpdateServeApplications")]
    assert rejected and "Failed to update serve applications to the RayCluster" in rejected[0] and "503" in rejected[0]


def test_upgrade_strategy_none_keeps_the_cluster_and_still_applies_config_changes(
    operator: OperatorProcess, kubeconfig: Path, ns: str, standin: StandInDashboard
) -> None:
    apply(kubeconfig, ns, _rayservice("fixed", upgradeStrategy={"type": "None"}))
    cluster = _active(_ready(kubeconfig, ns, "fixed"))
    apply(
        kubeconfig, ns, _rayservice("fixed", env="2", config=_serve_config(price=9), upgradeStrategy={"type": "None"})
    )
    eventually(lambda: standin.serve.puts(f"{ns}/{cluster}") == 2, what="the new config on the same cluster")
    status = _status(kubeconfig, ns, "fixed")
    assert _clusters(kubeconfig, ns) == [cluster] and not (status.get("pendingServiceStatus") or {})
    assert _condition(status, "UpgradeInProgress")["reason"] == "NoPendingCluster"


def test_an_appended_worker_group_and_a_suspend_toggle_update_the_active_cluster_in_place(
    operator: OperatorProcess, kubeconfig: Path, ns: str, standin: StandInDashboard
) -> None:
    body = _rayservice("inplace")
    apply(kubeconfig, ns, body)
    cluster = _active(_ready(kubeconfig, ns, "inplace"))
    groups = body["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    groups.append({**groups[0], "groupName": "extra"})
    apply(kubeconfig, ns, body)

    def spec() -> dict[str, Any]:
        return dict((_get(kubeconfig, ns, "raycluster", cluster) or {}).get("spec") or {})

    eventually(lambda: [g["groupName"] for g in spec().get("workerGroupSpecs") or []] == ["small", "extra"],
               what="the appended group on the same cluster")
    eventually(lambda: kubectl_json(kubeconfig, "get", "pods", "-n", ns, "-l",
                                    f"ray.io/cluster={cluster},ray.io/group=extra")["items"], what="its worker")
    body["spec"]["rayClusterConfig"]["suspend"] = True
    apply(kubeconfig, ns, body)
    eventually(lambda: spec().get("suspend") is True, what="the active cluster suspended in place")
    selector = f"ray.io/cluster={cluster}"
    eventually(lambda: not kubectl_json(kubeconfig, "get", "pods", "-n", ns, "-l", selector)["items"],
               what="its pods deleted")
    assert _clusters(kubeconfig, ns) == [cluster], "no new cluster"
    notes = [note for _, reason, note in _events(kubeconfig, ns) if reason == "UpdatedRayCluster"]
    assert f"Updated the active RayCluster {ns}/{cluster}" in notes


def test_the_head_pod_leaves_the_serve_service_when_its_proxy_is_unhealthy(
    operator: OperatorProcess, kubeconfig: Path, ns: str, standin: StandInDashboard
) -> None:
    apply(kubeconfig, ns, _rayservice("proxy"))
    cluster = _active(_ready(kubeconfig, ns, "proxy"))
    selector = f"ray.io/cluster={cluster},ray.io/node-type=head"

    def head() -> dict[str, Any]:
        pods: list[dict[str, Any]] = kubectl_json(kubeconfig, "get", "pods", "-n", ns, "-l", selector)["items"]
        return pods[0]

    eventually(lambda: _status(kubeconfig, ns, "proxy").get("numServeEndpoints") == 2, what="head and worker serve")
    ip = head()["status"]["podIP"]
    standin.serve.set_proxy_health(ip, healthy=False)
    try:
        eventually(lambda: head()["metadata"]["labels"]["ray.io/serve"] == "false", what="serve label false")
        status = eventually(
            lambda: (s := _status(kubeconfig, ns, "proxy")).get("numServeEndpoints") == 1 and s,
            what="only the worker left behind the serve Service",
        )
        assert _condition(status, "Ready")["status"] == "True"
    finally:
        standin.serve.set_proxy_health(ip, healthy=True)
    eventually(lambda: head()["metadata"]["labels"]["ray.io/serve"] == "true", what="serve label true again")
