"""`raykube local`: a throwaway Kubernetes control plane on loopback, with fake (kwok) nodes or one real node.

One directory holds all of a cluster's state: PKI, kubeconfigs, logs, kwok's config and `state.json`,
which records every process we started (pid + start time) and the ports chosen. etcd keeps its data on
tmpfs. `up` is idempotent (a healthy cluster is left as it is; a half-dead one is torn down and started
again); `down` stops every recorded process by pid and removes the tmpfs data. If a component does not
become healthy, `up` stops what it started and raises ComponentFailedError naming the component and
quoting the tail of its log.

Start order: etcd → kube-apiserver → (kube-controller-manager, kube-scheduler) → kwok → Nodes; with
`--nodes real` the node's host side (bridge, cgroups) comes first, because the API server listens on the
bridge address for pods, and the node's daemons last (`raykube.local.nodes.real`).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from raykube.local import processes
from raykube.local.controlplane import components
from raykube.local.controlplane.api import LocalApi, http_healthy, https_healthy
from raykube.local.controlplane.components import CLUSTER_DOMAIN, SERVICE_IP, Layout, etcd_data_dir
from raykube.local.controlplane.kubeconfig import write_kubeconfig
from raykube.local.controlplane.pki import CertificateAuthority, service_account_keys
from raykube.local.nodes import fake
from raykube.local.nodes.real import lifecycle, machine
from raykube.local.nodes.real.plan import NODE_IP, NODE_NAME, NodePlan
from raykube.local.ports import free_ports
from raykube.local.processes import ComponentFailedError, ProcessRecord

NodeMode = Literal["fake", "real"]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ClusterConfig:
    """What `raykube local up` was asked for."""

    state_dir: Path
    nodes: NodeMode = "fake"
    fake_nodes: int = 2
    node_cpu: str = "32"
    node_memory: str = "128Gi"
    node_pods: int = 250
    timeout: float = 90.0
    # --nodes real: how long to wait while another real-node cluster holds this machine (0: fail at once).
    machine_wait: float = 0.0
    # Extra kube-apiserver flags (tests only: the chaos suite compacts etcd every few seconds).
    apiserver_args: tuple[str, ...] = ()
    # The scheduler's and controller-manager's API client limit (0: their defaults); benchmarks raise it so
    # that the operators, not the scheduler's 50 binds per second, are what is measured.
    control_plane_qps: int = 0
    # How many pods kwok moves through a stage at a time (0: kwok's default, 4): one kwok plays every fake
    # node's kubelet, so benchmarks raise it to let bound pods become Running side by side as on real nodes.
    fake_node_workers: int = 0


@dataclass
class ClusterState:
    """The contents of `state.json`."""

    layout: dict[str, Any]
    nodes: str
    processes: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    node: dict[str, Any] | None = None  # the real node's NodePlan (names, ports, host values to restore)


def default_state_dir() -> Path:
    return Path.home() / ".raykube" / "local"


class LocalCluster:
    """Bring a local cluster up and down; see the module docstring."""

    def __init__(self, config: ClusterConfig) -> None:
        if config.nodes not in ("fake", "real"):
            raise ValueError(f"unknown node mode {config.nodes!r}: use 'fake' or 'real'")
        self.config = config
        self.state_dir = config.state_dir.resolve()
        self._state_file = self.state_dir / "state.json"

    # -- queries -------------------------------------------------------------------------------

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig (user in group system:masters)."""
        return self.state_dir / "admin.kubeconfig"

    def load_state(self) -> ClusterState | None:
        try:
            return ClusterState(**json.loads(self._state_file.read_text()))
        except FileNotFoundError:
            return None

    def records(self) -> list[ProcessRecord]:
        state = self.load_state()
        return [ProcessRecord.from_json(p) for p in state.processes] if state else []

    def layout(self) -> Layout | None:
        state = self.load_state()
        if state is None:
            return None
        data = dict(state.layout)
        data["state_dir"] = Path(data["state_dir"])
        data["etcd_data"] = Path(data["etcd_data"])
        return Layout(**data)

    def node_plan(self) -> NodePlan | None:
        """The real node's plan, if this cluster has (or had) one."""
        state = self.load_state()
        return NodePlan(**state.node) if state is not None and state.node else None

    def is_up(self) -> bool:
        """Every recorded process alive and the API server ready."""
        records, layout = self.records(), self.layout()
        if not records or layout is None or not all(processes.is_alive(r) for r in records):
            return False
        try:
            with self._api(layout) as api:
                return api.healthy()
        except Exception:
            return False

    # -- up ------------------------------------------------------------------------------------

    def up(self, progress: Progress = lambda _: None) -> ClusterState:
        """Start the cluster (or keep the running one); return its state with per-phase timings."""
        if self.is_up():
            state = self.load_state()
            assert state is not None
            if state.nodes != self.config.nodes:
                raise ValueError(f"a cluster with --nodes {state.nodes} is running in {self.state_dir}: "
                                 "stop it first (raykube local down) or use another --state-dir")
            progress("already up")
            return state
        if self._state_file.exists():
            progress("found a stale cluster: stopping it first")
            self.down()
        started = time.monotonic()
        real = self.config.nodes == "real"
        if real:
            machine.acquire_machine(self.state_dir, wait=self.config.machine_wait, progress=progress)
        plan = None
        try:
            layout, plan = self._prepare(progress)
            state = ClusterState(layout={k: str(v) for k, v in asdict(layout).items()}, nodes=self.config.nodes)
            state.layout.update({k: int(v) for k, v in asdict(layout).items() if isinstance(v, int)})
            if plan is not None:
                state.node = plan.to_json()
                self._save(state)  # before the host changes, so that `down` can undo a half-made node
                t0 = time.monotonic()
                lifecycle.prepare_host(plan, progress)
                state.node = plan.to_json()  # now with the host values to restore
                self._save(state)
                state.timings["node_host"] = round(time.monotonic() - t0, 2)
            self._write_pki(layout, plan)
            self._start_control_plane(layout, state, progress)
            state.timings["api_ready"] = round(time.monotonic() - started, 2)
            if plan is not None:
                self._start_real_node(layout, plan, state, progress)
            else:
                self._start_fake_nodes(layout, state, progress)
        except BaseException:
            progress("start-up failed: stopping what was started")
            self.down()  # releases the machine when it had a node plan; raises (keeping the record) if it fails
            if real:
                machine.release_machine(self.state_dir)
            raise
        state.timings["total"] = round(time.monotonic() - started, 2)
        self._save(state)
        return state

    def _prepare(self, progress: Progress) -> tuple[Layout, NodePlan | None]:
        t0 = time.monotonic()
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir)
        real = self.config.nodes == "real"
        ports = free_ports(6 + (NodePlan.PORTS if real else 0))
        plan = NodePlan.for_state_dir(self.state_dir, ports[6:]) if real else None
        layout = Layout(
            state_dir=self.state_dir,
            etcd_data=etcd_data_dir(self.state_dir),
            etcd_port=ports[0],
            etcd_peer_port=ports[1],
            apiserver_port=ports[2],
            controller_manager_port=ports[3],
            scheduler_port=ports[4],
            kwok_port=ports[5],
            api_host=NODE_IP if real else "127.0.0.1",
        )
        for d in (layout.pki, layout.logs):
            d.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(layout.etcd_data, ignore_errors=True)
        layout.etcd_data.mkdir(parents=True)
        progress(f"state directory prepared in {time.monotonic() - t0:.2f}s")
        return layout, plan

    @staticmethod
    def _write_pki(layout: Layout, plan: NodePlan | None) -> None:
        ca = CertificateAuthority(layout.pki)
        ca.issue(
            "apiserver",
            common_name="kube-apiserver",
            dns_names=(
                "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                f"kubernetes.default.svc.{CLUSTER_DOMAIN}",
            ),
            ip_addresses=tuple(dict.fromkeys(("127.0.0.1", SERVICE_IP, layout.api_host))),
            server=True,
        )
        ca.issue("apiserver-kubelet-client", common_name="kube-apiserver-kubelet-client",
                 organizations=("system:masters",), client=True)
        service_account_keys(layout.pki)
        users = {
            "admin": ("raykube-admin", ("system:masters",)),
            "controller-manager": ("system:kube-controller-manager", ()),
            "scheduler": ("system:kube-scheduler", ()),
            "kwok": ("kwok-controller", ("system:masters",)),
        }
        for user, (cn, orgs) in users.items():
            pair = ca.issue(user, common_name=cn, organizations=orgs, client=True)
            write_kubeconfig(layout.kubeconfig(user), server=layout.server, ca=ca.pair.cert, user=user, client=pair)
        if plan is not None:
            lifecycle.issue_node_pki(ca, layout, plan)

    def _launch(self, state: ClusterState, layout: Layout, name: str, argv: list[str | Path],
                **options: Any) -> ProcessRecord:
        record = processes.start(name, argv, log_dir=layout.logs, **options)
        state.processes.append(record.to_json())
        self._save(state)  # saved at once, so `down` finds the process even if start-up fails later
        if state.nodes == "real":  # and in the machine record, which outlives the state directory
            machine.record_on_machine(self.state_dir, state.node, state.processes)
        return record

    def _wait(self, state: ClusterState, record: ProcessRecord, check: Callable[[], bool],
              progress: Progress, *, what: str = "healthy") -> None:
        took = processes.wait_until(record, check, timeout=self.config.timeout, what=what)
        label = record.name if what == "healthy" else f"{record.name}: {what}"
        state.timings[label] = round(took, 2)
        progress(f"{label} in {took:.2f}s" if what != "healthy" else f"{label} healthy in {took:.2f}s")

    def _start_control_plane(self, layout: Layout, state: ClusterState, progress: Progress) -> None:
        etcd = self._launch(state, layout, "etcd", components.etcd(layout))
        self._wait(state, etcd, lambda: http_healthy(f"http://127.0.0.1:{layout.etcd_port}/health"), progress)

        layout.audit_policy.write_text(components.AUDIT_POLICY)
        argv = components.apiserver(layout, self.config.apiserver_args)
        apiserver = self._launch(state, layout, "kube-apiserver", argv)
        with self._api(layout) as api:
            self._wait(state, apiserver, api.healthy, progress)

        qps = self.config.control_plane_qps
        kcm = self._launch(state, layout, "kube-controller-manager", components.controller_manager(layout, qps))
        sched = self._launch(state, layout, "kube-scheduler", components.scheduler(layout, qps))
        self._wait(state, kcm, lambda: https_healthy(layout.controller_manager_port), progress)
        self._wait(state, sched, lambda: https_healthy(layout.scheduler_port), progress)
        with self._api(layout) as api:
            # Pods are rejected until the default ServiceAccount exists; wait so the cluster is usable.
            self._wait(state, kcm, lambda: api.get("/api/v1/namespaces/default/serviceaccounts/default")
                       is not None, progress, what="default service account created")

    def _start_fake_nodes(self, layout: Layout, state: ClusterState, progress: Progress) -> None:
        config = layout.state_dir / "kwok.yaml"
        config.write_text(fake.kwok_config(self.config.fake_node_workers))
        kwok = self._launch(state, layout, "kwok", components.kwok(layout, config))
        names = [f"raykube-fake-{i}" for i in range(self.config.fake_nodes)]
        with self._api(layout) as api:
            for name in names:
                api.create("/api/v1/nodes", fake.node_manifest(
                    name, cpu=self.config.node_cpu, memory=self.config.node_memory, pods=self.config.node_pods))

            def all_ready() -> bool:
                return all(_node_ready(api.get(f"/api/v1/nodes/{n}")) for n in names)

            took = processes.wait_until(kwok, all_ready, timeout=self.config.timeout, what="ready with its nodes")
        state.timings["nodes_ready"] = round(took, 2)
        progress(f"{len(names)} fake nodes Ready in {took:.2f}s")

    def _start_real_node(self, layout: Layout, plan: NodePlan, state: ClusterState,
                         progress: Progress) -> None:
        t0 = time.monotonic()

        def launch(name: str, argv: list[str | Path], **options: Any) -> ProcessRecord:
            return self._launch(state, layout, name, argv, **options)

        def wait(record: ProcessRecord, check: Callable[[], bool], *, what: str = "healthy") -> None:
            self._wait(state, record, check, progress, what=what)

        with self._api(layout) as api:
            lifecycle.start(plan, layout, api, launch, wait, progress)
        state.timings["node_ready"] = round(time.monotonic() - t0, 2)
        progress(f"real node {NODE_NAME} up in {time.monotonic() - t0:.2f}s")

    def _api(self, layout: Layout) -> LocalApi:
        pki = layout.pki
        return LocalApi(layout.server, ca=pki / "ca.crt", cert=pki / "admin.crt", key=pki / "admin.key")

    def _save(self, state: ClusterState) -> None:
        self._state_file.write_text(json.dumps(asdict(state), indent=2))

    # -- down ----------------------------------------------------------------------------------

    def down(self, progress: Progress = lambda _: None) -> list[str]:
        """Stop every recorded process (last started first) and remove etcd's tmpfs data.

        Returns the names of the processes that were stopped. The state directory is kept (logs stay
        readable after a failure) except for `state.json`. With a real node every step is tried even
        when an earlier one fails; then ComponentFailedError lists what failed and `state.json` stays,
        so that `down` can be run again.
        """
        stopped: list[str] = []
        errors: list[str] = []
        plan = self.node_plan()
        if plan is not None:
            machine.mark_stopping(self.state_dir)
            stopped += lifecycle.stop(plan, self.records(), progress, errors)
        for record in reversed(self.records()):
            try:
                if processes.is_alive(record):
                    processes.stop(record)
                    stopped.append(record.name)
                    progress(f"stopped {record.name} (pid {record.pid})")
            except ComponentFailedError as err:
                errors.append(str(err))
        if plan is not None:
            lifecycle.undo_host(plan, progress, errors)
        if errors:
            raise ComponentFailedError("raykube local down could not finish:\n" + "\n".join(errors))
        layout = self.layout()
        if layout is not None:
            shutil.rmtree(layout.etcd_data, ignore_errors=True)
        self._state_file.unlink(missing_ok=True)
        if plan is not None:
            machine.release_machine(self.state_dir)
        return stopped


def _node_ready(node: dict[str, Any] | None) -> bool:
    if node is None:
        return False
    conditions = node.get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
