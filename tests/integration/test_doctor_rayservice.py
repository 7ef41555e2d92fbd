"""`raykube doctor` on a RayService whose Serve application fails (the stand-in dashboard's Serve API says so).

A module of its own: it needs an operator whose dashboard calls go to the stand-in, scripted to fail one
import path with a ModuleNotFoundError, as Ray Serve reports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from raykube.ray.standin import JobScript, StandInDashboard
from raykube.ray.standin_serve import ServeScript
from tests.integration.kube import apply, scratch_namespace
from tests.integration.operator import OperatorProcess, running_operator
from tests.integration.test_doctor import doctor, raycluster, wait_for_finding

pytestmark = pytest.mark.integration
BROKEN = "missing.module:app"


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInDashboard]:
    server = StandInDashboard(JobScript())
    server.start_in_thread()
    server.serve.script("failing", ServeScript(failures={BROKEN: "ModuleNotFoundError: No module named 'missing'"}))
    try:
        yield server
    finally:
        server.stop_thread()


@pytest.fixture(scope="module")
def operator(
    kubeconfig: Path, ray_crds: None, standin: StandInDashboard, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    yield from running_operator(kubeconfig, tmp_path_factory.mktemp("doctor-rayservice-operator"),
                                lease_namespace="kube-system", extra=(f"--dashboard-url-override={standin.url}",))


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "drs")


def test_a_failing_serve_application(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    config = yaml.safe_dump({"applications": [{"name": "shop", "import_path": BROKEN, "route_prefix": "/"}]})
    apply(kubeconfig, ns, {"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "failing"},
                           "spec": {"serveConfigV2": config, "rayClusterConfig": raycluster("unused")["spec"]}})
    found = wait_for_finding(kubeconfig, ns, "rayservice/failing", "serve-application-failing")
    assert found["summary"] == "Serve application 'shop' is DEPLOY_FAILED."
    assert found["evidence"][0].endswith(".applicationStatuses.shop: DEPLOY_FAILED: ModuleNotFoundError: No module "
                                         "named 'missing'")
    text = doctor(kubeconfig, "rayservice/failing", "-n", ns)
    assert text.returncode == 1 and "[serve-application-failing]" in text.stdout
