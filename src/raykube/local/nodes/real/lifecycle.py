"""Start and stop the real node: host preparation, the node's daemons in order, and their undoing.

Start order (after the control plane):
  namespace holder (private mount namespace, kernel tunables covered; see `nodens`) → containerd (in that
  namespace) → images imported → RBAC, kube-dns Service, guard rules → kubelet (in that namespace) → Node
  Ready → kube-proxy (iptables mode) → CoreDNS → the volume provisioner (`provisioner`, default StorageClass
  `standard`; see `volumes`).

`stop` and `undo_host` are safe on a half-started node and when called twice: each step that fails is
noted and the others still run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from raykube.local import processes
from raykube.local.binaries import binary
from raykube.local.controlplane.api import LocalApi
from raykube.local.controlplane.components import Layout
from raykube.local.controlplane.kubeconfig import write_kubeconfig
from raykube.local.controlplane.pki import CertificateAuthority
from raykube.local.images import store as image_store
from raykube.local.nodes.real import cgroups, hostnet, nodens, provisioner, volumes
from raykube.local.nodes.real.configs import (
    cluster_objects,
    cni_config,
    containerd_config,
    corefile,
    kube_proxy_config,
    kubelet_config,
)
from raykube.local.nodes.real.plan import (
    CNI_BIN_DIR,
    CNI_PLUGINS,
    HOST_COMMANDS,
    NODE_IP,
    NODE_NAME,
    NodePlan,
    Progress,
    RealNodeError,
    containerd_root,
)
from raykube.local.processes import ComponentFailedError, ProcessRecord

Launch = Callable[..., ProcessRecord]
Wait = Callable[..., None]


def missing_host_dependencies() -> list[str]:
    """Debian packages whose commands or files the real node needs and this machine lacks."""
    missing = {pkg for cmd, pkg in HOST_COMMANDS.items() if shutil.which(cmd) is None}
    if not all((CNI_BIN_DIR / p).exists() for p in CNI_PLUGINS):
        missing.add("containernetworking-plugins")
    return sorted(missing)


# -- start --------------------------------------------------------------------------------------------


def issue_node_pki(ca: CertificateAuthority, layout: Layout, plan: NodePlan) -> None:
    """Node certificates from the cluster CA and the node daemons' kubeconfigs."""
    kubelet = ca.issue("kubelet-client", common_name=f"system:node:{NODE_NAME}", organizations=("system:nodes",),
                       client=True)
    ca.issue("kubelet-server", common_name=NODE_NAME, dns_names=(NODE_NAME, "localhost"),
             ip_addresses=(NODE_IP, "127.0.0.1"), server=True)
    proxy = ca.issue("kube-proxy", common_name="system:kube-proxy", client=True)
    dns = ca.issue("coredns", common_name="system:coredns", client=True)
    ca.issue(provisioner.CERT_NAME, common_name=volumes.USER, client=True)
    for user, pair in (("kubelet", kubelet), ("kube-proxy", proxy), ("coredns", dns)):
        write_kubeconfig(plan.path / f"{user}.kubeconfig", server=layout.server, ca=ca.pair.cert, user=user,
                         client=pair)


def prepare_host(plan: NodePlan, progress: Progress) -> None:
    """Create the node's directories, cgroup subtree and bridge; record the values we will restore."""
    missing = missing_host_dependencies()
    if missing:
        raise RealNodeError(
            f"--nodes real needs Debian packages that are not installed: {', '.join(missing)}; "
            "run `scripts/install-node-deps` (or `make node-deps`)"
        )
    for name in ("kubelet", "kube-proxy", "coredns", "pause"):
        binary(name)  # raises MissingBinaryError naming `make tools`
    plan.tunables_before = nodens.read_tunables()
    for sub in ("", "cni", "cni-ipam", "sysctl", "kubelet", "containerd-state", "runc"):
        (plan.path / sub).mkdir(parents=True, exist_ok=True)
    containerd_root().mkdir(parents=True, exist_ok=True)
    cgroups.NodeCgroup(plan.cgroup).create()
    hostnet.create_bridge(plan.bridge, f"{NODE_IP}/24")
    progress(f"host prepared: bridge {plan.bridge} ({NODE_IP}/24), cgroup /{plan.cgroup}")


def write_configs(plan: NodePlan, pki: Path) -> None:
    d = plan.path
    (d / "containerd.toml").write_text(containerd_config(plan))
    (d / "cni" / "10-raykube.conflist").write_text(json.dumps(cni_config(plan), indent=2))
    (d / "kubelet.yaml").write_text(yaml.safe_dump(kubelet_config(plan, pki), sort_keys=False))
    (d / "kube-proxy.yaml").write_text(yaml.safe_dump(kube_proxy_config(plan), sort_keys=False))
    (d / "Corefile").write_text(corefile(plan))
    # Pods with dnsPolicy Default get the node's resolv.conf: empty, since nothing outside answers them.
    (d / "resolv.conf").write_text("")


def _http_ok(url: str) -> bool:
    return httpx.get(url, timeout=2.0).status_code == 200


def _containerd_serving(plan: NodePlan) -> bool:
    if not plan.containerd_socket.exists():
        return False
    image_store.ctr(plan.containerd_socket, "version", timeout=5)
    return True


def image_store_holders() -> list[str]:
    """`pid command` of processes holding the shared image store's database (a containerd still running)."""
    db = containerd_root() / "io.containerd.metadata.v1.bolt" / "meta.db"
    if not db.exists():
        return []
    with open(db, "rb") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(f, fcntl.LOCK_UN)
            return []
        except BlockingIOError:
            pass
    holders = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) == str(db) for fd in (proc / "fd").iterdir()):
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                holders.append(f"{proc.name} {command[:200]}")
    return holders or ["(a process this user cannot see)"]


def remove_all_containers(socket: Path) -> int:
    """Delete every task and container of the CRI namespace (stale ones from an earlier run, or ours at stop)."""
    removed = 0
    for container in image_store.ctr(socket, "containers", "ls", "-q").stdout.split():
        with contextlib.suppress(subprocess.CalledProcessError):
            image_store.ctr(socket, "tasks", "delete", "--force", container, timeout=60)
        with contextlib.suppress(subprocess.CalledProcessError):
            image_store.ctr(socket, "containers", "delete", container, timeout=60)
            removed += 1
    return removed


def start(plan: NodePlan, layout: Layout, api: LocalApi, launch: Launch, wait: Wait, progress: Progress) -> None:
    """Start the node's daemons (the host is prepared and the control plane is up); see the module docstring."""
    write_configs(plan, layout.pki)
    cgroup = cgroups.NodeCgroup(plan.cgroup)
    procs = cgroup.procs_files("node")

    holder = launch("node-namespace", nodens.holder_argv(plan.path / "sysctl", binary("pause")), cgroup=procs)
    wait(holder, lambda: len(nodens.covered(holder.pid)) == len(nodens.KUBELET_TUNABLES),
         what="covering the kernel tunables")
    inside = nodens.enter(holder.pid)

    holders = image_store_holders()
    if holders:
        raise RealNodeError(
            f"the image store {containerd_root()} is in use by another containerd (a real node that was not "
            f"stopped?): {'; '.join(holders)}"
        )
    # No registry is reachable from here, by design: a pull fails at once instead of leaving the machine.
    dead_proxy = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    containerd = launch("containerd", [*inside, "containerd", "--config", plan.path / "containerd.toml"],
                        cgroup=procs, env=dead_proxy)
    wait(containerd, lambda: _containerd_serving(plan))
    stale = remove_all_containers(plan.containerd_socket)
    if stale:
        progress(f"removed {stale} stale containers left by an earlier run")

    store = image_store.ImageStore()
    image_store.ensure_pause(store)
    imported = image_store.import_missing(plan.containerd_socket, store.images(), progress)
    progress(f"images ready ({len(store.images())} known, {len(imported)} imported)")

    for path, body in cluster_objects():
        api.create(path, body)
    hostnet.install_guard(plan.chain_suffix, plan.bridge, NODE_IP, [layout.apiserver_port])

    kubelet = launch("kubelet", [
        *inside, binary("kubelet"),
        f"--config={plan.path / 'kubelet.yaml'}",
        f"--kubeconfig={plan.path / 'kubelet.kubeconfig'}",
        f"--root-dir={plan.path / 'kubelet'}",
        f"--hostname-override={NODE_NAME}",
        f"--node-ip={NODE_IP}",
        f"--pod-infra-container-image={image_store.pause_image()}",
        "--v=1",
    ], cgroup=procs)
    wait(kubelet, lambda: _node_ready(api.get(f"/api/v1/nodes/{NODE_NAME}")), what="Node Ready")
    check_tunables(plan)

    proxy = launch("kube-proxy", [binary("kube-proxy"), f"--config={plan.path / 'kube-proxy.yaml'}", "--v=1"],
                   cgroup=procs)
    wait(proxy, lambda: _http_ok(f"http://127.0.0.1:{plan.proxy_healthz_port}/healthz"))

    dns = launch("coredns", [binary("coredns"), "-conf", plan.path / "Corefile"], cgroup=procs)
    wait(dns, lambda: _http_ok(f"http://127.0.0.1:{plan.dns_ready_port}/ready"))

    ready_file = plan.path / "storage-provisioner.synced"
    ready_file.unlink(missing_ok=True)
    storage = launch("storage-provisioner", [
        sys.executable, "-m", "raykube.local.nodes.real.provisioner", f"--server={layout.server}",
        f"--pki={layout.pki}", f"--root={plan.volumes_dir}", f"--ready-file={ready_file}",
    ], cgroup=procs)
    wait(storage, ready_file.exists, what="first pass over the volume claims")


def check_tunables(plan: NodePlan) -> None:
    """Fail loudly if a kernel tunable of the machine changed since `up` began."""
    now = nodens.read_tunables()
    changed = {k: (v, now[k]) for k, v in plan.tunables_before.items() if now.get(k) != v}
    if changed:
        raise ComponentFailedError(f"kernel settings changed while the node started (before, now): {changed}")


def _node_ready(node: dict[str, Any] | None) -> bool:
    if node is None:
        return False
    conditions = node.get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


# -- stop ---------------------------------------------------------------------------------------------


def attempt(errors: list[str], what: str, action: Callable[[], object]) -> None:
    """Run one clean-up action; on failure note it and go on (a clean-up stops at nothing)."""
    try:
        action()
    except Exception as err:
        errors.append(f"{what}: {err}")


def stop(plan: NodePlan, records: list[ProcessRecord], progress: Progress, errors: list[str]) -> list[str]:
    """Stop the node's daemons and pods; return the names of the daemons that were stopped.

    The host side (bridge, rules, cgroups) stays until `undo_host`: the API server listens on the bridge
    address and must be stopped before it goes. Both are safe on a half-started node and when called twice;
    a step that fails is added to `errors` and the others still run.
    """
    by_name = {r.name: r for r in records}
    stopped = []

    def stop_daemon(name: str) -> None:
        record = by_name.get(name)
        if record is not None and processes.is_alive(record):
            processes.stop(record)
            stopped.append(name)
            progress(f"stopped {name} (pid {record.pid})")

    for name in ("coredns", "kube-proxy", "kubelet"):
        attempt(errors, f"stopping {name}", lambda n=name: stop_daemon(n))  # type: ignore[misc]

    # Pods first (containers and pause processes), then their containerd records, then containerd.
    def kill_pods() -> None:
        pods = cgroups.NodeCgroup(f"{plan.cgroup}/kubepods")
        if pods.exists() and (killed := pods.kill_all()):
            progress(f"killed {killed} pod processes")

    def remove_containers() -> None:
        containerd = by_name.get("containerd")
        if containerd is not None and processes.is_alive(containerd):
            progress(f"removed {remove_all_containers(plan.containerd_socket)} containers from containerd")

    attempt(errors, "killing the pods", kill_pods)
    attempt(errors, "removing containers from containerd", remove_containers)
    attempt(errors, "stopping containerd", lambda: stop_daemon("containerd"))
    attempt(errors, "stopping the node namespace", lambda: stop_daemon("node-namespace"))
    return stopped


def undo_host(plan: NodePlan, progress: Progress, errors: list[str]) -> None:
    """Remove what `prepare_host` and the node made on the host (the bridge takes its forwarding with it)."""
    def sweep_cgroups() -> None:
        cgroup = cgroups.NodeCgroup(plan.cgroup)
        if cgroup.exists():
            if leftovers := cgroup.kill_all():
                progress(f"killed {leftovers} leftover node processes (shims)")
            cgroup.remove()

    def rules() -> None:
        if removed := hostnet.cleanup_iptables():
            progress(f"removed {removed} iptables rules and chains")

    def bridge() -> None:
        if hostnet.delete_link(plan.bridge):
            progress(f"deleted bridge {plan.bridge}")

    def forwarding() -> None:  # a node of an earlier version switched it on machine-wide
        if plan.ip_forward_before and hostnet.read_ip_forward() != plan.ip_forward_before:
            hostnet.write_ip_forward(plan.ip_forward_before)
            progress(f"net.ipv4.ip_forward back to {plan.ip_forward_before}")

    attempt(errors, "removing the node's cgroups", sweep_cgroups)
    attempt(errors, "removing iptables rules", rules)
    attempt(errors, "deleting the bridge", bridge)
    attempt(errors, "restoring net.ipv4.ip_forward", forwarding)
