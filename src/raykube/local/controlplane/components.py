"""Command lines of the control-plane components: pure functions from the cluster layout to argv.

Kept apart from the process handling so the flags can be read (and tested) in one place. Flag choices
follow what a kubeadm cluster runs, minus what a loopback-only, single-machine cluster does not need.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from raykube.local.binaries import binary

SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"  # the `kubernetes` Service's ClusterIP: first address of SERVICE_CIDR
CLUSTER_DOMAIN = "cluster.local"


@dataclass(frozen=True)
class Layout:
    """Where everything of one local cluster lives, and on which ports it listens."""

    state_dir: Path
    etcd_data: Path
    etcd_port: int
    etcd_peer_port: int
    apiserver_port: int
    controller_manager_port: int
    scheduler_port: int
    kwok_port: int
    # Where the API server listens: loopback, or the real node's bridge address so that pods reach it too.
    api_host: str = "127.0.0.1"

    @property
    def pki(self) -> Path:
        return self.state_dir / "pki"

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    @property
    def server(self) -> str:
        return f"https://{self.api_host}:{self.apiserver_port}"

    def kubeconfig(self, user: str) -> Path:
        return self.state_dir / f"{user}.kubeconfig"

    @property
    def audit_policy(self) -> Path:
        return self.state_dir / "audit-policy.yaml"

    @property
    def audit_log(self) -> Path:
        """One JSON line per request a ServiceAccount outside kube-system made (see :data:`AUDIT_POLICY`)."""
        return self.logs / "audit.log"


#: What the API server's audit log records: the requests of ServiceAccounts (an operator run as its chart's
#: account, the autoscaler), at Metadata level (who, verb, resource, answer; no bodies). The control plane's
#: own controllers (kube-system accounts) and certificate users (kubectl, kwok) are left out, so the log stays
#: small. It shows what an operator really asks of the API: the chart's RBAC is checked against it.
AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  userGroups: ["system:serviceaccounts:kube-system"]
- level: Metadata
  userGroups: ["system:serviceaccounts"]
- level: None
"""


def etcd_data_dir(state_dir: Path) -> Path:
    """etcd's data dir on tmpfs, unique per state dir so that several clusters can coexist."""
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:12]
    return Path("/dev/shm") / f"raykube-etcd-{digest}"


def etcd(layout: Layout) -> list[str | Path]:
    client = f"http://127.0.0.1:{layout.etcd_port}"
    peer = f"http://127.0.0.1:{layout.etcd_peer_port}"
    return [
        binary("etcd"),
        "--name=raykube",
        f"--data-dir={layout.etcd_data}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=raykube={peer}",
        "--listen-metrics-urls=",
        # The data lives on tmpfs and dies with the cluster: fsync buys nothing and costs latency.
        "--unsafe-no-fsync",
        "--quota-backend-bytes=4294967296",
        "--log-level=warn",
    ]


def apiserver(layout: Layout, extra: tuple[str, ...] = ()) -> list[str | Path]:
    """``extra`` flags go last (a later flag wins): e.g. the chaos suite's short etcd compaction interval."""
    pki = layout.pki
    return [
        binary("kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{layout.etcd_port}",
        f"--bind-address={layout.api_host}",
        *([f"--advertise-address={layout.api_host}"] if layout.api_host != "127.0.0.1" else []),
        f"--secure-port={layout.apiserver_port}",
        f"--tls-cert-file={pki / 'apiserver.crt'}",
        f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
        f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
        # Reach kubelets (logs, exec) by address: resolving node names would query the machine's resolver.
        "--kubelet-preferred-address-types=InternalIP,Hostname",
        f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=Node,RBAC",
        "--allow-privileged=true",
        "--enable-admission-plugins=NodeRestriction",
        "--profiling=false",
        "--event-ttl=2h",
        f"--audit-policy-file={layout.audit_policy}",
        f"--audit-log-path={layout.audit_log}",
        "--audit-log-format=json",
        "--audit-log-maxsize=100",
        "--audit-log-maxbackup=1",
        # A benchmark creates hundreds of pods in seconds; the defaults (400/200) would throttle it.
        "--max-requests-inflight=1600",
        "--max-mutating-requests-inflight=800",
        "--v=1",
        *extra,
    ]


#: The controller-manager's client limits unless `raykube local up --control-plane-qps` says otherwise (its
#: garbage collector and namespace controller delete whole test namespaces; the defaults, 20/30, lag).
CONTROLLER_MANAGER_QPS: Final = 200


def _client_limits(qps: int) -> list[str | Path]:
    """A component's API client limits: ``qps`` requests per second, bursts of twice that."""
    return [f"--kube-api-qps={qps}", f"--kube-api-burst={2 * qps}"]


def _component_common(layout: Layout, user: str, port: int) -> list[str | Path]:
    kubeconfig = layout.kubeconfig(user)
    return [
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        "--leader-elect=false",
        "--v=1",
    ]


def controller_manager(layout: Layout, qps: int = 0) -> list[str | Path]:
    """``qps``: the client limit (0: `CONTROLLER_MANAGER_QPS`)."""
    pki = layout.pki
    return [
        binary("kube-controller-manager"),
        *_component_common(layout, "controller-manager", layout.controller_manager_port),
        *_client_limits(qps or CONTROLLER_MANAGER_QPS),
        f"--service-account-private-key-file={pki / 'sa.key'}",
        f"--root-ca-file={pki / 'ca.crt'}",
        f"--cluster-signing-cert-file={pki / 'ca.crt'}",
        f"--cluster-signing-key-file={pki / 'ca.key'}",
        "--use-service-account-credentials=true",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--concurrent-gc-syncs=40",
        "--concurrent-namespace-syncs=20",
    ]


def scheduler(layout: Layout, qps: int = 0) -> list[str | Path]:
    """``qps``: the client limit (0: the scheduler's own default, 50 per second, bursts of 100, as in a
    real cluster: it caps how fast pods are bound, for every operator alike)."""
    return [
        binary("kube-scheduler"),
        *_component_common(layout, "scheduler", layout.scheduler_port),
        *(_client_limits(qps) if qps else []),
    ]


def kwok(layout: Layout, config: Path) -> list[str | Path]:
    return [
        binary("kwok"),
        f"--config={config}",
        f"--kubeconfig={layout.kubeconfig('kwok')}",
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
        "--cidr=10.244.0.0/16",
        "--node-ip=10.243.0.1",
        f"--server-address=127.0.0.1:{layout.kwok_port}",
        "--node-lease-duration-seconds=40",
    ]
