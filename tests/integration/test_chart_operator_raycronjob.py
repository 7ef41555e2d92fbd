"""The kuberay-operator chart with `featureGates` RayCronJob on: the operator, authenticated as the chart's
ServiceAccount, runs the RayCronJob controller with the chart's RBAC only (its runs created, its status
written), and the ServiceAccount gets no more than that needs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.charts.conftest import chart_repo, helm_home
from tests.integration.charts import ChartOperator, running_chart_operator
from tests.integration.kube import apply, eventually, kubectl, scratch_namespace
from tests.integration.test_raycronjob_controller import _cronjob

__all__ = ["chart_repo", "helm_home"]
pytestmark = pytest.mark.integration

#: Index of the RayCronJob entry in the chart's default featureGates list.
RAYCRONJOB_GATE = 4


@pytest.fixture(scope="module")
def operator(kubeconfig: Path, ray_crds: None, chart_repo: Path, helm_home: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChartOperator]:
    namespace = f"chart-cron-{uuid.uuid4().hex[:6]}"
    kubectl(kubeconfig, "create", "namespace", namespace)
    try:
        yield from running_chart_operator(
            kubeconfig, chart_repo / "kuberay-operator-1.7.0.tgz", namespace=namespace,
            name=f"kuberay-operator-{namespace}", home=helm_home,
            log_dir=tmp_path_factory.mktemp("chart-cron-operator"),
            # As a user would on the command line; helm replaces the whole list, with nil entries before index 4,
            # which the chart skips.
            sets=(f"featureGates[{RAYCRONJOB_GATE}].name=RayCronJob", f"featureGates[{RAYCRONJOB_GATE}].enabled=true"))
    finally:
        kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false")


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "chart-cron")


def test_the_gate_reaches_the_operator_without_notes(operator: ChartOperator) -> None:
    assert "--feature-gates=RayCronJob=true" in operator.deployed.args
    assert "NOTES:" not in operator.install_output


@pytest.mark.parametrize("check", ["list raycronjobs.ray.io -A", "watch raycronjobs.ray.io -A",
                                   "update raycronjobs.ray.io --subresource=status", "create rayjobs.ray.io"])
def test_service_account_can_run_raycronjobs(operator: ChartOperator, check: str) -> None:
    assert operator.can_i(*check.split()), check


@pytest.mark.parametrize("check", ["create raycronjobs.ray.io", "update raycronjobs.ray.io",
                                   "delete raycronjobs.ray.io"])
def test_service_account_does_not_write_raycronjobs_themselves(operator: ChartOperator, check: str) -> None:
    assert not operator.can_i(*check.split()), check


def test_a_raycronjob_runs_with_the_charts_rbac_only(operator: ChartOperator, kubeconfig: Path, ns: str) -> None:
    apply(kubeconfig, ns, _cronjob("charted", "@every 2s"))

    def run_and_status() -> bool:
        jobs = json.loads(kubectl(kubeconfig, "get", "rayjobs", "-n", ns, "-o", "json").stdout)["items"]
        cron = json.loads(kubectl(kubeconfig, "get", "raycronjob", "charted", "-n", ns, "-o", "json").stdout)
        return bool(jobs) and bool((cron.get("status") or {}).get("lastScheduleTime"))

    eventually(run_and_status, timeout=60, what=f"a run and lastScheduleTime (operator log:\n{operator.log()[-3000:]})")
    # (The operator watches all namespaces: other tests' leftovers may log their own refusals.)
    refused = [line for line in operator.log().splitlines()
               if "Forbidden" in line and ("raycronjob" in line or "rayjobs" in line)]
    assert not refused, refused
