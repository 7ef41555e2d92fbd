"""`raykube local up --nodes real` / `down` as a user runs them: one node per machine, nothing left behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from raykube.local import hostnet, nodens
from raykube.local.cluster import ClusterConfig, LocalCluster
from raykube.local.processes import ProcessRecord, is_alive
from tests.e2e.realnode import host
from tests.integration.kube import kubectl

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

NODE_DAEMONS = {"node-namespace", "containerd", "kubelet", "kube-proxy", "coredns"}


def _raykube(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "raykube.cli.main", *args], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "COLUMNS": "200"})


def test_up_and_down_leave_the_machine_as_it_was(ray_image: str) -> None:
    host.wait_for_machine()
    before = host.snapshot()
    state = host.state_dir("e2e-lifecycle")
    started = time.monotonic()
    up = _raykube("local", "up", "--nodes", "real", "--state-dir", str(state))
    assert up.returncode == 0, up.stderr
    print(f"raykube local up --nodes real: {time.monotonic() - started:.1f}s")
    kubeconfig = Path(up.stdout.strip().splitlines()[-1])
    assert "kubelet: Node Ready" in up.stderr and "coredns healthy" in up.stderr

    records = [ProcessRecord.from_json(p) for p in json.loads((state / "state.json").read_text())["processes"]]
    assert {r.name for r in records} >= NODE_DAEMONS
    nodes = kubectl(kubeconfig, "get", "nodes", "-o", "jsonpath={.items[*].metadata.name}").stdout
    assert nodes == "raykube-node"
    images = _raykube("local", "image", "list").stdout
    assert ray_image in images

    # The kubelet wrote its kernel tunables into the namespace's stand-in files, never into the machine's.
    plan = LocalCluster(ClusterConfig(state_dir=state)).node_plan()
    assert plan is not None
    assert nodens.read_tunables() == before.tunables
    written = {n: nodens.decoy_path(Path(plan.dir) / "sysctl", n).read_text().strip() for n in nodens.KUBELET_TUNABLES}
    assert written["kernel/panic_on_oops"] == "1" and written["vm/overcommit_memory"] == "1"
    assert hostnet.bridge_ports(plan.bridge) == []  # no pod yet

    # A second real-node cluster is refused while this one runs.
    other = _raykube("local", "up", "--nodes", "real", "--state-dir", str(state.parent / f"{state.name}-other"))
    assert other.returncode == 1
    assert "already running on this machine" in other.stderr

    down = _raykube("local", "down", "--state-dir", str(state))
    assert down.returncode == 0, down.stderr
    assert [r.name for r in records if is_alive(r)] == []
    assert "deleted bridge" in down.stderr
    host.assert_down_clean(LocalCluster(ClusterConfig(state_dir=state)), plan, before)
    shutil.rmtree(state)
