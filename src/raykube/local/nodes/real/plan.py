"""The real node's plan: its fixed addresses, and the names and ports chosen for one cluster.

A `NodePlan` is stored in the cluster's `state.json` (and in the machine record, see `machine`) before
anything is made on the host, so that `down` and the reaper can undo a half-made node from it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from raykube.local.binaries import cache_dir
from raykube.local.nodes.real import hostnet

NODE_NAME = "raykube-node"
NODE_IP = "10.244.0.1"
NODE_POD_CIDR = "10.244.0.0/24"
CLUSTER_CIDR = "10.244.0.0/16"
DNS_IP = "10.96.0.10"
CNI_BIN_DIR = Path("/usr/lib/cni")
# What `scripts/install-node-deps` installs, by the command we need from each package.
HOST_COMMANDS = {
    "containerd": "containerd", "ctr": "containerd", "runc": "runc", "conntrack": "conntrack",
    "iptables": "iptables", "ip6tables": "iptables", "ip": "iproute2", "nsenter": "util-linux",
    "unshare": "util-linux", "mount": "mount",
}
CNI_PLUGINS = ("bridge", "host-local", "loopback", "portmap")

Progress = Callable[[str], None]


class RealNodeError(RuntimeError):
    """The real node cannot start here (missing packages, another real cluster running, ...)."""


@dataclass
class NodePlan:
    """Names, ports and pre-`up` host values of one real node; stored in state.json before anything is made."""

    dir: str
    bridge: str
    cgroup: str
    chain_suffix: str
    kubelet_port: int
    kubelet_healthz_port: int
    proxy_healthz_port: int
    proxy_metrics_port: int
    dns_health_port: int
    dns_ready_port: int
    ip_forward_before: str = ""
    tunables_before: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_state_dir(cls, state_dir: Path, ports: list[int]) -> NodePlan:
        digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()
        return cls(
            dir=str(state_dir / "node"),
            bridge=f"{hostnet.BRIDGE_PREFIX}{digest[:10]}",
            cgroup=f"raykube-{digest[:12]}",
            chain_suffix=digest[:6].upper(),
            kubelet_port=ports[0],
            kubelet_healthz_port=ports[1],
            proxy_healthz_port=ports[2],
            proxy_metrics_port=ports[3],
            dns_health_port=ports[4],
            dns_ready_port=ports[5],
        )

    PORTS = 6

    @property
    def path(self) -> Path:
        return Path(self.dir)

    @property
    def volumes_dir(self) -> Path:
        """Where the provisioner makes the directories of PersistentVolumes (gone with the state directory)."""
        return self.path / "volumes"

    @property
    def containerd_socket(self) -> Path:
        return self.path / "containerd.sock"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def containerd_root() -> Path:
    """containerd's image and snapshot store, shared by every real-node cluster of this machine (in turn)."""
    return cache_dir() / "containerd"
