"""`raykube local up --nodes real` / `down` as a user runs them: one node per machine, nothing left behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from raykube.local.cluster import ClusterConfig, LocalCluster
from raykube.local.nodes.real import cgroups, hostnet, nodens
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


def _kill_everything(state: Path, plan_cgroup: str) -> None:
    """SIGKILL every process of a cluster, as the end of a session does: no `down`, nothing undone."""
    for _ in range(3):  # shims and pods may fork while their parents die
        for pid in cgroups.NodeCgroup(plan_cgroup).pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        recorded = json.loads((state / "state.json").read_text())["processes"]
        pids = {int(line.split()[0]) for line in host.processes_mentioning(str(state))}
        for pid in pids | {ProcessRecord.from_json(p).pid for p in recorded if is_alive(ProcessRecord.from_json(p))}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(1)


def test_a_killed_node_is_cleaned_up_and_the_machine_ends_as_before_it(ray_image: str) -> None:
    """A node killed with its pods running (a session that ended without `make demo-down`) leaves its bridge,
    rules, cgroups and etcd data behind; the next `up` removes them, and neither run changes the machine-wide
    `net.ipv4.ip_forward` even though a pod's CNI set-up ran (the order-dependent failure of issue 19)."""
    host.wait_for_machine()
    before = host.snapshot()
    killed = host.state_dir("e2e-killed")
    up = _raykube("local", "up", "--nodes", "real", "--state-dir", str(killed))
    assert up.returncode == 0, up.stderr
    kubeconfig = Path(up.stdout.strip().splitlines()[-1])
    plan = LocalCluster(ClusterConfig(state_dir=killed)).node_plan()
    assert plan is not None
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sleeper", "namespace": "default"},
           "spec": {"terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "main", "image": ray_image, "command": ["sleep", "3600"]}]}}
    kubectl(kubeconfig, "apply", "-f", "-", input=json.dumps(pod))
    kubectl(kubeconfig, "wait", "--for=condition=Ready", "pod/sleeper", "--timeout=120s")
    assert hostnet.bridge_ports(plan.bridge), "the pod's veth is on the bridge: the CNI plugin ran"
    assert hostnet.read_forwarding(plan.bridge) == "1"
    assert hostnet.read_ip_forward() == before.ip_forward, "forwarding is switched on for the bridge only"

    _kill_everything(killed, plan.cgroup)
    left = host.leftovers(killed, plan)
    assert any(item.startswith("bridge ") for item in left) and any(i.startswith("iptables") for i in left), left

    state = host.state_dir("e2e-after-kill")
    again = _raykube("local", "up", "--nodes", "real", "--state-dir", str(state))
    assert again.returncode == 0, again.stderr
    # (iptables rules are machine-wide: the running node's kube-proxy has its own now; checked after down)
    left = [item for item in host.leftovers(killed, plan) if not item.startswith("iptables: ")]
    assert left == [], "the next up cleaned up after the killed node"
    second = LocalCluster(ClusterConfig(state_dir=state)).node_plan()
    assert second is not None
    down = _raykube("local", "down", "--state-dir", str(state))
    assert down.returncode == 0, down.stderr
    host.assert_down_clean(LocalCluster(ClusterConfig(state_dir=state)), second, before)
    assert host.leftovers(killed, plan) == []
    shutil.rmtree(state)
    shutil.rmtree(killed, ignore_errors=True)
