"""Dead dashboards never hold the RayService controller: with ONE reconcile worker and the Serve API of three
RayServices never answering, a fourth RayService still becomes Ready, while the hung calls are in flight.

KubeRay makes its Serve calls inside the reconcile (2 s timeout each, several per pass, every 2 s), so one
worker spends its time waiting on dead dashboards (kuberay#2646 for RayJob)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from raykube.ray.standin import JobScript, StandInDashboard
from raykube.ray.standin_serve import ServeScript
from tests.integration.kube import apply, eventually, scratch_namespace
from tests.integration.operator import OperatorProcess, running_operator
from tests.integration.test_rayservice_controller import _condition, _rayservice, _ready, _status

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInDashboard]:
    server = StandInDashboard(JobScript())
    server.serve.script("dead-", ServeScript(hang=True))
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop_thread()


@pytest.fixture(scope="module")
def operator(
    kubeconfig: Path, ray_crds: None, standin: StandInDashboard, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    yield from running_operator(kubeconfig, tmp_path_factory.mktemp("rayservice-dead"), lease_namespace="kube-system",
                                extra=(f"--dashboard-url-override={standin.url}", "--reconcile-concurrency=1"))


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "rs-dead")


def _in_flight(operator: OperatorProcess) -> float:
    line = next(x for x in operator.metrics().splitlines() if x.startswith("raykube_rayservice_serve_calls_in_flight"))
    return float(line.rsplit(" ", 1)[1])


def test_a_rayservice_becomes_ready_while_other_dashboards_hang(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    for name in ("dead-a", "dead-b", "dead-c"):
        apply(kubeconfig, ns, _rayservice(name))
    eventually(lambda: _in_flight(operator) >= 3, timeout=90, what="the dead dashboards' calls hanging")
    started = time.monotonic()
    apply(kubeconfig, ns, _rayservice("alive"))
    status = _ready(kubeconfig, ns, "alive")
    print(f"dead dashboards: 'alive' Ready {time.monotonic() - started:.1f}s after apply, "
          f"{_in_flight(operator):g} Serve calls hanging, 1 reconcile worker")
    assert status["activeServiceStatus"]["applicationStatuses"]["fruit_app"]["status"] == "RUNNING"
    # The dead dashboards are still being asked (each call times out after 2 s and is asked again): no worker held.
    eventually(lambda: _in_flight(operator) >= 3, what="calls to the dead dashboards still under way")
    for name in ("dead-a", "dead-b", "dead-c"):
        dead = _status(kubeconfig, ns, name)
        assert (_condition(dead, "Ready")["status"], _condition(dead, "Ready")["reason"]) == ("False", "Initializing")
