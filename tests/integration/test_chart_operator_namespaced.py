"""The kuberay-operator chart with `watchNamespace`: Roles in the watched namespace only, no ClusterRole; the
operator (as the chart's ServiceAccount) runs clusters there and cannot touch any other namespace."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.charts.conftest import chart_repo, helm_home
from tests.charts.helm import CLUSTER_CHART, only, template
from tests.integration.charts import ChartOperator, get, pods, running_chart_operator, wait_state
from tests.integration.kube import kubectl

__all__ = ["chart_repo", "helm_home"]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def namespaces(kubeconfig: Path) -> Iterator[dict[str, str]]:
    suffix = uuid.uuid4().hex[:6]
    names = {role: f"chart-{role}-{suffix}" for role in ("release", "watched", "other")}
    for name in names.values():
        kubectl(kubeconfig, "create", "namespace", name)
    yield names
    for name in names.values():
        kubectl(kubeconfig, "delete", "namespace", name, "--wait=false")


@pytest.fixture(scope="module")
def operator(kubeconfig: Path, ray_crds: None, chart_repo: Path, helm_home: Path, namespaces: dict[str, str],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChartOperator]:
    yield from running_chart_operator(kubeconfig, chart_repo / "kuberay-operator-1.7.0.tgz",
                                      namespace=namespaces["release"],
                                      name=f"kuberay-operator-{namespaces['release']}", home=helm_home,
                                      log_dir=tmp_path_factory.mktemp("chart-operator-ns"),
                                      sets=(f"watchNamespace={{{namespaces['watched']}}}",))


def _cluster_manifest(name: str) -> str:
    cluster = only(template(CLUSTER_CHART, name), "RayCluster")
    return yaml.safe_dump(cluster)


def test_nothing_cluster_scoped_is_installed(operator: ChartOperator, kubeconfig: Path,
                                             namespaces: dict[str, str]) -> None:
    for kind in ("clusterrole", "clusterrolebinding"):
        assert kubectl(kubeconfig, "get", kind, operator.name, check=False).returncode != 0
    for namespace in (namespaces["watched"],):
        assert get(kubeconfig, "role", operator.name, "-n", namespace)["rules"]
        assert get(kubeconfig, "rolebinding", operator.name, "-n", namespace)["subjects"][0]["namespace"] == \
            namespaces["release"]
    assert kubectl(kubeconfig, "get", "role", operator.name, "-n", namespaces["other"], check=False).returncode != 0


def test_permissions_stop_at_the_watched_namespace(operator: ChartOperator, namespaces: dict[str, str]) -> None:
    watched, other = namespaces["watched"], namespaces["other"]
    for check in ("create pods", "list rayclusters.ray.io", "update rayclusters.ray.io --subresource=status",
                  "create services", "create events.events.k8s.io"):
        assert operator.can_i(*check.split(), "-n", watched), check
        assert not operator.can_i(*check.split(), "-n", other), check
    assert not operator.can_i("list", "rayclusters.ray.io", "-A")
    assert not operator.can_i("list", "pods", "-A")
    assert operator.can_i("update", "leases.coordination.k8s.io", "-n", namespaces["release"])


def test_operator_runs_clusters_in_the_watched_namespace_only(
    operator: ChartOperator, kubeconfig: Path, namespaces: dict[str, str]
) -> None:
    params = " ".join(operator.deployed.args)
    assert f"--watch-namespace={namespaces['watched']}" in params
    kubectl(kubeconfig, "apply", "-n", namespaces["other"], "-f", "-", input=_cluster_manifest("elsewhere"))
    kubectl(kubeconfig, "apply", "-n", namespaces["watched"], "-f", "-", input=_cluster_manifest("watched"))
    wait_state(kubeconfig, namespaces["watched"], "watched-kuberay")
    assert len(pods(kubeconfig, namespaces["watched"], "ray.io/cluster=watched-kuberay")) == 2
    time.sleep(3)  # the other namespace's cluster was applied first: it would have been reconciled by now
    elsewhere = get(kubeconfig, "raycluster", "elsewhere-kuberay", "-n", namespaces["other"])
    assert "status" not in elsewhere
    assert pods(kubeconfig, namespaces["other"], "ray.io/cluster=elsewhere-kuberay") == []
    assert "forbidden" not in operator.log().lower()
