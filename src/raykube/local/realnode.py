"""A real node on this machine: containerd + runc + CNI, kubelet, kube-proxy and CoreDNS.

Start order (after the control plane):
  namespace holder (private mount namespace, kernel tunables covered; see `nodens`) → containerd (in that
  namespace) → images imported → RBAC, kube-dns Service, guard rules → kubelet (in that namespace) → Node
  Ready → kube-proxy (iptables mode) → CoreDNS.

Everything runs in one cgroup subtree (`cgroups.NodeCgroup`), is recorded by pid in the cluster's state, and
keeps its files under `<state>/node`. Only the image store (`$RAYKUBE_CACHE/containerd`) outlives the
cluster, so images are imported once per machine.

Networking: a bridge of ours whose address (`NODE_IP`) is the node's InternalIP, the pods' gateway and the
address the API server listens on for pods; pods get routes to the pod and service ranges only. The
cluster DNS Service `kube-system/kube-dns` (10.96.0.10) has a hand-made EndpointSlice pointing at CoreDNS
on `NODE_IP:53`, so kube-proxy carries DNS like any other Service.

Only one real node runs per machine: kube-proxy owns the KUBE-* iptables chains machine-wide. A lock file in
/run names the state directory of the running one.

`stop` undoes all of it: daemons by pid, pods and shims by cgroup, containers from containerd, then the
iptables chains, the bridge (veths vanish with their pods' network namespaces), the cgroups, the namespace
(with every mount in it). The machine-wide `net.ipv4.ip_forward` is never touched: forwarding is on for our
bridge alone (`hostnet`), so it goes with the bridge. (`ip_forward_before` in a plan is only found in records
of earlier versions, which switched it on machine-wide; their clean-up still restores it.)
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from raykube.local import cgroups, hostnet, images, nodens, processes
from raykube.local.api import LocalApi
from raykube.local.binaries import binary, cache_dir
from raykube.local.components import CLUSTER_DOMAIN, SERVICE_CIDR, Layout, etcd_data_dir
from raykube.local.kubeconfig import write_kubeconfig
from raykube.local.pki import CertificateAuthority
from raykube.local.processes import ComponentFailedError, ProcessRecord

NODE_NAME = "raykube-node"
NODE_IP = "10.244.0.1"
NODE_POD_CIDR = "10.244.0.0/24"
CLUSTER_CIDR = "10.244.0.0/16"
DNS_IP = "10.96.0.10"
CNI_BIN_DIR = Path("/usr/lib/cni")
MACHINE_RECORD = Path("/run/raykube/real-node.json")
# What `scripts/install-node-deps` installs, by the command we need from each package.
HOST_COMMANDS = {
    "containerd": "containerd", "ctr": "containerd", "runc": "runc", "conntrack": "conntrack",
    "iptables": "iptables", "ip6tables": "iptables", "ip": "iproute2", "nsenter": "util-linux",
    "unshare": "util-linux", "mount": "mount",
}
CNI_PLUGINS = ("bridge", "host-local", "loopback", "portmap")

Launch = Callable[..., ProcessRecord]
Wait = Callable[..., None]
Progress = Callable[[str], None]


class RealNodeError(RuntimeError):
    """The real node cannot start here (missing packages, another real cluster running, ...)."""


def missing_host_dependencies() -> list[str]:
    """Debian packages whose commands or files the real node needs and this machine lacks."""
    missing = {pkg for cmd, pkg in HOST_COMMANDS.items() if shutil.which(cmd) is None}
    if not all((CNI_BIN_DIR / p).exists() for p in CNI_PLUGINS):
        missing.add("containernetworking-plugins")
    return sorted(missing)


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
    def containerd_socket(self) -> Path:
        return self.path / "containerd.sock"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def containerd_root() -> Path:
    """containerd's image and snapshot store, shared by every real-node cluster of this machine (in turn)."""
    return cache_dir() / "containerd"


# -- configuration files (pure) -----------------------------------------------------------------------


def containerd_config(plan: NodePlan) -> str:
    """containerd 1.6 config: CRI with our pause image, cgroupfs, overlayfs, CNI from Debian's plugins.

    `restrict_oom_score_adj`: root on our VMs lacks CAP_SYS_RESOURCE, so no process may lower its
    oom_score_adj; without this every sandbox fails to start.
    """
    d = plan.path
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""\
version = 2
root = "{containerd_root()}"
state = "{d / 'containerd-state'}"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "{plan.containerd_socket}"

[ttrpc]
  address = "{d / 'containerd-ttrpc.sock'}"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{d / 'containerd-opt'}"

[{cri}]
  sandbox_image = "{images.pause_image()}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  max_container_log_line_size = 16384

  [{cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [{cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{d / 'runc'}"

  [{cri}.cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{d / 'cni'}"
    max_conf_num = 1

  [{cri}.registry.mirrors."docker.io"]
    endpoint = ["http://127.0.0.1:9"]
"""


def cni_config(plan: NodePlan) -> dict[str, Any]:
    """Bridge + host-local IPAM (routes to pod and service ranges, no default route) + portmap."""
    return {
        "cniVersion": "1.0.0",
        "name": "raykube",
        "plugins": [
            {
                "type": "bridge",
                "bridge": plan.bridge,
                # Not a gateway for the plugin: the bridge's address is ours (`hostnet.create_bridge`), and
                # with isGateway the plugin switches on forwarding machine-wide (net.ipv4.ip_forward=1),
                # which outlives a crashed node. The pods' routes still go via the range's gateway.
                "isGateway": False,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(plan.path / "cni-ipam"),
                    "ranges": [[{"subnet": NODE_POD_CIDR, "gateway": NODE_IP}]],
                    "routes": [{"dst": CLUSTER_CIDR}, {"dst": SERVICE_CIDR}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def kubelet_config(plan: NodePlan, pki: Path) -> dict[str, Any]:
    d = plan.path
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": plan.kubelet_port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": plan.kubelet_healthz_port,
        "tlsCertFile": str(pki / "kubelet-server.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet-server.key"),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{plan.containerd_socket}",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/{plan.cgroup}",
        "cgroupsPerQOS": True,
        # No CAP_SYS_RESOURCE: the kubelet may not give itself a negative oom_score_adj.
        "oomScoreAdj": 0,
        "failSwapOn": False,
        "failCgroupV1": False,
        "makeIPTablesUtilChains": False,
        "clusterDomain": CLUSTER_DOMAIN,
        "clusterDNS": [DNS_IP],
        "resolvConf": str(d / "resolv.conf"),
        "podCIDR": NODE_POD_CIDR,
        "maxPods": 110,
        "serializeImagePulls": False,
        # Images are never pulled here, so image GC would only delete what `raykube local image build` made.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%",
                         "nodefs.inodesFree": "1%"},
        "syncFrequency": "10s",
        "nodeStatusUpdateFrequency": "10s",
        "shutdownGracePeriod": "0s",
        "staticPodPath": "",
        "registerNode": True,
        "logging": {"format": "text"},
    }


def kube_proxy_config(plan: NodePlan) -> dict[str, Any]:
    """iptables mode; leaves the machine's conntrack sysctls and route_localnet alone."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(plan.path / "kube-proxy.kubeconfig")},
        "mode": "iptables",
        "hostnameOverride": NODE_NAME,
        "bindAddress": NODE_IP,
        "clusterCIDR": CLUSTER_CIDR,
        "healthzBindAddress": f"127.0.0.1:{plan.proxy_healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{plan.proxy_metrics_port}",
        "nodePortAddresses": [f"{NODE_IP}/32"],
        "iptables": {"localhostNodePorts": False, "masqueradeAll": False, "syncPeriod": "30s",
                     "minSyncPeriod": "1s"},
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }


def corefile(plan: NodePlan) -> str:
    """CoreDNS: cluster.local and reverse zones from the API server; every other name is NXDOMAIN.

    There is no `forward`: pods have no route off the machine, so there is nothing to forward to, and an
    immediate NXDOMAIN keeps resolvers from waiting on names that cannot exist here.
    """
    zones = f"{CLUSTER_DOMAIN} in-addr.arpa ip6.arpa"
    return f"""\
{zones.replace(' ', ':53 ')}:53 {{
    bind {NODE_IP}
    errors
    health 127.0.0.1:{plan.dns_health_port}
    ready 127.0.0.1:{plan.dns_ready_port}
    kubernetes {zones} {{
        kubeconfig {plan.path / 'coredns.kubeconfig'} raykube-local
        pods insecure
        ttl 5
    }}
    cache 5
    loadbalance
}}

.:53 {{
    bind {NODE_IP}
    errors
    template ANY ANY {{
        rcode NXDOMAIN
    }}
}}
"""


def cluster_objects() -> list[tuple[str, dict[str, Any]]]:
    """(collection path, object) of what the node needs in the API: RBAC, the kube-dns Service and endpoints."""
    return [
        ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "raykube:kube-proxy"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:node-proxier"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:kube-proxy"}],
        }),
        ("/apis/rbac.authorization.k8s.io/v1/clusterroles", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:coredns"},
            "rules": [
                {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"],
                 "verbs": ["list", "watch"]},
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
            ],
        }),
        ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "system:coredns"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:coredns"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:coredns"}],
        }),
        ("/api/v1/namespaces/kube-system/services", {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": "kube-system",
                         "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}},
            "spec": {"clusterIP": DNS_IP, "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            ]},
        }),
        ("/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices", {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "kube-dns-node", "namespace": "kube-system",
                         "labels": {"kubernetes.io/service-name": "kube-dns",
                                    "endpointslice.kubernetes.io/managed-by": "raykube-local"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [NODE_IP], "conditions": {"ready": True}, "nodeName": NODE_NAME}],
            "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                      {"name": "dns-tcp", "port": 53, "protocol": "TCP"}],
        }),
    ]


# -- the machine's one real-node slot -----------------------------------------------------------------
#
# `/run/raykube/real-node.json` names the state directory of the cluster holding the slot, its NodePlan and
# every process it started (pid + start time), kept current as they start. It outlives the state directory:
# when that is deleted under a running cluster (a test run killed before its clean-up, whose temporary
# directory was then removed), the next `up` still finds the processes and stops them by their records.

CLAIM_GRACE = 120.0  # seconds a fresh claim counts as live before its first process is recorded
STOP_GRACE = 300.0  # seconds a cluster in `down` counts as live (its processes are gone before its rules)


def _read_machine() -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(MACHINE_RECORD.read_text())
        return data
    except (OSError, ValueError):
        return {}


def _write_machine(data: dict[str, Any]) -> None:
    MACHINE_RECORD.parent.mkdir(parents=True, exist_ok=True)
    tmp = MACHINE_RECORD.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(MACHINE_RECORD)


@contextlib.contextmanager
def _machine_lock() -> Iterator[None]:
    MACHINE_RECORD.parent.mkdir(parents=True, exist_ok=True)
    with open(MACHINE_RECORD.with_suffix(".lock"), "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        yield


def _records(data: dict[str, Any]) -> list[ProcessRecord]:
    return [ProcessRecord.from_json(p) for p in data.get("processes", [])]


def _live(data: dict[str, Any]) -> bool:
    """The recorded cluster still runs, is being stopped, or has just claimed the slot."""
    if time.time() - float(data.get("stopping") or 0) < STOP_GRACE:
        return True  # `down` is undoing its host changes: not ours to reap yet
    if any(processes.is_alive(r) for r in _records(data)):
        return Path(data["state_dir"], "state.json").exists()
    return not data.get("processes") and time.time() - float(data.get("claimed", 0)) < CLAIM_GRACE


# The plain-text slot file of earlier raykube versions: honoured so that runs of both never overlap.
_LEGACY_SLOT = MACHINE_RECORD.with_suffix("")


def _legacy_owner() -> Path | None:
    try:
        owner = Path(_LEGACY_SLOT.read_text().strip())
        state = json.loads((owner / "state.json").read_text())
    except (OSError, ValueError):
        return None
    alive = any(processes.is_alive(ProcessRecord.from_json(p)) for p in state.get("processes", []))
    return owner if alive else None


def lock_owner() -> Path | None:
    """The state directory of the real-node cluster running on this machine, if there is one."""
    data = _read_machine()
    return Path(data["state_dir"]) if data and _live(data) else _legacy_owner()


machine_owner = lock_owner


def acquire_machine(state_dir: Path, *, wait: float = 0.0, progress: Progress = lambda _: None) -> None:
    """Claim the machine's real-node slot for `state_dir`, waiting up to `wait` seconds for a running one.

    A cluster that was abandoned (its state directory is gone, or it is dead but left host changes) is
    stopped and cleaned up from the machine record first. RealNodeError if a live cluster keeps the slot.
    """
    deadline = time.monotonic() + wait
    while True:
        with _machine_lock():
            data = _read_machine()
            owner = Path(data["state_dir"]) if data else _legacy_owner()
            if owner is None or owner == state_dir or (data and not _live(data)):
                if data and owner != state_dir:
                    _reap(data, progress)
                _write_machine({"state_dir": str(state_dir), "claimed": time.time(), "node": None, "processes": []})
                return
        if time.monotonic() > deadline:
            raise RealNodeError(
                f"a real-node cluster is already running on this machine (state dir {owner}); only one can: "
                f"stop it with `raykube local down --state-dir {owner}`"
            )
        time.sleep(2)


def reap_abandoned(progress: Progress = lambda _: None) -> Path | None:
    """Clean up after a real-node cluster that died without `down` (a crash, a killed session).

    Its processes are stopped and its host changes undone from the machine record; returns its state
    directory, or None when there was nothing to reap (no record, or a cluster that is alive). `up` does
    the same before it claims the machine; a test calls this first so that its "before" is the clean machine.
    """
    with _machine_lock():
        data = _read_machine()
        if not data or _live(data):
            return None
        _reap(data, progress)
        MACHINE_RECORD.unlink(missing_ok=True)
        return Path(data["state_dir"])


def record_on_machine(state_dir: Path, node: dict[str, Any] | None, records: list[dict[str, Any]]) -> None:
    """Keep the machine record current: the plan and every process started so far."""
    with _machine_lock():
        data = _read_machine()
        if data.get("state_dir") == str(state_dir):
            data.update(node=node, processes=records)
            _write_machine(data)


def mark_stopping(state_dir: Path) -> None:
    """`down` has begun: the slot stays taken until `release_machine`, even once no process is left."""
    with _machine_lock():
        data = _read_machine()
        if data.get("state_dir") == str(state_dir):
            data["stopping"] = time.time()
            _write_machine(data)


def release_machine(state_dir: Path) -> None:
    with _machine_lock():
        if _read_machine().get("state_dir") == str(state_dir):
            MACHINE_RECORD.unlink(missing_ok=True)


def _reap(data: dict[str, Any], progress: Progress) -> None:
    """Stop an abandoned cluster from its machine record: node, control plane, host changes."""
    records = _records(data)
    alive = [r.name for r in records if processes.is_alive(r)]
    if alive:
        progress(f"stopping an abandoned real-node cluster ({data['state_dir']}): {', '.join(alive)}")
    plan = NodePlan(**data["node"]) if data.get("node") else None
    errors: list[str] = []
    if plan is not None:
        stop(plan, records, progress, errors)
    for record in reversed(records):
        _attempt(errors, f"stopping {record.name}", lambda r=record: processes.stop(r))  # type: ignore[misc]
    if plan is not None:
        undo_host(plan, progress, errors)
    shutil.rmtree(etcd_data_dir(Path(data["state_dir"])), ignore_errors=True)  # its tmpfs memory
    if errors:
        raise RealNodeError("could not clean up an abandoned real-node cluster:\n" + "\n".join(errors))


# -- start --------------------------------------------------------------------------------------------


def issue_node_pki(ca: CertificateAuthority, layout: Layout, plan: NodePlan) -> None:
    """Node certificates from the cluster CA and the node daemons' kubeconfigs."""
    kubelet = ca.issue("kubelet-client", common_name=f"system:node:{NODE_NAME}", organizations=("system:nodes",),
                       client=True)
    ca.issue("kubelet-server", common_name=NODE_NAME, dns_names=(NODE_NAME, "localhost"),
             ip_addresses=(NODE_IP, "127.0.0.1"), server=True)
    proxy = ca.issue("kube-proxy", common_name="system:kube-proxy", client=True)
    dns = ca.issue("coredns", common_name="system:coredns", client=True)
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
    images.ctr(plan.containerd_socket, "version", timeout=5)
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
    for container in images.ctr(socket, "containers", "ls", "-q").stdout.split():
        with contextlib.suppress(subprocess.CalledProcessError):
            images.ctr(socket, "tasks", "delete", "--force", container, timeout=60)
        with contextlib.suppress(subprocess.CalledProcessError):
            images.ctr(socket, "containers", "delete", container, timeout=60)
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

    store = images.ImageStore()
    images.ensure_pause(store)
    imported = images.import_missing(plan.containerd_socket, store.images(), progress)
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
        f"--pod-infra-container-image={images.pause_image()}",
        "--v=1",
    ], cgroup=procs)
    wait(kubelet, lambda: _node_ready(api.get(f"/api/v1/nodes/{NODE_NAME}")), what="Node Ready")
    check_tunables(plan)

    proxy = launch("kube-proxy", [binary("kube-proxy"), f"--config={plan.path / 'kube-proxy.yaml'}", "--v=1"],
                   cgroup=procs)
    wait(proxy, lambda: _http_ok(f"http://127.0.0.1:{plan.proxy_healthz_port}/healthz"))

    dns = launch("coredns", [binary("coredns"), "-conf", plan.path / "Corefile"], cgroup=procs)
    wait(dns, lambda: _http_ok(f"http://127.0.0.1:{plan.dns_ready_port}/ready"))


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


def _attempt(errors: list[str], what: str, action: Callable[[], object]) -> None:
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
        _attempt(errors, f"stopping {name}", lambda n=name: stop_daemon(n))  # type: ignore[misc]

    # Pods first (containers and pause processes), then their containerd records, then containerd.
    def kill_pods() -> None:
        pods = cgroups.NodeCgroup(f"{plan.cgroup}/kubepods")
        if pods.exists() and (killed := pods.kill_all()):
            progress(f"killed {killed} pod processes")

    def remove_containers() -> None:
        containerd = by_name.get("containerd")
        if containerd is not None and processes.is_alive(containerd):
            progress(f"removed {remove_all_containers(plan.containerd_socket)} containers from containerd")

    _attempt(errors, "killing the pods", kill_pods)
    _attempt(errors, "removing containers from containerd", remove_containers)
    _attempt(errors, "stopping containerd", lambda: stop_daemon("containerd"))
    _attempt(errors, "stopping the node namespace", lambda: stop_daemon("node-namespace"))
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

    _attempt(errors, "removing the node's cgroups", sweep_cgroups)
    _attempt(errors, "removing iptables rules", rules)
    _attempt(errors, "deleting the bridge", bridge)
    _attempt(errors, "restoring net.ipv4.ip_forward", forwarding)
