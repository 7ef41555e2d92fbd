"""Benchmark: N RayClusters (1 head + W workers each) on fake nodes, against the API server's own ceiling.

Measured in one run, on one local cluster (real etcd, kube-apiserver, controller-manager, scheduler,
kwok nodes):

1. baseline: the same number of bare pods created straight through the API (32 in flight), timed until
   every pod is Running: the fastest any operator could go on this machine;
2. raykube: `raykube operator` in its own process; N RayClusters created at once, timed until every one
   reports `state: ready`; API requests per cluster from the operator's `rest_client_requests_total`;
   peak RSS from /proc (VmHWM);
3. with --against-kuberay: KubeRay's Go operator (built from the Go module proxy by `tools/build.sh
   kuberay-operator`, same flags, its own defaults otherwise) on the same workload in its own namespace,
   measured the same way (controller-runtime exposes the same metric names). Each operator watches only
   its own namespace, so neither sees the other's clusters.

Prints a table and, with --json, the raw numbers. No assertion on timings: the numbers go to
docs/benchmarks.md. Usage: python bench/raycluster_scale.py [--clusters 100] [--workers 4] [--against-kuberay]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from raykube.controllers.kinds import POD, RAYCLUSTER, SERVICE_ACCOUNT  # noqa: E402
from raykube.local.binaries import binary  # noqa: E402
from raykube.local.cluster import ClusterConfig, LocalCluster  # noqa: E402
from raykube.operator.process import OperatorProcess  # noqa: E402
from raykube.runtime.client import KubeClient  # noqa: E402
from raykube.runtime.kinds import NAMESPACE  # noqa: E402

CONTAINER = {
    "name": "ray",
    "image": "rayproject/ray:2.46.0",
    "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}},
}


def raycluster(name: str, workers: int) -> dict[str, Any]:
    template = {"spec": {"containers": [CONTAINER]}}
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": name},
        "spec": {
            "rayVersion": "2.46.0",
            "headGroupSpec": {"rayStartParams": {}, "template": template},
            "workerGroupSpecs": [
                {
                    "groupName": "workers",
                    "replicas": workers,
                    "minReplicas": 0,
                    "maxReplicas": workers,
                    "rayStartParams": {},
                    "template": template,
                }
            ],
        },
    }


async def _gather_limited(coros: list[Any], limit: int) -> None:
    semaphore = asyncio.Semaphore(limit)

    async def run(coro: Any) -> None:
        async with semaphore:
            await coro

    await asyncio.gather(*(run(c) for c in coros))


async def _wait(predicate: Any, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if await predicate():
            return time.monotonic() - start
        await asyncio.sleep(0.25)
    raise TimeoutError("benchmark condition not reached")


async def baseline(client: KubeClient, pods: int) -> dict[str, float]:
    """Bare pods through the API: the ceiling of pod creation (and Running) on this machine."""
    ns = "bench-baseline"
    await client.create(NAMESPACE, {"metadata": {"name": ns}})
    await _wait(lambda: _has_default_sa(client, ns), 60)
    start = time.monotonic()
    body = {"metadata": {"generateName": "bare-"}, "spec": {"containers": [CONTAINER]}}
    await _gather_limited([client.create(POD, body, namespace=ns) for _ in range(pods)], 32)
    created = time.monotonic() - start

    async def all_running() -> bool:
        items = (await client.list(POD, namespace=ns)).items
        return sum(1 for p in items if (p.get("status") or {}).get("phase") == "Running") == pods

    await _wait(all_running, 600)
    running = time.monotonic() - start
    await client.delete(NAMESPACE, ns)
    return {
        "pods": pods,
        "create_seconds": created,
        "running_seconds": running,
        "create_per_second": pods / created,
        "running_per_second": pods / running,
    }


async def _has_default_sa(client: KubeClient, ns: str) -> bool:
    try:
        await client.get(SERVICE_ACCOUNT, "default", namespace=ns)
    except Exception:
        return False
    return True


def _requests_by_method(metrics_text: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    for line in metrics_text.splitlines():
        if line.startswith("rest_client_requests_total{"):
            method = line.split('method="', 1)[1].split('"', 1)[0]
            code = line.split('code="', 1)[1].split('"', 1)[0]
            method = f"{method} {code}"
            counts[method] = counts.get(method, 0.0) + float(line.rsplit(" ", 1)[1])
    return counts


def _requests(metrics_text: str) -> float:
    return sum(_requests_by_method(metrics_text).values())


def _metric_sum(metrics_text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics_text.splitlines() if line.startswith(name))


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_operator(client: KubeClient, op: OperatorProcess, ns: str, clusters: int, workers: int
                       ) -> dict[str, Any]:
    """N RayClusters created at once in `ns` (the only namespace `op` watches), timed until all are ready."""
    await client.create(NAMESPACE, {"metadata": {"name": ns}})
    await _wait(lambda: _has_default_sa(client, ns), 60)
    before_text = op.metrics()
    before, before_by_method = _requests(before_text), _requests_by_method(before_text)
    cpu_before = _cpu_seconds(op.proc.pid)
    await _gather_limited(
        [client.create(RAYCLUSTER, raycluster(f"rc-{i:04d}", workers), namespace=ns) for i in range(clusters)], 32
    )

    async def all_ready() -> bool:
        items = (await client.list(RAYCLUSTER, namespace=ns)).items
        return sum(1 for c in items if (c.get("status") or {}).get("state") == "ready") == clusters

    ready = await _wait(all_ready, 1200)
    await asyncio.sleep(3)  # let trailing status writes and events land before counting requests
    text = op.metrics()
    requests = _requests(text) - before
    pods = clusters * (workers + 1)
    reconciles = _metric_sum(text, "controller_runtime_reconcile_time_seconds_count")
    return {
        "clusters": clusters,
        "pods": pods,
        "ready_seconds": ready,
        "pods_per_second": pods / ready,
        "requests_per_cluster": requests / clusters,
        "requests_per_cluster_by_method": {
            m: round((n - before_by_method.get(m, 0)) / clusters, 2) for m, n in _requests_by_method(text).items()
        },
        "peak_rss_mib": _peak_rss_mib(op.proc.pid),
        "operator_cpu_seconds": _cpu_seconds(op.proc.pid) - cpu_before,
        "reconciles": reconciles,
        "reconcile_errors": _metric_sum(text, "controller_runtime_reconcile_errors_total{"),
        "mean_reconcile_ms": 1000
        * _metric_sum(text, "controller_runtime_reconcile_time_seconds_sum")
        / max(reconciles, 1),
    }


async def _measure(client: KubeClient, args: argparse.Namespace, cluster: LocalCluster, work: Path, name: str,
                   program: tuple[str, ...] | None, extra: list[str]) -> dict[str, Any]:
    ns = f"bench-{name}"
    flags = (f"--watch-namespace={ns}", *extra)
    op = (OperatorProcess(cluster.kubeconfig, work, name=name, lease_namespace="kube-system", extra=flags,
                          program=program) if program
          else OperatorProcess(cluster.kubeconfig, work, name=name, lease_namespace="kube-system", extra=flags))
    try:
        op.wait_ready()
        return await run_operator(client, op, ns, args.clusters, args.workers)
    finally:
        op.stop()
        if args.keep_log:
            Path(f"{args.keep_log}.{name}").write_text(op.log_path.read_text())


async def main_async(args: argparse.Namespace, cluster: LocalCluster, work: Path) -> dict[str, Any]:
    client = KubeClient.from_kubeconfig(str(cluster.kubeconfig), qps=2000, burst=4000)
    try:
        base = await baseline(client, args.clusters * (args.workers + 1))
        out: dict[str, Any] = {"baseline": base}
        out["raykube"] = await _measure(client, args, cluster, work, "raykube", None, args.operator_arg)
        if args.against_kuberay:
            kuberay = (str(binary("kuberay-operator")),)
            out["kuberay"] = await _measure(client, args, cluster, work, "kuberay", kuberay, args.kuberay_arg)
    finally:
        await client.close()
    for name in ("raykube", "kuberay"):
        if name in out:
            out[name]["ratio_to_ceiling"] = out[name]["pods_per_second"] / base["running_per_second"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep-log", help="copy the operator's log to this file")
    parser.add_argument("--operator-arg", action="append", default=[], help="extra `raykube operator` flag")
    parser.add_argument("--against-kuberay", action="store_true",
                        help="also run KubeRay's Go operator (tools/build.sh kuberay-operator) on the same workload")
    parser.add_argument("--kuberay-arg", action="append", default=[], help="extra KubeRay operator flag")
    args = parser.parse_args()
    if args.against_kuberay:
        subprocess.run([str(REPO / "tools" / "build.sh"), "kuberay-operator"], check=True, stdout=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="raykube-bench-") as tmp:
        work = Path(tmp)
        cluster = LocalCluster(
            ClusterConfig(state_dir=work / "cluster", fake_nodes=4, node_pods=2000, node_cpu="1000", node_memory="4Ti")
        )
        cluster.up()
        try:
            subprocess.run(
                [
                    str(binary("kubectl")),
                    f"--kubeconfig={cluster.kubeconfig}",
                    "apply",
                    "--server-side",
                    "-f",
                    str(REPO / "config" / "crd" / "bases"),
                ],
                check=True,
                capture_output=True,
            )
            result = asyncio.run(main_async(args, cluster, work))
        finally:
            cluster.down()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    b = result["baseline"]
    names = [n for n in ("raykube", "kuberay") if n in result]
    print(f"{'measure':44} " + " ".join(f"{n:>12}" for n in names))
    print(f"{'baseline: bare pods created/s (API ceiling)':44} {b['create_per_second']:12.1f}")
    print(f"{'baseline: bare pods Running/s':44} {b['running_per_second']:12.1f}")
    rows = [
        ("RayClusters", "clusters", "d"),
        ("seconds until all ready", "ready_seconds", ".1f"),
        ("pods Running/s", "pods_per_second", ".1f"),
        ("ratio to the bare-pod ceiling", "ratio_to_ceiling", ".2f"),
        ("API requests per cluster", "requests_per_cluster", ".1f"),
        ("operator peak RSS (MiB)", "peak_rss_mib", ".1f"),
        ("operator CPU seconds", "operator_cpu_seconds", ".1f"),
        ("reconciles", "reconciles", ".0f"),
        ("mean reconcile ms", "mean_reconcile_ms", ".1f"),
        ("reconciles that failed", "reconcile_errors", ".0f"),
    ]
    for label, key, fmt in rows:
        print(f"{label:44} " + " ".join(f"{result[n][key]:12{fmt}}" for n in names))
    for n in names:
        print(f"{n} requests per cluster by method: {json.dumps(result[n]['requests_per_cluster_by_method'])}")
    if "kuberay" in result:
        k, r = result["kuberay"], result["raykube"]
        print(f"raykube / KubeRay: ready {k['ready_seconds'] / r['ready_seconds']:.2f}x faster, "
              f"{r['requests_per_cluster'] / k['requests_per_cluster']:.2f} of the API requests, "
              f"{r['peak_rss_mib'] / k['peak_rss_mib']:.2f} of the memory, "
              f"{r['operator_cpu_seconds'] / k['operator_cpu_seconds']:.2f} of the CPU")


if __name__ == "__main__":
    main()
