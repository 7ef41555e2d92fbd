"""What every scenario shares: the workload, the two operators and their settings, the measures.

The measures come from the operators themselves and from /proc: `rest_client_requests_total` (by method and
code; client-go and raykube both expose it), `controller_runtime_reconcile_*`, CPU seconds from
`/proc/<pid>/stat`, RSS from `/proc/<pid>/status`. Times are taken by the benchmark from watches (never by
polling lists, which would load the API server being measured).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from raykube.controllers.kinds import POD, RAYCLUSTER, SERVICE_ACCOUNT
from raykube.local.binaries import binary
from raykube.local.cluster import LocalCluster
from raykube.operator.process import OperatorProcess
from raykube.runtime.client import KubeClient
from raykube.runtime.kinds import NAMESPACE, ResourceKind

OperatorName = Literal["raykube", "kuberay"]
OPERATORS: tuple[OperatorName, ...] = ("raykube", "kuberay")
LABELS: Mapping[str, str] = {"raykube": "raykube", "kuberay": "KubeRay"}

CONTAINER = {
    "name": "ray",
    "image": "rayproject/ray:2.46.0",
    "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}},
}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def raycluster(name: str, workers: int, *, max_workers: int | None = None) -> dict[str, Any]:
    """A RayCluster of 1 head and ``workers`` workers in one group (``maxReplicas`` ``max_workers``)."""
    template = {"spec": {"containers": [CONTAINER]}}
    group = {
        "groupName": "workers",
        "replicas": workers,
        "minReplicas": 0,
        "maxReplicas": max(workers, max_workers or 0),
        "rayStartParams": {},
        "template": template,
    }
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": name},
        "spec": {"rayVersion": "2.46.0", "headGroupSpec": {"rayStartParams": {}, "template": template},
                 "workerGroupSpecs": [group]},
    }


# -- settings ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """How both operators run in one phase: the same client limits, and KubeRay's worker count."""

    name: str
    flags: tuple[str, ...] = ()  # both operators (the flag names are KubeRay's, which raykube shares)
    kuberay_flags: tuple[str, ...] = ()  # KubeRay only
    raykube_runs: bool = True  # "tuned" re-tunes only KubeRay; raykube's figure is the "raised" one


SETTINGS_NAMES = ("defaults", "raised", "tuned")


def settings(name: str, *, qps: float, burst: int) -> Settings:
    """``defaults``: each operator's own; ``raised``: both at ``qps``/``burst``; ``tuned``: KubeRay also at
    ``--reconcile-concurrency=16`` (raykube's default)."""
    raised = (f"--qps={qps:g}", f"--burst={burst}")
    if name == "defaults":
        return Settings(name)
    if name == "raised":
        return Settings(name, raised)
    if name == "tuned":
        return Settings(name, raised, ("--reconcile-concurrency=16",), raykube_runs=False)
    raise ValueError(f"unknown settings {name!r}: one of {', '.join(SETTINGS_NAMES)}")


def operator_flags(operator: OperatorName, chosen: Settings, *, namespace: str, leader_election: bool
                   ) -> tuple[str, ...]:
    """The command-line flags of ``operator`` in one phase: it watches only ``namespace``."""
    flags = [f"--watch-namespace={namespace}", *chosen.flags]
    if operator == "kuberay":
        flags += chosen.kuberay_flags
        if not leader_election:
            flags.append("--enable-leader-election=false")
    elif not leader_election:
        flags.append("--no-enable-leader-election")
    return tuple(flags)


# -- metrics ---------------------------------------------------------------------------------------------


def _value(line: str) -> float:
    return float(line.rsplit(" ", 1)[1])


def _label(line: str, name: str) -> str:
    return line.split(f'{name}="', 1)[1].split('"', 1)[0] if f'{name}="' in line else ""


@dataclass(frozen=True)
class Metrics:
    """One scrape of an operator's /metrics, reduced to what the benchmark reads."""

    requests: Mapping[str, float] = field(default_factory=dict)  # "METHOD CODE" -> count
    reconciles: float = 0.0
    reconcile_seconds: float = 0.0
    reconcile_errors: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Metrics:
        requests: dict[str, float] = {}
        reconciles = seconds = errors = 0.0
        for line in text.splitlines():
            if line.startswith("rest_client_requests_total{"):
                key = f"{_label(line, 'method')} {_label(line, 'code')}"
                requests[key] = requests.get(key, 0.0) + _value(line)
            elif line.startswith("controller_runtime_reconcile_time_seconds_count"):
                reconciles += _value(line)
            elif line.startswith("controller_runtime_reconcile_time_seconds_sum"):
                seconds += _value(line)
            elif line.startswith("controller_runtime_reconcile_errors_total{"):
                errors += _value(line)
        return cls(requests, reconciles, seconds, errors)

    def minus(self, before: Metrics) -> Metrics:
        keys = set(self.requests) | set(before.requests)
        return Metrics({k: self.requests.get(k, 0.0) - before.requests.get(k, 0.0) for k in sorted(keys)},
                       self.reconciles - before.reconciles, self.reconcile_seconds - before.reconcile_seconds,
                       self.reconcile_errors - before.reconcile_errors)

    def by_method(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for key, count in self.requests.items():
            method = key.split(" ", 1)[0]
            out[method] = out.get(method, 0.0) + count
        return out

    @property
    def total(self) -> float:
        return sum(self.requests.values())

    @property
    def writes(self) -> float:
        return sum(n for m, n in self.by_method().items() if m in WRITE_METHODS)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mib(pid: int, field_name: str = "VmRSS") -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of process ``pid``, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of ``values``; NaN when there are none."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": percentile(values, 0.5), "p99": percentile(values, 0.99),
            "max": max(values) if values else float("nan")}


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing or b is 0."""
    if a is None or b is None or b == 0 or math.isnan(a) or math.isnan(b):
        return None
    return a / b


# The local cluster's processes, by the name the cluster records them under, as the tables name them.
CLUSTER_PARTS = {"kube-apiserver": "API server", "etcd": "etcd", "kube-scheduler": "scheduler",
                 "kube-controller-manager": "controller-manager", "kwok": "fake nodes (kwok)"}


def cluster_cpu(cluster: LocalCluster) -> dict[str, float]:
    """CPU seconds so far of each local-cluster process (by :data:`CLUSTER_PARTS` name): what a phase cost the
    cluster itself, which the operator's own CPU does not show (the two cores are shared)."""
    used: dict[str, float] = dict.fromkeys(CLUSTER_PARTS.values(), 0.0)
    for record in cluster.records():
        part = CLUSTER_PARTS.get(record.name)
        if part is not None:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a process that has exited
                used[part] += cpu_seconds(record.pid)
    return used


def cpu_since(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Per part, CPU seconds between two :func:`cluster_cpu` readings, and their ``total``."""
    spent = {part: after.get(part, 0.0) - before.get(part, 0.0) for part in after}
    return {**spent, "total": sum(spent.values())}


# -- one operator process --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """An operator's counters at one moment."""

    at: float
    cpu: float
    metrics: Metrics


class Operator:
    """raykube or KubeRay as a child process watching one namespace."""

    def __init__(self, name: OperatorName, process: OperatorProcess) -> None:
        self.name = name
        self.process = process
        self.profiler: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        return self.process.proc.pid

    def usage(self) -> Usage:
        return Usage(time.monotonic(), cpu_seconds(self.pid), Metrics.parse(self.process.metrics()))

    def since(self, before: Usage) -> dict[str, Any]:
        """CPU, requests and reconciles since ``before`` (and the memory now)."""
        now = self.usage()
        delta = now.metrics.minus(before.metrics)
        return {
            "seconds": now.at - before.at,
            "cpu_seconds": now.cpu - before.cpu,
            "requests": delta.total,
            "writes": delta.writes,
            "requests_by_method": delta.by_method(),
            "requests_by_method_code": dict(delta.requests),
            "reconciles": delta.reconciles,
            "mean_reconcile_ms": 1000 * delta.reconcile_seconds / max(delta.reconciles, 1),
            "reconcile_errors": delta.reconcile_errors,
            "rss_mib": memory_mib(self.pid),
            "peak_rss_mib": memory_mib(self.pid, "VmHWM"),
        }


# -- the bench: one local cluster, one client ------------------------------------------------------------


class Bench:
    """The local cluster of one run, the benchmark's own client, and where operator logs go."""

    def __init__(self, cluster: LocalCluster, work: Path, client: KubeClient, *, keep_logs: Path | None = None,
                 client_qps: float = 1000, client_burst: int = 2000, progress: Callable[[str], None] = print,
                 profile: Path | None = None) -> None:
        self.cluster = cluster
        self.work = work
        self.client = client
        self.keep_logs = keep_logs
        self.profile = profile
        self.client_qps = client_qps
        self.client_burst = client_burst
        self.progress = progress
        self._namespaces = 0

    def settings(self, name: str) -> Settings:
        return settings(name, qps=self.client_qps, burst=self.client_burst)

    async def namespace(self, base: str) -> str:
        """A new namespace ``<base>-<n>`` (never one still terminating from an earlier phase), once its default
        ServiceAccount exists (pods need it)."""
        self._namespaces += 1
        name = f"{base}-{self._namespaces}"
        await self.client.create(NAMESPACE, {"metadata": {"name": name}})

        async def has_sa() -> bool:
            try:
                await self.client.get(SERVICE_ACCOUNT, "default", namespace=name)
            except Exception:
                return False
            return True

        await wait_for(has_sa, 60)
        return name

    async def drop_namespace(self, name: str, timeout: float = 900) -> None:
        """Delete namespace ``name`` and wait until it is gone, so the next phase starts on an empty cluster."""
        await self.client.delete(NAMESPACE, name)

        async def gone() -> bool:
            try:
                await self.client.get(NAMESPACE, name)
            except Exception:
                return True
            return False

        try:
            await wait_for(gone, timeout, interval=1.0)
        except TimeoutError:
            self.progress(f"namespace {name} still terminating after {timeout:.0f} s; going on")

    def start(self, operator: OperatorName, chosen: Settings, namespace: str, *, leader_election: bool = True
              ) -> Operator:
        """Start ``operator`` watching ``namespace`` (its Lease there too) and wait until it is ready."""
        flags = operator_flags(operator, chosen, namespace=namespace, leader_election=leader_election)
        tag = f"{operator}-{namespace}"
        if operator == "kuberay":
            process = OperatorProcess(self.cluster.kubeconfig, self.work, name=tag, lease_namespace=namespace,
                                      extra=flags, program=(str(binary("kuberay-operator")),))
        else:
            process = OperatorProcess(self.cluster.kubeconfig, self.work, name=tag, lease_namespace=namespace,
                                      extra=flags)
        try:
            process.wait_ready()
            if leader_election:
                _wait_leading(process)
        except BaseException:
            process.stop()
            raise
        time.sleep(1.0)  # the informers of an empty namespace sync; the timed work starts after that
        self.progress(f"{LABELS[operator]} running ({' '.join(flags)})")
        op = Operator(operator, process)
        if self.profile is not None and operator == "raykube":
            op.profiler = start_profiler(op.pid, self.profile / f"{tag}.txt")
        return op

    def stop(self, op: Operator) -> None:
        if op.profiler is not None:
            stop_profiler(op.profiler)
        op.process.stop()
        if self.keep_logs is not None:
            self.keep_logs.mkdir(parents=True, exist_ok=True)
            (self.keep_logs / op.process.log_path.name).write_text(op.process.log_path.read_text(errors="replace"))

    async def create_clusters(self, namespace: str, names: list[str], workers: int, *, max_workers: int | None = None,
                              inflight: int = 32) -> None:
        """RayClusters ``names`` created at once (``inflight`` requests at a time)."""
        await gather_limited([self.client.create(RAYCLUSTER, raycluster(n, workers, max_workers=max_workers),
                                                 namespace=namespace) for n in names], inflight)


def start_profiler(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling process ``pid`` (100 Hz, idle frames left out) until :func:`stop_profiler`; collapsed
    stacks go to ``out`` (one ``frame;frame;... count`` line per stack, for flame graphs or a quick sort)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--rate", "100",
                             "--format", "raw", "--output", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=out.with_suffix(".log").open("wb"))


def stop_profiler(profiler: subprocess.Popen[bytes]) -> None:
    """SIGINT makes py-spy write its output and exit."""
    profiler.send_signal(signal.SIGINT)
    try:
        profiler.wait(30)
    except subprocess.TimeoutExpired:
        profiler.kill()


def leading(metrics_text: str) -> bool:
    """Whether an operator's metrics say it holds the Lease (client-go prints 1, prometheus_client 1.0)."""
    return any(line.startswith("leader_election_master_status{") and _value(line) == 1
               for line in metrics_text.splitlines())


def _wait_leading(process: OperatorProcess, timeout: float = 60) -> None:
    """Until the operator holds its Lease (its controllers run only then)."""
    deadline = time.monotonic() + timeout
    while not leading(process.metrics()):
        if process.proc.poll() is not None:
            raise RuntimeError(f"the operator exited: {process.log_tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the operator did not take its Lease in {timeout:.0f} s: {process.log_tail()}")
        time.sleep(0.2)


async def gather_limited(coros: list[Coroutine[Any, Any, Any]], limit: int) -> None:
    semaphore = asyncio.Semaphore(limit)

    async def run(coro: Coroutine[Any, Any, Any]) -> None:
        async with semaphore:
            await coro

    await asyncio.gather(*(run(c) for c in coros))


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float, interval: float = 0.25) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if await predicate():
            return time.monotonic() - start
        await asyncio.sleep(interval)
    raise TimeoutError("benchmark condition not reached")


# -- watches -----------------------------------------------------------------------------------------------


Classify = Callable[[dict[str, Any]], Iterable[str]]


class Tracker:
    """The first moment each object of a kind (in a namespace, by selector) reached each of its states.

    ``classify(obj)`` names the states an object is in (e.g. "ready", "running"); the tracker records, per
    object name, the monotonic time it first saw each one, through a watch (re-listing if the watch ends).
    """

    def __init__(self, client: KubeClient, kind: ResourceKind, namespace: str, classify: Classify, *,
                 selector: str | None = None) -> None:
        self._client = client
        self._kind = kind
        self._namespace = namespace
        self._classify = classify
        self._selector = selector
        self.first: dict[str, dict[str, float]] = {}
        self.labels: dict[str, dict[str, str]] = {}
        self.deleted: set[str] = set()
        self._reached: dict[str, int] = {}
        self._by_label: dict[tuple[str, str], set[str]] = {}
        self._waiters: set[asyncio.Event] = set()
        self._task: asyncio.Task[None] | None = None
        self._started = asyncio.Event()

    async def start(self, timeout: float = 60) -> Tracker:
        """Once the first list has been recorded (the watch runs from there)."""
        self._task = asyncio.create_task(self._run())
        try:
            await asyncio.wait_for(self._started.wait(), timeout)
        except TimeoutError:
            await self.stop()
            raise
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _see(self, obj: dict[str, Any], deleted: bool = False) -> None:
        metadata = obj.get("metadata") or {}
        name = str(metadata.get("name"))
        now = time.monotonic()
        labels = metadata.get("labels") or {}
        for item in set(self.labels.get(name, {}).items()) - set(labels.items()):
            self._by_label.get(item, set()).discard(name)
        for item in labels.items():
            self._by_label.setdefault(item, set()).add(name)
        self.labels[name] = labels
        states = self.first.setdefault(name, {})
        if deleted or metadata.get("deletionTimestamp"):
            self.deleted.add(name)
        for state in ("seen", *self._classify(obj)):
            if state not in states:
                states[state] = now
                self._reached[state] = self._reached.get(state, 0) + 1
        for waiter in self._waiters:
            waiter.set()

    async def _run(self) -> None:
        while True:
            try:
                listed = await self._client.list(self._kind, namespace=self._namespace,
                                                 label_selector=self._selector)
                for obj in listed.items:
                    self._see(obj)
                self._started.set()
                async for event in self._client.watch(self._kind, namespace=self._namespace,
                                                      label_selector=self._selector,
                                                      resource_version=listed.resource_version,
                                                      timeout_seconds=3600):
                    if event.type in ("ADDED", "MODIFIED", "DELETED"):
                        self._see(event.object, deleted=event.type == "DELETED")
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(0.5)

    def count(self, state: str, names: Iterable[str] | None = None) -> int:
        """How many objects (of ``names``; all when None) have reached ``state``."""
        if names is None:
            return self._reached.get(state, 0)
        return sum(1 for n in names if state in self.first.get(n, {}))

    def times(self, state: str, names: Iterable[str] | None = None) -> dict[str, float]:
        wanted = self.first.keys() if names is None else names
        return {n: self.first[n][state] for n in wanted if state in self.first.get(n, {})}

    async def until(self, done: Callable[[], bool], timeout: float) -> float:
        """Wait until ``done()`` holds (checked after every change); seconds waited."""
        start = time.monotonic()
        deadline = start + timeout
        changed = asyncio.Event()
        self._waiters.add(changed)
        try:
            while not done():
                changed.clear()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("benchmark condition not reached")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), min(remaining, 1.0))
        finally:
            self._waiters.discard(changed)
        return time.monotonic() - start

    def nth(self, state: str, n: int, names: Iterable[str] | None = None) -> float | None:
        """When the ``n``-th object (1-based, in time order) of ``names`` reached ``state``."""
        times = sorted(self.times(state, names).values())
        return times[n - 1] if len(times) >= n else None

    def where(self, label: str, value: str) -> list[str]:
        """The objects whose label ``label`` is ``value``."""
        return sorted(self._by_label.get((label, value), ()))


def cluster_states(obj: dict[str, Any]) -> Iterable[str]:
    state = (obj.get("status") or {}).get("state")
    return (str(state),) if state else ()


def pod_states(obj: dict[str, Any]) -> Iterable[str]:
    """"scheduled" once bound to a node, "running" once Running: the scheduler's part and the node's."""
    states = ["scheduled"] if (obj.get("spec") or {}).get("nodeName") else []
    if (obj.get("status") or {}).get("phase") == "Running":
        states.append("running")
    return states


def clusters(bench: Bench, namespace: str) -> Tracker:
    return Tracker(bench.client, RAYCLUSTER, namespace, cluster_states)


def pods(bench: Bench, namespace: str, selector: str | None = None) -> Tracker:
    return Tracker(bench.client, POD, namespace, pod_states, selector=selector)


# -- the ceiling -----------------------------------------------------------------------------------------


async def warm_up(bench: Bench, count: int = 20) -> None:
    """Bare pods once, untimed: the first pods on a fresh cluster (nodes just registered, caches cold) are
    slower than any later ones, and the first phase must not pay for that."""
    await bare_pods(bench, count)


async def bare_pods(bench: Bench, count: int, *, inflight: int = 32) -> dict[str, Any]:
    """``count`` bare pods created straight through the API (``inflight`` at a time), timed until all run:
    the fastest any operator could bring pods up on this cluster. The namespace is deleted afterwards."""
    namespace = await bench.namespace("ceiling")
    tracker = await pods(bench, namespace).start()
    body = {"metadata": {"generateName": "bare-"}, "spec": {"containers": [CONTAINER]}}
    try:
        cpu_before = cluster_cpu(bench.cluster)
        start = time.monotonic()
        await gather_limited([bench.client.create(POD, body, namespace=namespace) for _ in range(count)], inflight)
        created = time.monotonic() - start
        await tracker.until(lambda: tracker.count("running") >= count, 1800)
        running = time.monotonic() - start
        cluster_used = cpu_since(cpu_before, cluster_cpu(bench.cluster))
    finally:
        await tracker.stop()
    await bench.drop_namespace(namespace)
    bench.progress(f"ceiling: {count} bare pods Running in {running:.1f} s")
    return {"pods": count, "create_seconds": created, "running_seconds": running,
            "create_per_second": count / created, "running_per_second": count / running,
            "cluster_cpu_seconds": cluster_used}
