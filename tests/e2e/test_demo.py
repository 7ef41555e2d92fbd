"""`make demo` (scripts/demo) as a user runs it: the KubeRay walkthrough on a real node, twice (the second run
reuses the cluster and replaces the first run's releases), then `make demo-down` leaves nothing behind.

The walkthrough's outputs are checked line by line in test_walkthrough.py; here the demo's own promises are:
every phase runs, the guide's commands come out in order, the RayCluster ends `ready` with its head and worker
Running 1/1, the operator is the chart's pod running raykube's image (no local process), and `ray status`
inside the head lists two Ray nodes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from raykube import __version__
from raykube.local.cluster import ClusterConfig, LocalCluster
from tests.e2e import transcript
from tests.e2e.realnode import host
from tests.integration.kube import kubectl

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]

REPO = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
PHASES = ["images", "cluster", "charts", "walkthrough", "ray"]


def _demo(state: Path, *args: str) -> str:
    result = subprocess.run([str(REPO / "scripts" / "demo"), *args], capture_output=True, text=True, timeout=1500,
                            env={**os.environ, "RAYKUBE_LOCAL_STATE": str(state)})
    assert result.returncode == 0, f"scripts/demo {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return ANSI.sub("", result.stdout)


def _phase(output: str, name: str) -> str:
    """The output of one `== name: ...` phase of the demo."""
    parts = re.split(r"^== ", output, flags=re.MULTILINE)
    found = [part for part in parts if part.startswith(name)]
    assert len(found) == 1, f"expected one phase {name!r} in:\n{output}"
    return found[0]


def _check_run(output: str, kubeconfig: Path) -> None:
    timings = _phase(output, "time per phase").splitlines()[1:]
    assert [line.split()[0] for line in timings if line.strip()][:6] == [*PHASES, "total"]

    walk = _phase(output, "walkthrough")
    assert "--operator-process" not in walk and "local process" not in walk, "the operator runs in the cluster"
    steps = transcript.steps(walk)
    assert [re.sub(r"http://127\.0\.0\.1:\d+/", "<repo>", c).split(" --set")[0] for c in steps] == [
        "helm repo add kuberay <repo>", "helm repo update", "kubectl create ns kuberay",
        "helm install kuberay-operator kuberay/kuberay-operator --version 1.3.0 -n kuberay",
        "kubectl get pods -n kuberay", "helm show values kuberay/ray-cluster > values.yaml", "nano values.yaml",
        "helm install raycluster kuberay/ray-cluster --version 1.3.0",
        "kubectl get rayclusters -n kuberay",
        "kubectl get pods --selector=ray.io/cluster=raycluster-kuberay -n kuberay",
    ]
    clusters = transcript.table(transcript.step(steps, "kubectl get rayclusters"))
    assert clusters[1][:7] == ["raycluster-kuberay", "1", "1", "2", "4G", "0", "ready"]
    pods = transcript.table(transcript.step(steps, "kubectl get pods --selector"))[1:]
    assert sorted(re.sub(r"-[a-z0-9]{5}$", "", row[0]) for row in pods) == [
        "raycluster-kuberay-head", "raycluster-kuberay-workergroup-worker"]
    assert all(row[1:3] == ["1/1", "Running"] for row in pods), pods

    ray = _phase(output, "ray")
    active = ray.split("Active:")[1].split("Pending:")[0]
    assert len(re.findall(r"^ 1 node_[0-9a-f]+$", active, flags=re.MULTILINE)) == 2, ray

    operator = json.loads(kubectl(kubeconfig, "get", "pods", "-n", "kuberay", "-l",
                                  "app.kubernetes.io/name=kuberay-operator", "-o", "json").stdout)["items"]
    assert [p["spec"]["containers"][0]["image"] for p in operator] == [f"raykube/operator:{__version__}"]


def test_make_demo_runs_the_walkthrough_twice_then_down_cleans_up() -> None:
    host.wait_for_machine()
    before = host.snapshot()
    state = host.state_dir("demo")
    cluster = LocalCluster(ClusterConfig(state_dir=state, nodes="real"))
    kubeconfig = state / "admin.kubeconfig"
    plan = None
    try:
        first = _demo(state)
        plan = cluster.node_plan()
        _check_run(first, kubeconfig)
        first_head = transcript.table(transcript.step(transcript.steps(_phase(first, "walkthrough")),
                                                      "kubectl get pods --selector"))[1][0]

        second = _demo(state)
        assert "removing the previous demo run" in _phase(second, "cluster")
        _check_run(second, kubeconfig)
        assert first_head not in second, "the second run installed a new Ray cluster"
    finally:
        _demo(state, "--down")
        if plan is not None:
            host.assert_down_clean(cluster, plan, before)
        shutil.rmtree(state)
