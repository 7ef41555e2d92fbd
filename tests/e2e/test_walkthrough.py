"""The KubeRay walkthrough (the seed guide), command for command, with every output checked, on fake nodes
and on a real node.

`scripts/walkthrough` runs the guide's commands in order against a cluster and raykube's chart repository
(served on loopback); only the repository URL differs from the guide. The `walkthrough` fixture is
parametrized by the kind of node:

* fake-nodes: the session's cluster (kwok nodes run no containers). The chart's operator pod is Running
  there with no process inside, so the script also runs the operator that Deployment describes as a local
  process (its args and environment, authenticated as the chart's ServiceAccount with a TokenRequest
  token); that is what reconciles the RayCluster.
* real-node (`real_node_kubeconfig` in conftest.py): a real-node cluster (`raykube local up --nodes real`)
  with the operator image and a Ray image for the guide's tag built here (`raykube local image build
  operator|ray`). The chart's operator pod runs the raykube image and Ray runs in real containers; nothing
  runs outside the cluster.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from raykube import __version__
from raykube.local.charts.repo import ChartServer
from tests.charts.helm import CLUSTER_CHART, helm
from tests.e2e import transcript
from tests.e2e.conftest import RAY_TAG
from tests.integration.kube import kubectl

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "kuberay"
HELM_STATUS = ["NAMESPACE: kuberay", "STATUS: deployed", "REVISION: 1", "TEST SUITE: None"]


@dataclass(frozen=True)
class Walkthrough:
    nodes: str
    kubeconfig: Path
    steps: dict[str, list[str]]  # `$ command` -> its output lines
    work: Path  # the script's working directory (values.yaml, operator.log)


@pytest.fixture(scope="module", params=["fake-nodes", "real-node"])
def walkthrough(request: pytest.FixtureRequest, chart_repo: Path, tmp_path_factory: pytest.TempPathFactory,
                ) -> Iterator[Walkthrough]:
    """Run the walkthrough once per kind of node; clean up after."""
    fake = request.param == "fake-nodes"
    kubeconfig: Path = request.getfixturevalue("kubeconfig" if fake else "real_node_kubeconfig")
    work = tmp_path_factory.mktemp(f"walkthrough-{request.param}")
    with ChartServer(chart_repo) as server:
        result = subprocess.run(
            [str(REPO / "scripts" / "walkthrough"), "--kubeconfig", str(kubeconfig), "--repo-url", server.url,
             *(["--operator-process"] if fake else []), "--ray-tag", RAY_TAG,
             "--workdir", str(work / "work"), "--helm-home", str(work / "helm"), "--timeout", "600"],
            capture_output=True, text=True, timeout=1500,
        )
    try:
        log = work / "work" / "operator.log"
        operator_log = log.read_text() if log.exists() else kubectl(
            kubeconfig, "logs", "-n", NAMESPACE, "deployment/kuberay-operator", "--tail=40", check=False).stdout
        assert result.returncode == 0, (
            f"walkthrough failed:\n{result.stdout}\n{result.stderr}\noperator log:\n{operator_log}")
        assert result.stderr == "", f"the guide's commands printed warnings:\n{result.stderr}"
        yield Walkthrough(request.param, kubeconfig, transcript.steps(result.stdout), work / "work")
    finally:
        home = work / "helm"
        for release in ("raycluster", "kuberay-operator"):
            helm("uninstall", release, "-n", NAMESPACE, "--ignore-not-found", "--wait", home=home,
                 kubeconfig=kubeconfig, check=False)
        kubectl(kubeconfig, "delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false")


def test_commands_run_in_the_guides_order(walkthrough: Walkthrough) -> None:
    steps = walkthrough.steps
    assert [re.sub(r"http://127\.0\.0\.1:\d+/", "<repo>", c) for c in steps] == [
        "helm repo add kuberay <repo>",
        "helm repo update",
        "kubectl create ns kuberay",
        "helm install kuberay-operator kuberay/kuberay-operator --version 1.3.0 -n kuberay",
        "kubectl get pods -n kuberay",
        "helm show values kuberay/ray-cluster > values.yaml",
        "nano values.yaml",
        "helm install raycluster kuberay/ray-cluster --version 1.3.0"
        f" --set 'image.tag={RAY_TAG}' -n kuberay -f values.yaml",
        "kubectl get rayclusters -n kuberay",
        "kubectl get pods --selector=ray.io/cluster=raycluster-kuberay -n kuberay",
    ]


def test_repository_commands(walkthrough: Walkthrough) -> None:
    steps = walkthrough.steps
    assert transcript.step(steps, "helm repo add") == ['"kuberay" has been added to your repositories']
    assert transcript.step(steps, "helm repo update") == [
        "Hang tight while we grab the latest from your chart repositories...",
        '...Successfully got an update from the "kuberay" chart repository',
        "Update Complete. ⎈Happy Helming!⎈",
    ]
    assert transcript.step(steps, "kubectl create ns") == ["namespace/kuberay created"]


def test_operator_install_and_its_pod_running(walkthrough: Walkthrough) -> None:
    steps = walkthrough.steps
    install = transcript.step(steps, "helm install kuberay-operator")
    assert install[0] == "NAME: kuberay-operator"
    assert install[1].startswith("LAST DEPLOYED: ")
    assert install[2:] == HELM_STATUS, "no NOTES: every default value is one raykube acts on"
    rows = transcript.table(transcript.step(steps, "kubectl get pods -n kuberay"))
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert len(rows) == 2
    assert re.fullmatch(r"kuberay-operator-[a-z0-9]{8,10}-[a-z0-9]{5}", rows[1][0]), rows[1]
    assert rows[1][1:4] == ["1/1", "Running", "0"]


def test_values_export_and_edit(walkthrough: Walkthrough) -> None:
    steps, work = walkthrough.steps, walkthrough.work
    assert transcript.step(steps, "helm show values") == []
    values = yaml.safe_load((work / "values.yaml").read_text())
    chart_defaults = yaml.safe_load((CLUSTER_CHART / "values.yaml").read_text())
    groups = ("head", "worker")
    for group in groups:
        chart_defaults[group]["resources"]["limits"]["memory"] = "2G"
        chart_defaults[group]["resources"]["requests"]["memory"] = "2G"
    small = chart_defaults["additionalWorkerGroups"]["smallGroup"]["resources"]
    small["limits"]["memory"] = small["requests"]["memory"] = "2G"
    assert values == chart_defaults, "the export is the latest chart's values, only memory edited"
    assert transcript.step(steps, "nano values.yaml").count('+      memory: "2G"') == 4


def test_raycluster_install_and_columns(walkthrough: Walkthrough) -> None:
    steps = walkthrough.steps
    install = transcript.step(steps, "helm install raycluster")
    assert install[0] == "NAME: raycluster" and install[2:] == HELM_STATUS
    rows = transcript.table(transcript.step(steps, "kubectl get rayclusters -n kuberay"))
    assert rows[0] == ["NAME", "DESIRED WORKERS", "AVAILABLE WORKERS", "CPUS", "MEMORY", "GPUS", "STATUS", "AGE"]
    assert len(rows) == 2
    # head 1 CPU / 2G + one worker 1 CPU / 2G, as the edited values.yaml asks
    assert rows[1][:7] == ["raycluster-kuberay", "1", "1", "2", "4G", "0", "ready"]


def test_ray_pods_running(walkthrough: Walkthrough) -> None:
    steps = walkthrough.steps
    rows = transcript.table(transcript.step(steps, "kubectl get pods --selector=ray.io/cluster=raycluster-kuberay"))
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    names = sorted(row[0] for row in rows[1:])
    assert len(names) == 2
    assert re.fullmatch(r"raycluster-kuberay-head-[a-z0-9]{5}", names[0]), names
    assert re.fullmatch(r"raycluster-kuberay-workergroup-worker-[a-z0-9]{5}", names[1]), names
    assert all(row[1:4] == ["1/1", "Running", "0"] for row in rows[1:])
    pods = json.loads(kubectl(walkthrough.kubeconfig, "get", "pods", "-n", NAMESPACE, "-l",
                              "ray.io/cluster=raycluster-kuberay", "-o", "json").stdout)["items"]
    images = {c["image"] for p in pods for c in p["spec"]["containers"]}
    assert images == {f"rayproject/ray:{RAY_TAG}"}, "--set image.tag reaches every Ray container"


def test_operator_ran_as_the_charts_service_account(walkthrough: Walkthrough) -> None:
    kubeconfig = walkthrough.kubeconfig
    lease = json.loads(kubectl(kubeconfig, "get", "lease", "ray-operator-leader", "-n", NAMESPACE, "-o", "json").stdout)
    # Written with the chart's leader-election Role in the release namespace.
    assert lease["spec"].get("acquireTime"), lease
    if walkthrough.nodes == "fake-nodes":
        log = " ".join((walkthrough.work / "operator.log").read_text().split())
        assert "raykube operator as kuberay/kuberay-operator" in log
        return
    # Real node: the chart's pod is the operator, running raykube's image as the chart's ServiceAccount.
    pod = json.loads(kubectl(kubeconfig, "get", "pods", "-n", NAMESPACE, "-l",
                             "app.kubernetes.io/name=kuberay-operator", "-o", "json").stdout)["items"][0]
    assert pod["spec"]["serviceAccountName"] == "kuberay-operator"
    assert pod["spec"]["containers"][0]["image"] == f"raykube/operator:{__version__}"
    assert lease["spec"]["holderIdentity"].startswith(pod["metadata"]["name"] + "_"), "the pod leads"
    logs = kubectl(kubeconfig, "logs", "-n", NAMESPACE, pod["metadata"]["name"]).stdout
    assert "Started leading" in logs and "forbidden" not in logs.lower()
