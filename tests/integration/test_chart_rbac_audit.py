"""The chart grants nothing the operator does not use, proven against the API server's audit log.

The operator runs as the chart's ServiceAccount (RayCronJob and the embedded GCS storage gates on) through
every feature that needs a permission: scaling, the autoscaler's RBAC, the auth token Secret, the Ingress,
the GCS PVC and the Redis clean-up Job, a RayJob to completion and deletion, a RayService to Ready and
deletion, a RayCronJob run, leader election. The local control plane's audit log records each request of a
ServiceAccount (``AUDIT_POLICY``); the test then compares what the operator asked for with what the installed
ClusterRole and leader-election Role grant: every request allowed, every grant used, or kept for a reason
written below.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from raykube import reasons
from raykube.local.cluster import LocalCluster
from raykube.ray.standin import JobScript, StandInDashboard
from tests.charts.conftest import chart_repo, helm_home
from tests.integration.charts import ChartOperator
from tests.integration.kube import apply, eventually, kubectl, scratch_namespace
from tests.integration.test_raycluster_controller import _small_cluster
from tests.integration.test_raycluster_gcs_ft import _ft_cluster
from tests.integration.test_raycronjob_controller import _cronjob
from tests.integration.test_rayjob_controller import _rayjob
from tests.integration.test_rayservice_controller import _rayservice
from tests.integration.test_rayservice_controller import _ready as _rayservice_ready

__all__ = ["chart_repo", "helm_home"]
pytestmark = pytest.mark.integration

Grant = tuple[str, str, str]  # apiGroup, resource[/subresource], verb

#: Granted although the operator never sends such a request, and why.
KEPT: Final[dict[Grant, str]] = {
    # Kubernetes lets the operator create the autoscaler's Role only if it holds every permission in it
    # (the RBAC escalation check): pods get/list/watch/patch, pods/resize patch, rayclusters get/patch.
    ("", "pods", "get"): "the autoscaler Role grants it (RBAC escalation check)",
    ("", "pods/resize", "patch"): "the autoscaler Role grants it (RBAC escalation check)",
    # With the OwnerReferencesPermissionEnforcement admission plugin (OpenShift), setting blockOwnerDeletion
    # on a child needs `update` on the owner's finalizers: never an API call of its own. KubeRay grants it.
    ("ray.io", "rayclusters/finalizers", "update"): "blockOwnerDeletion under OwnerReferencesPermissionEnforcement",
    ("ray.io", "rayjobs/finalizers", "update"): "blockOwnerDeletion under OwnerReferencesPermissionEnforcement",
    ("ray.io", "rayservices/finalizers", "update"): "blockOwnerDeletion under OwnerReferencesPermissionEnforcement",
}

#: Requests the operator makes on paths this scenario does not drive, with the code that makes them.
NOT_DRIVEN: Final[dict[Grant, str]] = {
    ("", "services", "patch"): "rayservice/act.py switches the serve Service to a new cluster; rayjob/act.py "
                               "points an existing Service at its cluster",
    ("events.k8s.io", "events", "patch"): "runtime/events.py: the series count of an Event repeated after 30 s",
    **{
        ("gateway.networking.k8s.io", resource, verb): "rayservice/incremental.py: the Gateway and HTTPRoute of "
        "NewClusterWithIncrementalUpgrade, driven by test_rayservice_incremental_upgrade.py (this test's cluster "
        "has no Gateway API CRDs)"
        for resource in ("gateways", "httproutes")
        for verb in ("create", "delete", "get", "update")
    },
}


@pytest.fixture(scope="module")
def audit_log(local_cluster: LocalCluster) -> Path:
    layout = local_cluster.layout()
    assert layout is not None
    return layout.audit_log


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInDashboard]:
    server = StandInDashboard(JobScript(run_for=1.0))
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop_thread()


@pytest.fixture(scope="module")
def operator(kubeconfig: Path, ray_crds: None, chart_repo: Path, helm_home: Path, standin: StandInDashboard,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChartOperator]:
    namespace = f"chart-audit-{uuid.uuid4().hex[:6]}"
    kubectl(kubeconfig, "create", "namespace", namespace)
    chart = ChartOperator(
        kubeconfig, chart_repo / "kuberay-operator-1.7.0.tgz", namespace=namespace,
        name=f"kuberay-operator-{namespace}", home=helm_home, log_dir=tmp_path_factory.mktemp("chart-audit"),
        sets=("featureGates[0].name=RayCronJob", "featureGates[0].enabled=true",
              "featureGates[1].name=GCSFaultToleranceEmbeddedStorage", "featureGates[1].enabled=true"))
    try:
        chart.start(extra=(f"--dashboard-url-override={standin.url}",))
        yield chart
    finally:
        chart.close()
        kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false")


def _json(kubeconfig: Path, *args: str) -> dict[str, Any]:
    return dict(json.loads(kubectl(kubeconfig, *args, "-o", "json").stdout))


def _exists(kubeconfig: Path, ns: str, kind: str, name: str) -> bool:
    return kubectl(kubeconfig, "get", kind, name, "-n", ns, check=False).returncode == 0


def _items(kubeconfig: Path, ns: str, kind: str, selector: str = "") -> list[dict[str, Any]]:
    return list(_json(kubeconfig, "get", kind, "-n", ns, *(["-l", selector] if selector else []))["items"])


def _wait_for(kubeconfig: Path, ns: str, kind: str, name: str) -> None:
    eventually(lambda: _exists(kubeconfig, ns, kind, name), timeout=90, what=f"{kind} {name}")


def _state(kubeconfig: Path, ns: str, kind: str, name: str, path: tuple[str, ...], value: str) -> None:
    def probe() -> bool:
        obj: Any = _json(kubeconfig, "get", kind, name, "-n", ns)
        for key in path:
            obj = (obj or {}).get(key)
        return bool(obj == value)
    eventually(probe, timeout=120, what=f"{kind} {name} {'.'.join(path)}={value}")


def _exercise_rayclusters(kubeconfig: Path, ns: str) -> None:
    """Pods created and deleted, autoscaler RBAC, token Secret, Ingress, GCS PVC, Redis clean-up Job."""
    apply(kubeconfig, ns, _small_cluster("scaled", 2))
    eventually(lambda: len(_items(kubeconfig, ns, "pods", "ray.io/cluster=scaled,ray.io/group=small")) == 2,
               what="two workers")
    patch = [{"op": "replace", "path": "/spec/workerGroupSpecs/0/replicas", "value": 1}]
    kubectl(kubeconfig, "patch", "raycluster", "scaled", "-n", ns, "--type=json", "-p", json.dumps(patch))
    eventually(lambda: len([p for p in _items(kubeconfig, ns, "pods", "ray.io/cluster=scaled,ray.io/group=small")
                            if not p["metadata"].get("deletionTimestamp")]) == 1, what="one worker left")

    apply(kubeconfig, ns, _small_cluster("autoscaled", 1, autoscaling=True))
    for kind in ("serviceaccount", "role", "rolebinding"):
        _wait_for(kubeconfig, ns, kind, "autoscaled")

    token = _small_cluster("token", 0)
    token["spec"]["rayVersion"] = "2.52.0"
    token["spec"]["authOptions"] = {"mode": "token"}
    apply(kubeconfig, ns, token)
    _wait_for(kubeconfig, ns, "secret", "token")

    ingress = _small_cluster("ingress", 0)
    ingress["spec"]["headGroupSpec"]["enableIngress"] = True
    apply(kubeconfig, ns, ingress)
    _wait_for(kubeconfig, ns, "ingress", "ingress-head-ingress")

    rocksdb = copy.deepcopy(_ft_cluster("rocksdb"))
    rocksdb["spec"]["gcsFaultToleranceOptions"] = {"backend": "rocksdb", "storage": {"size": "1Gi"}}
    apply(kubeconfig, ns, rocksdb)
    _wait_for(kubeconfig, ns, "pvc", "rocksdb-gcs-pvc")

    apply(kubeconfig, ns, _ft_cluster("redis", annotations={reasons.ANNOTATION_GCS_FT_DELETION_TIMEOUT: "5"}))
    _state(kubeconfig, ns, "raycluster", "redis", ("status", "state"), "ready")
    kubectl(kubeconfig, "delete", "raycluster", "redis", "-n", ns, "--wait=false")
    eventually(lambda: _items(kubeconfig, ns, "jobs", "ray.io/node-type=redis-cleanup"), what="clean-up Job")


def _exercise_parents(kubeconfig: Path, ns: str, standin: StandInDashboard) -> None:
    """RayJobs completed (deletion rules: workers suspended, cluster and RayJob deleted) and suspended while
    running (submitter Job deleted), a RayService made Ready, suspended and deleted, one RayCronJob run."""
    rules = [{"policy": "DeleteWorkers", "condition": {"jobStatus": "SUCCEEDED", "ttlSeconds": 0}},
             {"policy": "DeleteCluster", "condition": {"jobStatus": "SUCCEEDED", "ttlSeconds": 3}},
             {"policy": "DeleteSelf", "condition": {"jobStatus": "SUCCEEDED", "ttlSeconds": 6}}]
    apply(kubeconfig, ns, _rayjob("job", deletionStrategy={"deletionRules": rules}))
    eventually(lambda: not _exists(kubeconfig, ns, "rayjob", "job"), timeout=150, what="RayJob deleted by its rule")

    standin.script("pausable-", JobScript(run_for=None))
    apply(kubeconfig, ns, _rayjob("pausable", shutdownAfterJobFinishes=True))
    _state(kubeconfig, ns, "rayjob", "pausable", ("status", "jobStatus"), "RUNNING")
    kubectl(kubeconfig, "patch", "rayjob", "pausable", "-n", ns, "--type=merge", "-p", '{"spec": {"suspend": true}}')
    _state(kubeconfig, ns, "rayjob", "pausable", ("status", "jobDeploymentStatus"), "Suspended")

    apply(kubeconfig, ns, _rayservice("svc"))
    _rayservice_ready(kubeconfig, ns, "svc", timeout=120)
    # Suspending tears down its clusters and Services (the operator deletes them itself).
    kubectl(kubeconfig, "patch", "rayservice", "svc", "-n", ns, "--type=merge", "-p", '{"spec": {"suspend": true}}')
    eventually(lambda: not _exists(kubeconfig, ns, "service", "svc-serve-svc"), timeout=90, what="serve Service gone")
    kubectl(kubeconfig, "delete", "rayservice", "svc", "-n", ns, "--wait=true", "--timeout=90s")

    apply(kubeconfig, ns, _cronjob("cron", "@every 5s"))
    eventually(lambda: [j for j in _items(kubeconfig, ns, "rayjobs") if j["metadata"]["name"].startswith("cron-")],
               what="a RayCronJob run")
    eventually(lambda: _json(kubeconfig, "get", "raycronjob", "cron", "-n", ns).get("status", {}).get(
        "lastScheduleTime"), what="lastScheduleTime written")


def _recorded(audit_log: Path, account: str) -> list[dict[str, Any]]:
    events = []
    for line in audit_log.read_text().splitlines():
        event = json.loads(line)
        if event.get("user", {}).get("username") == account and event.get("objectRef"):
            events.append(event)
    return events


def _request_grant(event: dict[str, Any]) -> Grant:
    ref = event["objectRef"]
    resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
    return ref.get("apiGroup", ""), resource, event["verb"]


def _granted(kubeconfig: Path, operator: ChartOperator) -> set[Grant]:
    role = _json(kubeconfig, "get", "clusterrole", operator.name)
    leader = _json(kubeconfig, "get", "role", f"{operator.name}-leader-election", "-n", operator.namespace)
    return {(group, resource, verb) for rule in role["rules"] + leader["rules"]
            for group in rule.get("apiGroups", []) for resource in rule["resources"] for verb in rule["verbs"]}


@pytest.fixture(scope="module")
def requests(operator: ChartOperator, kubeconfig: Path, audit_log: Path, standin: StandInDashboard,
             ) -> list[dict[str, Any]]:
    namespace = next(scratch_namespace(kubeconfig, "audited"))
    _exercise_rayclusters(kubeconfig, namespace)
    _exercise_parents(kubeconfig, namespace, standin)
    # Read before deleting the namespace: once it terminates, the API server refuses the operator's next
    # creates in it (the RayCronJob still runs) with 403 "being terminated", which is not an RBAC refusal.
    recorded = _recorded(audit_log, operator.account)
    kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false")
    return recorded


def test_every_request_of_the_operator_was_allowed(requests: list[dict[str, Any]]) -> None:
    assert requests, "the audit log recorded the operator's requests"
    refused = sorted({(*_request_grant(e), e["responseStatus"].get("message", "")) for e in requests
                      if e.get("responseStatus", {}).get("code") == 403 and not _namespace_terminating(e)})
    assert not refused, refused


def _namespace_terminating(event: dict[str, Any]) -> bool:
    """A 403 from the NamespaceLifecycle admission plugin, not from RBAC: the chart's operator watches every
    namespace, so it also reconciles what earlier tests left in namespaces that are being deleted."""
    return "because it is being terminated" in event["responseStatus"].get("message", "")


def test_every_request_is_covered_by_a_grant(requests: list[dict[str, Any]], kubeconfig: Path,
                                             operator: ChartOperator) -> None:
    granted = _granted(kubeconfig, operator)
    assert {_request_grant(e) for e in requests} <= granted


def test_every_grant_is_used_or_kept_for_a_written_reason(requests: list[dict[str, Any]], kubeconfig: Path,
                                                         operator: ChartOperator) -> None:
    granted = _granted(kubeconfig, operator)
    used = {_request_grant(e) for e in requests}
    assert set(KEPT) | set(NOT_DRIVEN) <= granted, "a listed grant the chart no longer has"
    assert not set(KEPT) & used, "a kept grant is in fact used: move it out of KEPT"
    unused = sorted(granted - used - set(KEPT) - set(NOT_DRIVEN))
    assert not unused, f"granted but never used: {unused}"
