"""Benchmark: do 50 RayJobs with slow or silent Ray dashboards slow down anything else the operator does?

KubeRay calls the Ray dashboard inside the RayJob reconcile (2 s timeout, 3 s requeue, 1 worker by default),
so a few dead dashboards stall every RayJob behind them (kuberay#2646). raykube runs dashboard calls as
background tasks; this benchmark measures what is left of the interference, on one local cluster (real
etcd, kube-apiserver, controller-manager, scheduler, kwok fake nodes) and one operator process:

1. *quiet:* no RayJob. Measure (a) the reaction time of an unrelated RayCluster: patch its worker replicas
   (1 ↔ 2) and time until its live worker pods match, seen through a watch; (b) the end-to-end time of a
   healthy HTTPMode RayJob, from create to ``Complete`` (its stand-in job succeeds at once).
2. *loaded:* 50 HTTPMode RayJobs running at once against a stand-in dashboard that answers half of them
   after ``--slow`` seconds (below the 2 s client timeout) and never answers the other half (every call
   times out), each job polled every 3 s. Measure (a) and (b) again while they run.

Prints p50/p95 of each measure and the loaded/quiet ratios, plus the operator's CPU and the dashboard calls
made. No assertion on timings; numbers go to docs/benchmarks.md.
Usage: python bench/rayjob_isolation.py [--jobs 50] [--samples 20] [--slow 1.5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.localcluster import bench_cluster  # noqa: E402
from raykube.controllers.kinds import POD, RAYCLUSTER, RAYJOB, SERVICE_ACCOUNT  # noqa: E402
from raykube.local.cluster import LocalCluster  # noqa: E402
from raykube.operator.process import OperatorProcess  # noqa: E402
from raykube.ray.standin import JobScript, StandInDashboard  # noqa: E402
from raykube.runtime.client import KubeClient, PatchType  # noqa: E402
from raykube.runtime.kinds import NAMESPACE  # noqa: E402

CONTAINER = {"name": "ray", "image": "rayproject/ray:2.46.0", "resources": {"requests": {"cpu": "10m",
                                                                                       "memory": "64Mi"}}}
NS = "bench-isolation"


def cluster_spec(workers: int) -> dict[str, Any]:
    template = {"spec": {"containers": [CONTAINER]}}
    return {
        "rayVersion": "2.46.0",
        "headGroupSpec": {"rayStartParams": {}, "template": template},
        "workerGroupSpecs": [{"groupName": "workers", "replicas": workers, "minReplicas": 0, "maxReplicas": 4,
                              "rayStartParams": {}, "template": template}],
    }


def rayjob(name: str) -> dict[str, Any]:
    spec = {"entrypoint": "python -c 'print(1)'", "submissionMode": "HTTPMode", "rayClusterSpec": cluster_spec(1)}
    return {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": name}, "spec": spec}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _wait(predicate: Any, timeout: float, interval: float = 0.05) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if await predicate():
            return time.monotonic() - start
        await asyncio.sleep(interval)
    raise TimeoutError("benchmark condition not reached")


class WorkerWatch:
    """Live worker pods of the probe cluster, as a watch delivers them (no polling delay)."""

    def __init__(self, client: KubeClient) -> None:
        self._client = client
        self.live: set[str] = set()
        self.changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        selector = "ray.io/cluster=probe,ray.io/node-type=worker"
        listed = await self._client.list(POD, namespace=NS, label_selector=selector)
        self.live = {p["metadata"]["name"] for p in listed.items if not p["metadata"].get("deletionTimestamp")}

        async def run() -> None:
            async for event in self._client.watch(POD, namespace=NS, label_selector=selector,
                                                  resource_version=listed.resource_version, timeout_seconds=3600):
                name = event.object.get("metadata", {}).get("name")
                if event.type == "DELETED" or event.object.get("metadata", {}).get("deletionTimestamp"):
                    self.live.discard(name)
                elif event.type in ("ADDED", "MODIFIED"):
                    self.live.add(name)
                self.changed.set()

        self._task = asyncio.create_task(run())

    async def until(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.live) != count:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), max(deadline - time.monotonic(), 0.01))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def scale_latencies(client: KubeClient, watch: WorkerWatch, samples: int) -> list[float]:
    """Patch the probe cluster 1 -> 2 -> 1 ... workers; seconds until the live worker pods match."""
    results = []
    for i in range(samples):
        target = 2 if i % 2 == 0 else 1
        patch = [{"op": "replace", "path": "/spec/workerGroupSpecs/0/replicas", "value": target}]
        started = time.monotonic()
        await client.patch(RAYCLUSTER, "probe", patch, namespace=NS, patch_type=PatchType.JSON)
        await watch.until(target)
        results.append(time.monotonic() - started)
        await asyncio.sleep(0.3)
    return results


async def healthy_job_latencies(client: KubeClient, samples: int, tag: str) -> list[float]:
    """Create a healthy HTTPMode RayJob; seconds until it is Complete. Then delete it."""
    results = []
    for i in range(samples):
        name = f"healthy-{tag}-{i}"
        started = time.monotonic()
        await client.create(RAYJOB, rayjob(name), namespace=NS)

        async def complete(job_name: str = name) -> bool:
            obj = await client.get(RAYJOB, job_name, namespace=NS)
            return (obj.get("status") or {}).get("jobDeploymentStatus") == "Complete"

        await _wait(complete, 120)
        results.append(time.monotonic() - started)
        await client.delete(RAYJOB, name, namespace=NS)
    return results


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": statistics.median(ordered), "p95": ordered[max(0, round(0.95 * len(ordered)) - 1)],
            "max": ordered[-1], "n": len(ordered)}


async def _busy_counts(client: KubeClient) -> tuple[int, int]:
    """(busy RayJobs still Running, RayJobs whose status checks are failing)."""
    still_running = sum(
        1 for j in (await client.list(RAYJOB, namespace=NS)).items
        if j["metadata"]["name"].startswith("busy-") and (j.get("status") or {}).get("jobDeploymentStatus")
        == "Running"
    )
    failing = sum(
        1 for j in (await client.list(RAYJOB, namespace=NS)).items
        if (j.get("status") or {}).get("jobStatusCheckFailureStartTime")
    )
    return still_running, failing


def _count_running(items: list[dict[str, Any]]) -> int:
    """The busy RayJobs whose deployment is Running."""
    return sum(1 for j in items if j["metadata"]["name"].startswith("busy-")
               and (j.get("status") or {}).get("jobDeploymentStatus") == "Running")


async def run(args: argparse.Namespace, cluster: LocalCluster, work: Path) -> dict[str, Any]:
    standin = StandInDashboard(JobScript(run_for=0))  # healthy jobs: SUCCEEDED as soon as they exist
    standin.script("busy-slow-", JobScript(run_for=None, latency=args.slow))
    standin.script("busy-dead-", JobScript(run_for=None, hang=True))
    standin.start_in_thread()
    client = KubeClient.from_kubeconfig(str(cluster.kubeconfig), qps=500, burst=1000)
    op = OperatorProcess(cluster.kubeconfig, work, lease_namespace="kube-system",
                         extra=(f"--dashboard-url-override={standin.url}", *args.operator_arg))
    watch = WorkerWatch(client)
    try:
        op.wait_ready()
        await client.create(NAMESPACE, {"metadata": {"name": NS}})

        async def has_sa() -> bool:
            try:
                await client.get(SERVICE_ACCOUNT, "default", namespace=NS)
            except Exception:
                return False
            return True

        await _wait(has_sa, 60, 0.2)
        await client.create(RAYCLUSTER, {"apiVersion": "ray.io/v1", "kind": "RayCluster",
                                         "metadata": {"name": "probe"}, "spec": cluster_spec(1)}, namespace=NS)

        async def probe_ready() -> bool:
            obj = await client.get(RAYCLUSTER, "probe", namespace=NS)
            return (obj.get("status") or {}).get("state") == "ready"

        await _wait(probe_ready, 120, 0.2)
        await watch.start()

        cpu0, calls0, t0 = _cpu_seconds(op.proc.pid), len(standin.calls), time.monotonic()
        quiet_scale = await scale_latencies(client, watch, args.samples)
        quiet_jobs = await healthy_job_latencies(client, args.job_samples, "quiet")
        quiet_cpu = (_cpu_seconds(op.proc.pid) - cpu0) / (time.monotonic() - t0)
        quiet_calls = len(standin.calls) - calls0

        names = [f"busy-{'slow' if i % 2 == 0 else 'dead'}-{i:03d}" for i in range(args.jobs)]
        for name in names:
            await client.create(RAYJOB, rayjob(name), namespace=NS)

        async def all_running() -> bool:
            items = (await client.list(RAYJOB, namespace=NS)).items
            return bool(_count_running(items) == args.jobs)

        loaded_since = time.monotonic()
        await _wait(all_running, 300, 0.5)
        ramp = time.monotonic() - loaded_since
        await asyncio.sleep(6)  # two poll rounds: slow answers and timeouts in full swing
        cpu0, calls0, t0 = _cpu_seconds(op.proc.pid), len(standin.calls), time.monotonic()
        loaded_scale = await scale_latencies(client, watch, args.samples)
        loaded_jobs = await healthy_job_latencies(client, args.job_samples, "loaded")
        elapsed = time.monotonic() - t0
        loaded_cpu = (_cpu_seconds(op.proc.pid) - cpu0) / elapsed
        loaded_calls = len(standin.calls) - calls0
        still_running, failing = await _busy_counts(client)
        errors = sum(float(line.rsplit(" ", 1)[1]) for line in op.metrics().splitlines()
                     if line.startswith("controller_runtime_reconcile_errors_total{"))
    finally:
        await watch.stop()
        op.stop()
        if args.keep_log:
            Path(args.keep_log).write_text(op.log_path.read_text())
        await client.close()
        standin.stop_thread()
    qs, ls, qj, lj = (_summary(v) for v in (quiet_scale, loaded_scale, quiet_jobs, loaded_jobs))
    return {
        "jobs": args.jobs,
        "slow_answer_seconds": args.slow,
        "quiet": {"raycluster_scale_seconds": qs, "healthy_rayjob_seconds": qj, "operator_cpu_share": quiet_cpu,
                  "dashboard_calls": quiet_calls},
        "loaded": {"raycluster_scale_seconds": ls, "healthy_rayjob_seconds": lj, "operator_cpu_share": loaded_cpu,
                   "dashboard_calls": loaded_calls, "dashboard_calls_per_second": loaded_calls / elapsed,
                   "ramp_seconds": ramp, "busy_jobs_still_running": still_running,
                   "jobs_with_failing_status_checks": failing, "reconcile_errors": errors},
        "ratio_raycluster_p50": ls["p50"] / qs["p50"],
        "ratio_raycluster_p95": ls["p95"] / qs["p95"],
        "ratio_rayjob_p50": lj["p50"] / qj["p50"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=50, help="busy RayJobs (half slow, half silent)")
    parser.add_argument("--samples", type=int, default=20, help="RayCluster scale samples per phase")
    parser.add_argument("--job-samples", type=int, default=5, help="healthy RayJobs per phase")
    parser.add_argument("--slow", type=float, default=1.5, help="answer delay of the slow dashboards, seconds")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep-log", help="copy the operator's log to this file")
    parser.add_argument("--operator-arg", action="append", default=[], help="extra `raykube operator` flag")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="raykube-bench-") as tmp:
        work = Path(tmp)
        with bench_cluster(work, fake_nodes=2, node_pods=1000) as cluster:
            result = asyncio.run(run(args, cluster, work))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    q, lo = result["quiet"], result["loaded"]
    print(f"{'measure':52} {'quiet':>10} {'loaded':>10} {'ratio':>7}")
    for label, key in (("RayCluster scale reaction p50 (s)", "p50"), ("RayCluster scale reaction p95 (s)", "p95")):
        a, b = q["raycluster_scale_seconds"][key], lo["raycluster_scale_seconds"][key]
        print(f"{label:52} {a:10.3f} {b:10.3f} {b / a:7.2f}")
    a, b = q["healthy_rayjob_seconds"]["p50"], lo["healthy_rayjob_seconds"]["p50"]
    print(f"{'healthy HTTPMode RayJob create -> Complete p50 (s)':52} {a:10.2f} {b:10.2f} {b / a:7.2f}")
    print(f"{'operator CPU share (1.0 = one core)':52} {q['operator_cpu_share']:10.2f} "
          f"{lo['operator_cpu_share']:10.2f}")
    print(f"{'dashboard calls in the phase':52} {q['dashboard_calls']:10d} {lo['dashboard_calls']:10d}")
    print(f"busy RayJobs: {result['jobs']} (half answered after {result['slow_answer_seconds']} s, half never); "
          f"{lo['busy_jobs_still_running']} still Running, {lo['jobs_with_failing_status_checks']} with the "
          f"status-check failure timer started; {lo['dashboard_calls_per_second']:.1f} dashboard calls/s; "
          f"reconcile errors {lo['reconcile_errors']:.0f}")


if __name__ == "__main__":
    main()
