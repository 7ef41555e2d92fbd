"""Throughput at equal settings: N RayClusters (1 head + W workers) created at once, timed until all `ready`.

Per size: the bare-pod ceiling (N x (W+1) pods straight through the API), then for each settings in turn
raykube and KubeRay, each alone on the cluster in its own namespace (deleted before the next phase):

- ``defaults``: each operator as shipped (KubeRay: 1 reconcile worker, 100 qps / burst 200; raykube: 16
  workers, the same limits);
- ``raised``: both at the same raised client limits (``--qps``/``--burst``);
- ``tuned``: KubeRay at the raised limits and ``--reconcile-concurrency=16`` ("KubeRay tuned"; its raykube
  column is raykube's ``raised`` figure).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.operators.chart import Bar, Chart, Panel
from bench.operators.measure import (
    LABELS,
    Bench,
    OperatorName,
    Settings,
    bare_pods,
    cluster_cpu,
    clusters,
    cpu_since,
    percentile,
    pods,
)
from bench.operators.report import Row

TITLE = "Throughput at equal settings"
BASELINE = "ceiling"


async def run(bench: Bench, *, sizes: list[int], workers: int, settings_names: list[str],
              operators: tuple[OperatorName, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"workers": workers, "settings": settings_names, "sizes": {}}
    for size in sizes:
        entry: dict[str, Any] = {"ceiling": await bare_pods(bench, size * (workers + 1))}
        for name in settings_names:
            chosen = bench.settings(name)
            entry[name] = {}
            for operator in operators:
                if operator == "raykube" and not chosen.raykube_runs and "raised" in settings_names:
                    continue  # its figure at the same limits is the "raised" one
                entry[name][operator] = await scale_out(bench, operator, chosen, size, workers)
        out["sizes"][str(size)] = entry
    return out


async def scale_out(bench: Bench, operator: OperatorName, chosen: Settings, count: int, workers: int
                    ) -> dict[str, Any]:
    """``count`` RayClusters created at once (32 requests in flight); seconds until every one is ready."""
    ns = await bench.namespace(f"tp-{operator}-{chosen.name}-{count}")
    op = bench.start(operator, chosen, ns)
    tracker = await clusters(bench, ns).start()
    pod_tracker = await pods(bench, ns).start()
    names = [f"rc-{i:04d}" for i in range(count)]
    pod_count = count * (workers + 1)
    try:
        before, cpu_before = op.usage(), cluster_cpu(bench.cluster)
        start = time.monotonic()
        await bench.create_clusters(ns, names, workers)
        await tracker.until(lambda: tracker.count("ready") >= count, 600 + pod_count)  # only these in ns
        last_ready = tracker.nth("ready", count, names)
        ready = (last_ready or time.monotonic()) - start
        cluster_used = cpu_since(cpu_before, cluster_cpu(bench.cluster))
        each_ready = [t - start for t in tracker.times("ready", names).values()]
        # when the operator had created every pod, and when the cluster had them all running: which of the two
        # the time to ready waits on
        created = (pod_tracker.nth("seen", pod_count) or time.monotonic()) - start
        running = (pod_tracker.nth("running", pod_count) or time.monotonic()) - start
        await asyncio.sleep(3)  # trailing status writes and Events land before the requests are counted
        used = op.since(before)
    finally:
        await tracker.stop()
        await pod_tracker.stop()
        bench.stop(op)
    bench.progress(f"{LABELS[operator]} {chosen.name}: {count} RayClusters ready in {ready:.1f} s")
    await bench.drop_namespace(ns)
    return {
        "clusters": count,
        "pods": pod_count,
        "ready_clusters": tracker.count("ready", names),
        "ready_seconds": ready,
        "ready_p50_seconds": percentile(each_ready, 0.5),
        "cluster_cpu_seconds": cluster_used,
        "cluster_cpu_total": cluster_used["total"],
        "apiserver_cpu": cluster_used["API server"],
        "pods_created_seconds": created,
        "pods_running_seconds": running,
        "pods_per_second": pod_count / ready,
        "requests_per_cluster": used["requests"] / count,
        "writes_per_cluster": used["writes"] / count,
        **used,
    }


def _value(result: dict[str, Any], size: str, settings_name: str, operator: str, key: str) -> float | None:
    entry = result["sizes"][size]
    runs = entry.get(settings_name, {})
    if operator == "raykube" and "raykube" not in runs:
        runs = entry.get("raised", {})  # "tuned" compares KubeRay tuned with raykube at the same limits
    value = runs.get(operator, {}).get(key)
    return None if value is None else float(value)


def _ceiling_cpu(ceiling: dict[str, Any], part: str) -> float | None:
    """The bare pods' cluster CPU (``part`` or ``total``), from start to all Running; None in older results."""
    spent = ceiling.get("cluster_cpu_seconds")
    if not spent:
        return None
    return float(spent["total"] if part == "total" else spent.get(part, 0.0))


def rows(result: dict[str, Any]) -> list[Row]:
    out = []
    for size, entry in result["sizes"].items():
        ceiling = entry["ceiling"]
        for name in result["settings"]:
            tag = f"{size} x {result['workers'] + 1} pods, {name}"
            if name == "tuned" and "raised" in result["settings"]:
                tag += " (raykube: raised)"

            def row(measure: str, key: str, fmt: str = ".1f", baseline: float | None = None,
                    tag: str = tag, name: str = name, size: str = size) -> Row:
                return Row(f"{tag}: {measure}", _value(result, size, name, "raykube", key),
                           _value(result, size, name, "kuberay", key), baseline, fmt)

            out += [
                row("pods Running/s", "pods_per_second", baseline=ceiling["running_per_second"]),
                row("seconds until all ready", "ready_seconds", baseline=ceiling["running_seconds"]),
                row("seconds until every pod created", "pods_created_seconds", baseline=ceiling["create_seconds"]),
                row("seconds until every pod Running", "pods_running_seconds", baseline=ceiling["running_seconds"]),
                row("one cluster's time to ready, p50 s", "ready_p50_seconds"),
                row("cluster CPU seconds (control plane + kwok)", "cluster_cpu_total",
                    baseline=_ceiling_cpu(ceiling, "total")),
                row("  of which the API server", "apiserver_cpu", baseline=_ceiling_cpu(ceiling, "API server")),
                row("API requests per cluster", "requests_per_cluster"),
                row("operator CPU seconds", "cpu_seconds", ".2f"),
                row("operator peak RSS MiB", "peak_rss_mib"),
                row("reconciles (mean ms)", "mean_reconcile_ms"),
            ]
    return out


def chart(result: dict[str, Any]) -> Chart:
    panels = []
    for size, entry in result["sizes"].items():
        bars = []
        for name in result["settings"]:
            for operator in ("raykube", "kuberay"):
                if operator not in entry.get(name, {}):
                    continue  # tuned: raykube's figure is its "raised" bar
                value = _value(result, size, name, operator, "pods_per_second")
                if value is not None:
                    bars.append(Bar(f"{name} {LABELS[operator]}", value, LABELS[operator]))
        bars.append(Bar("bare pods", entry["ceiling"]["running_per_second"], "ceiling"))
        panels.append(Panel(f"{size} RayClusters x (1 head + {result['workers']} workers): pods Running/s", bars))
    return Chart(TITLE + " (tuned: KubeRay at 16 workers)", panels)
