"""The kuberay-operator chart (published version 1.3.0) on a real API server: the operator, authenticated as
the chart's ServiceAccount, does everything a RayCluster needs and nothing else; the ray-cluster chart's
RayClusters dry-run against our CRDs; `helm upgrade` scales and `helm uninstall` cleans up."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.charts.conftest import chart_repo, helm_home
from tests.charts.helm import CLUSTER_CHART, KUBERAY_VERSIONS, helm, kuberay_values, only, template, write_values
from tests.integration.charts import ChartOperator, get, pods, running_chart_operator, wait_state
from tests.integration.kube import eventually, kubectl
from tests.unit.api.upstream import requires_reference

__all__ = ["chart_repo", "helm_home"]
pytestmark = pytest.mark.integration


def _namespace(kubeconfig: Path, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    kubectl(kubeconfig, "create", "namespace", name)
    return name


@pytest.fixture(scope="module")
def operator(kubeconfig: Path, ray_crds: None, chart_repo: Path, helm_home: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChartOperator]:
    namespace = _namespace(kubeconfig, "chart-op")
    try:
        yield from running_chart_operator(kubeconfig, chart_repo / "kuberay-operator-1.3.0.tgz", namespace=namespace,
                                          name=f"kuberay-operator-{namespace}", home=helm_home,
                                          log_dir=tmp_path_factory.mktemp("chart-operator"))
    finally:
        kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false")


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    name = _namespace(kubeconfig, "chart-rc")
    yield name
    kubectl(kubeconfig, "delete", "namespace", name, "--wait=false")


def test_install_prints_no_notes_with_default_values(operator: ChartOperator) -> None:
    assert "NOTES:" not in operator.install_output
    assert "STATUS: deployed" in operator.install_output


@pytest.mark.parametrize(
    "check",
    [
        "create pods -n any-namespace", "delete pods -n any-namespace", "list pods -A", "watch pods -A",
        "patch pods", "patch pods --subresource=resize",
        "create services", "list services -A", "delete services", "patch services",
        "create serviceaccounts", "create roles.rbac.authorization.k8s.io",
        "create rolebindings.rbac.authorization.k8s.io",
        "create secrets",
        "list rayclusters.ray.io -A", "watch rayclusters.ray.io -A", "update rayclusters.ray.io --subresource=status",
        "update rayclusters.ray.io --subresource=finalizers", "create rayclusters.ray.io", "delete rayclusters.ray.io",
        "list rayjobs.ray.io -A", "update rayjobs.ray.io --subresource=status",
        "create jobs.batch", "list jobs.batch -A", "create ingresses.networking.k8s.io",
        "create events.events.k8s.io", "patch events.events.k8s.io",
    ],
)
def test_service_account_can_do_what_the_operator_needs(operator: ChartOperator, check: str) -> None:
    assert operator.can_i(*check.split()), check


@pytest.mark.parametrize(
    "check",
    [
        "get secrets -A", "list secrets -A", "watch secrets -A", "get secrets", "list secrets",
        "get configmaps -A", "list nodes", "create namespaces", "delete namespaces",
        "create deployments.apps", "create clusterroles.rbac.authorization.k8s.io",
        "create clusterrolebindings.rbac.authorization.k8s.io", "bind roles.rbac.authorization.k8s.io",
        "escalate roles.rbac.authorization.k8s.io", "impersonate serviceaccounts", "create pods --subresource=exec",
        "get leases.coordination.k8s.io -n kube-system", "update leases.coordination.k8s.io -n default",
        "delete customresourcedefinitions.apiextensions.k8s.io", "update rayclusters.ray.io --subresource=scale",
        "create events", "list serviceaccounts -A", "get roles.rbac.authorization.k8s.io",
        "list ingresses.networking.k8s.io -A",
    ],
)
def test_service_account_is_denied_what_the_operator_does_not_need(operator: ChartOperator, check: str) -> None:
    assert not operator.can_i(*check.split()), check


def test_leases_only_in_the_release_namespace(operator: ChartOperator) -> None:
    for verb in ("get", "create", "update"):
        assert operator.can_i(verb, "leases.coordination.k8s.io", "-n", operator.namespace)
    assert not operator.can_i("list", "leases.coordination.k8s.io", "-A")


AUTOSCALING_CLUSTER = """
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: autoscaled}
spec:
  rayVersion: "2.52.0"
  enableInTreeAutoscaling: true
  authOptions: {mode: token}
  headGroupSpec:
    rayStartParams: {}
    template:
      spec:
        containers:
        - name: ray-head
          image: rayproject/ray:2.52.0
          resources: {limits: {cpu: "1", memory: 2G}, requests: {cpu: "1", memory: 2G}}
  workerGroupSpecs:
  - groupName: small
    replicas: 2
    minReplicas: 0
    maxReplicas: 4
    rayStartParams: {}
    template:
      spec:
        containers:
        - name: ray-worker
          image: rayproject/ray:2.52.0
          resources: {limits: {cpu: "1", memory: 1G}, requests: {cpu: "1", memory: 1G}}
"""


def test_cluster_with_autoscaler_and_auth_reaches_ready(operator: ChartOperator, kubeconfig: Path, ns: str) -> None:
    """Everything the RayCluster controller creates, created with the chart's RBAC only."""
    kubectl(kubeconfig, "apply", "-n", ns, "-f", "-", input=AUTOSCALING_CLUSTER)
    wait_state(kubeconfig, ns, "autoscaled")
    assert len(pods(kubeconfig, ns, "ray.io/cluster=autoscaled")) == 3
    for kind in ("serviceaccount", "role", "rolebinding", "secret"):
        get(kubeconfig, kind, "autoscaled", "-n", ns)  # exists (kubectl fails otherwise)
    assert get(kubeconfig, "service", "autoscaled-head-svc", "-n", ns)["spec"]["clusterIP"] == "None"
    assert "forbidden" not in operator.log().lower()


@requires_reference
@pytest.mark.parametrize("values", [*KUBERAY_VERSIONS, "walkthrough"])
def test_rendered_cluster_passes_server_side_dry_run(kubeconfig: Path, ray_crds: None, values: str,
                                                    tmp_path: Path) -> None:
    path = _walkthrough_values(tmp_path) if values == "walkthrough" else kuberay_values("ray-cluster", values)
    cluster = only(template(CLUSTER_CHART, "raycluster", namespace="default", values=[path]), "RayCluster")
    result = kubectl(kubeconfig, "create", "--dry-run=server", "-n", "default", "-o", "yaml", "-f", "-",
                     input=yaml.safe_dump(cluster))
    stored = yaml.safe_load(result.stdout)
    assert stored["metadata"]["name"] == "raycluster-kuberay"
    _assert_kept(cluster["spec"], stored["spec"], "spec")  # nothing pruned or changed (CRD defaults may add)


def _assert_kept(rendered: Any, stored: Any, path: str) -> None:
    if isinstance(rendered, dict):
        assert isinstance(stored, dict), path
        for key, value in rendered.items():
            assert key in stored, f"{path}.{key} pruned"
            _assert_kept(value, stored[key], f"{path}.{key}")
    elif isinstance(rendered, list):
        assert isinstance(stored, list) and len(stored) == len(rendered), path
        for index, (a, b) in enumerate(zip(rendered, stored, strict=True)):
            _assert_kept(a, b, f"{path}[{index}]")
    else:
        assert stored == rendered, path


def _walkthrough_values(tmp_path: Path, replicas: int = 1) -> Path:
    values = yaml.safe_load((CLUSTER_CHART / "values.yaml").read_text())
    for group in (values["head"], values["worker"]):
        group["resources"]["limits"]["memory"] = group["resources"]["requests"]["memory"] = "2G"
    values["worker"]["replicas"] = replicas
    return write_values(tmp_path / "values.yaml", values)


def _head(kubeconfig: Path, ns: str) -> dict[str, Any]:
    heads = pods(kubeconfig, ns, "ray.io/cluster=raycluster-kuberay,ray.io/node-type=head")
    assert len(heads) == 1
    return heads[0]


def _running_workers(kubeconfig: Path, ns: str) -> int:
    workers = pods(kubeconfig, ns, "ray.io/cluster=raycluster-kuberay,ray.io/node-type=worker")
    return sum(1 for p in workers if p["status"].get("phase") == "Running")


def test_helm_upgrade_scales_without_recreating_the_head_and_uninstall_cleans_up(
    operator: ChartOperator, kubeconfig: Path, ns: str, chart_repo: Path, helm_home: Path, tmp_path: Path
) -> None:
    chart = str(chart_repo / "ray-cluster-1.3.0.tgz")
    values = _walkthrough_values(tmp_path)
    common = ["-n", ns, "-f", str(values), "--set", "image.tag=2.46.0-py310-aarch64"]
    helm("install", "raycluster", chart, *common, home=helm_home, kubeconfig=kubeconfig)
    wait_state(kubeconfig, ns, "raycluster-kuberay")
    head = _head(kubeconfig, ns)
    assert _running_workers(kubeconfig, ns) == 1

    helm("upgrade", "raycluster", chart, *common, "--set", "worker.replicas=3", home=helm_home, kubeconfig=kubeconfig)
    eventually(lambda: _running_workers(kubeconfig, ns) == 3, timeout=120, what="3 running workers")
    cluster = wait_state(kubeconfig, ns, "raycluster-kuberay")
    assert cluster["status"]["desiredWorkerReplicas"] == 3
    time.sleep(2)  # give a wrongful head replacement time to show
    after = _head(kubeconfig, ns)
    assert after["metadata"]["uid"] == head["metadata"]["uid"], "the head pod was recreated"

    helm("uninstall", "raycluster", "-n", ns, home=helm_home, kubeconfig=kubeconfig)

    def gone() -> bool:
        left = get(kubeconfig, "pods,services", "-n", ns, "-l", "ray.io/cluster=raycluster-kuberay")["items"]
        return not left

    eventually(gone, timeout=120, what="the cluster's pods and services deleted")
    assert kubectl(kubeconfig, "get", "raycluster", "raycluster-kuberay", "-n", ns, check=False).returncode != 0


@requires_reference
def test_kuberay_operator_values_print_notes_for_ignored_keys(
    kubeconfig: Path, ray_crds: None, chart_repo: Path, helm_home: Path
) -> None:
    """A KubeRay 1.3.0 values file installs; the NOTES name what raykube ignores (a dry run on the server);
    its feature gates reach the operator as KubeRay's chart passes them."""
    result = helm("install", "notes-check", str(chart_repo / "kuberay-operator-1.3.0.tgz"), "-n", "default",
                  "--dry-run=server", "-f", str(kuberay_values("kuberay-operator", "v1.3.0")),
                  "--set", "fullnameOverride=notes-check", "--set", "batchScheduler.name=volcano",
                  home=helm_home, kubeconfig=kubeconfig)
    notes = result.stdout.split("NOTES:", 1)[1]
    assert "batchScheduler" in notes
    assert "featureGates" not in notes
    manifests = result.stdout.split("NOTES:", 1)[0]
    assert "--feature-gates=RayClusterStatusConditions=true,RayJobDeletionPolicy=false" in manifests
