"""`raykube doctor` when the operator does not watch the namespace, and when it is stopped.

A module of its own: these tests need their operator to be the only one running (another operator would take
the Lease over and reconcile the object).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.kube import apply, eventually, scratch_namespace
from tests.integration.operator import OperatorProcess
from tests.integration.test_doctor import doctor, findings, raycluster, state

pytestmark = pytest.mark.integration


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "dro")


def test_operator_watching_elsewhere_then_stopped(kubeconfig: Path, ray_crds: None, ns: str, tmp_path: Path) -> None:
    operator = OperatorProcess(kubeconfig, tmp_path, lease_namespace="kube-system",
                               extra=("--watch-namespace=somewhere-else",))
    try:
        operator.wait_ready()
        eventually(operator.is_leader, what="the operator leads")
        apply(kubeconfig, ns, raycluster("ignored"))

        def ignored() -> list[str] | None:
            codes = [f["code"] for f in findings(kubeconfig, ns, "ignored")]
            return codes if "operator-not-reconciling" in codes else None

        assert eventually(ignored, timeout=90, what="operator-not-reconciling") == ["operator-not-reconciling"]
    finally:
        operator.stop()
    stopped = [f for f in findings(kubeconfig, ns, "ignored") if f["code"] == "operator-not-running"]
    assert stopped and stopped[0]["evidence"][0].startswith(
        "Lease kube-system/ray-operator-leader: holder (released: nobody holds it), renewed ")
    text = doctor(kubeconfig, "ignored", "-n", ns)
    assert text.returncode == 1 and "No KubeRay-compatible operator is running" in text.stdout


def test_a_stopped_operator_is_named_even_for_a_ready_cluster(
    kubeconfig: Path, ray_crds: None, ns: str, tmp_path: Path
) -> None:
    operator = OperatorProcess(kubeconfig, tmp_path, lease_namespace="kube-system")
    try:
        operator.wait_ready()
        apply(kubeconfig, ns, raycluster("orphan"))
        eventually(lambda: state(kubeconfig, ns, "orphan") == "ready", what="ready cluster")
        assert doctor(kubeconfig, "orphan", "-n", ns).returncode == 0
    finally:
        operator.stop()

    def codes() -> list[str]:
        report = json.loads(doctor(kubeconfig, "orphan", "-n", ns, "-o", "json").stdout)
        return [f["code"] for r in report["resources"] for f in r["findings"]]

    # A Lease the stopped operator could not release still counts until it expires (2 x its duration).
    eventually(lambda: codes() == ["operator-not-running"], timeout=90, what="operator-not-running")


def test_a_rayjob_whose_dashboard_does_not_answer(kubeconfig: Path, ray_crds: None, ns: str, tmp_path: Path) -> None:
    from raykube.local.ports import free_ports

    (dead_port,) = free_ports(1)  # nothing listens there
    operator = OperatorProcess(kubeconfig, tmp_path, lease_namespace="kube-system",
                               extra=(f"--dashboard-url-override=http://127.0.0.1:{dead_port}",))
    try:
        operator.wait_ready()
        spec = raycluster("unused")["spec"]
        apply(kubeconfig, ns, {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "deaf"},
                               "spec": {"entrypoint": "python -c 1", "rayClusterSpec": spec}})

        def unreachable() -> dict[str, object] | None:
            return next((f for f in findings(kubeconfig, ns, "rayjob/deaf")
                         if f["code"] == "rayjob-dashboard-unreachable"), None)

        found = eventually(unreachable, timeout=120, what="rayjob-dashboard-unreachable")
        assert str(found["evidence"][0]).startswith("jobStatusCheckFailureStartTime: ")  # type: ignore[index]
    finally:
        operator.stop()
