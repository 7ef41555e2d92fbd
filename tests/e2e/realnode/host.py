"""What a real node may change on the machine, and what must be gone after `raykube local down`."""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from raykube.local.cluster import ClusterConfig, LocalCluster
from raykube.local.controlplane.components import etcd_data_dir
from raykube.local.nodes.real import cgroups, hostnet, machine, nodens
from raykube.local.nodes.real.plan import NodePlan
from raykube.local.processes import ProcessRecord, is_alive, record_of


def runner_file(state: Path) -> Path:
    """Beside a test run's state directory (`up` empties the directory itself): the pytest that made it."""
    return state.with_name(state.name + ".runner.json")


@dataclass(frozen=True)
class HostSnapshot:
    """What a real node could change machine-wide; equal before `up` and after `down`, whatever ran earlier."""

    tunables: dict[str, str]
    ip_forward: str
    owned_rules: tuple[str, ...]
    bridges: tuple[str, ...]


def snapshot() -> HostSnapshot:
    return HostSnapshot(nodens.read_tunables(), hostnet.read_ip_forward(), tuple(hostnet.owned_rules()),
                        tuple(hostnet.owned_links()))


def processes_mentioning(text: str) -> list[str]:
    """`pid cmdline` of every process whose command line contains `text` (e.g. a state directory)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{proc.name} {cmdline[:160]}")
    return found


def leftovers(state_dir: Path, plan: NodePlan) -> list[str]:
    """Everything of the cluster still on the machine: processes, mounts, devices, cgroups, rules, the lock."""
    left = [f"process: {p}" for p in processes_mentioning(str(state_dir))]
    left += [f"mount: {line}" for line in Path("/proc/self/mountinfo").read_text().splitlines()
             if str(state_dir) in line]
    if hostnet.link_exists(plan.bridge):
        left.append(f"bridge {plan.bridge} with ports {hostnet.bridge_ports(plan.bridge)}")
    left += [f"cgroup: {d}" for d in cgroups.NodeCgroup(plan.cgroup).dirs() if d.exists()]
    left += [f"iptables: {rule}" for rule in hostnet.owned_rules()]
    if etcd_data_dir(state_dir).exists():
        left.append(f"etcd's data on tmpfs: {etcd_data_dir(state_dir)}")
    if machine.lock_owner() == state_dir:
        left.append(f"the machine record {machine.MACHINE_RECORD} still names {state_dir}")
    return left


def state_dir(prefix: str) -> Path:
    """A fresh state directory for a real-node cluster, outside pytest's numbered temporary directories.

    pytest keeps only the newest three of those and removes older ones when a session starts; on a machine
    where several sessions run, that would delete a running node's files (containerd's and the kubelet's)
    under it. The caller removes the directory once the cluster is down and nothing was left behind.
    """
    made = Path(tempfile.mkdtemp(prefix=f"raykube-{prefix}-")).resolve()
    me = record_of(os.getpid(), "pytest")
    assert me is not None  # this very process
    runner_file(made).write_text(json.dumps(me.to_json()))
    return made


def _runner_gone(owner: Path) -> bool:
    """True if the pytest run that made this state directory is no longer running (killed, interrupted)."""
    try:
        runner = ProcessRecord.from_json(json.loads(runner_file(owner).read_text()))
    except (OSError, ValueError, KeyError):
        return False  # made before runners were recorded, or not by a test: wait for it instead
    return not is_alive(runner)


def _test_run_state(owner: Path) -> bool:
    """State directories of test runs are `raykube-<prefix>-*` temporary directories (`state_dir`)."""
    return owner.parent == Path(tempfile.gettempdir()).resolve() and owner.name.startswith("raykube-")


def wait_for_machine(timeout: float = 1800) -> None:
    """Wait while another test run's real-node cluster holds this machine's one slot.

    A cluster that died without `down` (a killed session, a crashed run) is cleaned up first, as the next
    `up` would do: a snapshot taken after this is the machine as it was before any real node. So is a cluster
    whose test run was interrupted (its pytest process is gone: nobody would ever stop it). A user's own
    cluster (`make demo`, `raykube local up --nodes real`) will not go away by itself: that fails at once,
    saying how to stop it, instead of waiting for it.
    """
    deadline = time.monotonic() + timeout
    while True:
        if (reaped := machine.reap_abandoned(lambda message: print(message, flush=True))) is not None:
            print(f"cleaned up after an abandoned real-node cluster ({reaped})", flush=True)
        owner = machine.lock_owner()
        if owner is None:
            return
        if _test_run_state(owner) and _runner_gone(owner):
            # An interrupted test run's cluster lives on (only `down` stops it) but nobody will stop it.
            print(f"stopping a real-node cluster whose test run is gone ({owner})", flush=True)
            LocalCluster(ClusterConfig(state_dir=owner)).down()
            runner_file(owner).unlink(missing_ok=True)
            continue
        if not _test_run_state(owner):
            raise AssertionError(f"a real-node cluster of yours is running ({owner}); only one can run per machine: "
                                 f"stop it with `make demo-down` or `raykube local down --state-dir {owner}`")
        if time.monotonic() > deadline:
            raise AssertionError(f"a real-node cluster at {owner} kept this machine busy for {timeout:.0f}s; "
                                 f"stop it with `raykube local down --state-dir {owner}`")
        time.sleep(2)


def assert_down_clean(cluster: LocalCluster, plan: NodePlan, before: HostSnapshot) -> None:
    left = leftovers(cluster.state_dir, plan)
    assert not left, "left behind by down:\n" + "\n".join(left)
    after = snapshot()
    assert after == before, f"the machine changed:\nbefore {before}\nafter  {after}"
