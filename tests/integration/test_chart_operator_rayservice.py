"""The kuberay-operator chart's RBAC is enough for the RayService controller, and no more than it needs: the
operator, authenticated as the chart's ServiceAccount, brings a RayService to Ready (clusters created,
Services created, head pod labelled, EndpointSlices read, status and finalizer written)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from raykube.ray.standin import JobScript, StandInDashboard
from tests.charts.conftest import chart_repo, helm_home
from tests.integration.charts import ChartOperator
from tests.integration.kube import apply, kubectl, scratch_namespace
from tests.integration.test_rayservice_controller import _clusters, _get, _rayservice, _ready

__all__ = ["chart_repo", "helm_home"]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def operator(kubeconfig: Path, ray_crds: None, chart_repo: Path, helm_home: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChartOperator]:
    standin = StandInDashboard(JobScript())
    standin.start_in_thread()
    namespace = f"chart-svc-{uuid.uuid4().hex[:6]}"
    kubectl(kubeconfig, "create", "namespace", namespace)
    chart = ChartOperator(kubeconfig, chart_repo / "kuberay-operator-1.7.0.tgz", namespace=namespace,
                          name=f"kuberay-operator-{namespace}", home=helm_home,
                          log_dir=tmp_path_factory.mktemp("chart-svc-operator"))
    try:
        chart.start(extra=(f"--dashboard-url-override={standin.url}",))
        yield chart
    finally:
        chart.close()
        standin.stop_thread()
        kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false")


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "chart-svc")


@pytest.mark.parametrize("check", ["watch rayservices.ray.io -A", "update rayservices.ray.io",
                                   "update rayservices.ray.io --subresource=status",
                                   "update rayservices.ray.io --subresource=finalizers",
                                   "list endpointslices.discovery.k8s.io -A", "patch pods", "patch services"])
def test_service_account_can_run_rayservices(operator: ChartOperator, check: str) -> None:
    assert operator.can_i(*check.split()), check


@pytest.mark.parametrize("check", ["create rayservices.ray.io", "delete rayservices.ray.io",
                                   "create endpointslices.discovery.k8s.io", "delete endpointslices.discovery.k8s.io"])
def test_service_account_writes_no_more_than_it_needs(operator: ChartOperator, check: str) -> None:
    assert not operator.can_i(*check.split()), check


def test_a_rayservice_becomes_ready_and_is_deleted_with_the_charts_rbac_only(
    operator: ChartOperator, kubeconfig: Path, ns: str
) -> None:
    apply(kubeconfig, ns, _rayservice("charted"))
    status = _ready(kubeconfig, ns, "charted", timeout=120)
    assert status["numServeEndpoints"] == 2
    kubectl(kubeconfig, "delete", "rayservice", "charted", "-n", ns, "--wait=true", "--timeout=60s")
    assert _get(kubeconfig, ns, "rayservice", "charted") is None and _clusters(kubeconfig, ns) == []
    refused = [line for line in operator.log().splitlines()
               if "Forbidden" in line and ("rayservice" in line.lower() or "endpointslices" in line)]
    assert not refused, refused
