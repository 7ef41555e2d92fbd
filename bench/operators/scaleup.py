"""One big scale-up: does one cluster's 0 -> N workers starve everyone else (kuberay#3909)?

Per operator, alone on the cluster in its own namespace:

1. *quiet*: S small RayClusters (1 head + W workers) created one per interval; each one's time from create
   to `ready`;
2. a big RayCluster with 0 workers (``maxReplicas`` N), ready;
3. *loaded*: the big cluster's replicas patched 0 -> N and, from the same moment, S more small clusters
   created one per interval; each one's time to ready, and the big cluster's worker pods created and
   Running per second.

A small cluster's time to ready is split in stages: until all its pods exist (the operator's part), until all
are bound to a node (the scheduler's, which serves pods in arrival order, so a small cluster's pods wait
behind the big cluster's that came first), until all are Running (the node's: kwok here, a kubelet on a real
cluster) and until the cluster's status says `ready` (the operator's again).

The ceiling: N bare pods through the API, in the same run.
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
    Tracker,
    bare_pods,
    clusters,
    pods,
    ratio,
    raycluster,
    summary,
)
from bench.operators.report import Row, measured
from raykube.controllers.kinds import RAYCLUSTER
from raykube.runtime.client import PatchType

TITLE = "One big scale-up"
BASELINE = "ceiling"


async def run(bench: Bench, *, big_workers: int, small: int, interval: float, workers: int, settings_name: str,
              operators: tuple[OperatorName, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"big_workers": big_workers, "small_clusters": small, "interval_seconds": interval,
                           "workers": workers, "settings": settings_name,
                           "ceiling": await bare_pods(bench, big_workers)}
    chosen = bench.settings(settings_name)
    for operator in operators:
        out[operator] = await scale_up(bench, operator, chosen, big_workers=big_workers, small=small,
                                       interval=interval, workers=workers)
    return out


async def small_wave(bench: Bench, tracker: Tracker, ns: str, prefix: str, count: int, interval: float,
                     workers: int, timeout: float) -> dict[str, float]:
    """``count`` small clusters created one per ``interval``; when each was created (monotonic seconds), once
    all are `ready`."""
    created: dict[str, float] = {}
    start = time.monotonic()
    for i in range(count):
        name = f"{prefix}-{i:03d}"
        created[name] = time.monotonic()
        await bench.client.create(RAYCLUSTER, raycluster(name, workers), namespace=ns)
        await asyncio.sleep(max(0.0, start + (i + 1) * interval - time.monotonic()))
    await tracker.until(lambda: tracker.count("ready", created) == count, timeout)
    return created


def seconds_until(tracker: Tracker, created: dict[str, float], state: str, *, pods: int | None = None
                  ) -> list[float]:
    """Per cluster of ``created``: seconds from its create until it reached ``state`` (``tracker`` over the
    clusters) or, with ``pods``, until all its ``pods`` pods had (``tracker`` over the pods)."""
    out = []
    for name, start in created.items():
        if pods is None:
            reached = tracker.times(state, [name])
        else:
            reached = tracker.times(state, tracker.where("ray.io/cluster", name))
            if len(reached) < pods:
                continue
        if reached:
            out.append(max(reached.values()) - start)
    return out


async def scale_up(bench: Bench, operator: OperatorName, chosen: Settings, *, big_workers: int, small: int,
                   interval: float, workers: int) -> dict[str, Any]:
    ns = await bench.namespace(f"scaleup-{operator}")
    op = bench.start(operator, chosen, ns)
    rc = await clusters(bench, ns).start()
    big = await pods(bench, ns, "ray.io/cluster=big,ray.io/node-type=worker").start()
    small_pods = await pods(bench, ns, "ray.io/cluster,ray.io/cluster!=big").start()
    timeout = 600 + big_workers
    try:
        quiet = await small_wave(bench, rc, ns, "quiet", small, interval, workers, timeout)
        await bench.client.create(RAYCLUSTER, raycluster("big", 0, max_workers=big_workers), namespace=ns)
        await rc.until(lambda: rc.count("ready", ["big"]) == 1, timeout)
        before = op.usage()
        patch = [{"op": "replace", "path": "/spec/workerGroupSpecs/0/replicas", "value": big_workers}]
        start = time.monotonic()
        await bench.client.patch(RAYCLUSTER, "big", patch, namespace=ns, patch_type=PatchType.JSON)
        wave = asyncio.create_task(small_wave(bench, rc, ns, "loaded", small, interval, workers, timeout))
        await big.until(lambda: big.count("running") >= big_workers, timeout)
        loaded = await wave
        used = op.since(before)
    finally:
        await big.stop()
        await small_pods.stop()
        await rc.stop()
        bench.stop(op)
    await bench.drop_namespace(ns)
    created_at = big.nth("seen", big_workers) or time.monotonic()
    running_at = big.nth("running", big_workers) or time.monotonic()
    bench.progress(f"{LABELS[operator]} scale-up: {big_workers} workers Running in {running_at - start:.1f} s")
    phases: dict[str, Any] = {}
    for phase, created in (("quiet", quiet), ("loaded", loaded)):
        for stage, state in (("created", "seen"), ("scheduled", "scheduled"), ("running", "running")):
            phases[f"{phase}_{stage}_seconds"] = summary(seconds_until(small_pods, created, state, pods=1 + workers))
        ready = seconds_until(rc, created, "ready")
        phases[f"{phase}_ready_seconds"] = summary(ready)
        phases[f"{phase}_samples"] = dict(zip(created, ready, strict=True))
    return {
        **phases,
        "ready_clusters": rc.count("ready"),
        "big_created_seconds": created_at - start,
        "big_running_seconds": running_at - start,
        "big_created_per_second": big_workers / (created_at - start),
        "big_running_per_second": big_workers / (running_at - start),
        **used,
    }


def rows(result: dict[str, Any]) -> list[Row]:
    ceiling = result["ceiling"]

    def row(measure: str, *keys: str, fmt: str = ".2f", baseline: float | None = None) -> Row:
        return Row(measure, measured(result, "raykube", *keys), measured(result, "kuberay", *keys), baseline, fmt)

    def slowdown(operator: str) -> float | None:
        return ratio(measured(result, operator, "loaded_ready_seconds", "p99"),
                     measured(result, operator, "quiet_ready_seconds", "p99"))

    small = f"{result['small_clusters']} small clusters"
    big = f"big cluster 0 -> {result['big_workers']}"
    return [
        row(f"{small}, quiet operator: ready p50 s", "quiet_ready_seconds", "p50"),
        row(f"{small}, quiet operator: ready p99 s", "quiet_ready_seconds", "p99"),
        row(f"{small}, during scale-up: ready p50 s", "loaded_ready_seconds", "p50"),
        row(f"{small}, during scale-up: ready p99 s", "loaded_ready_seconds", "p99"),
        row(f"{small}, quiet: all pods created p99 s", "quiet_created_seconds", "p99"),
        row(f"{small}, during scale-up: all pods created p99 s", "loaded_created_seconds", "p99"),
        row(f"{small}, quiet: all pods scheduled p99 s", "quiet_scheduled_seconds", "p99"),
        row(f"{small}, during scale-up: all pods scheduled p99 s", "loaded_scheduled_seconds", "p99"),
        row(f"{small}, quiet: all pods Running p99 s", "quiet_running_seconds", "p99"),
        row(f"{small}, during scale-up: all pods Running p99 s", "loaded_running_seconds", "p99"),
        Row(f"{small}: p99 during / p99 quiet", slowdown("raykube"), slowdown("kuberay"), None, ".2f"),
        row(f"{big}: worker pods Running/s", "big_running_per_second", fmt=".1f",
            baseline=ceiling["running_per_second"]),
        row(f"{big}: worker pods created/s", "big_created_per_second", fmt=".1f",
            baseline=ceiling["create_per_second"]),
        row(f"{big}: seconds until all Running", "big_running_seconds", fmt=".1f",
            baseline=ceiling["running_seconds"]),
        row("operator CPU seconds (scale-up)", "cpu_seconds"),
        row("operator peak RSS MiB", "peak_rss_mib", fmt=".1f"),
    ]


def chart(result: dict[str, Any]) -> Chart:
    ready = []
    for phase, label in (("quiet", "quiet"), ("loaded", "scale-up")):
        for q in ("p50", "p99"):
            for operator in ("raykube", "kuberay"):
                seconds = measured(result, operator, f"{phase}_ready_seconds", q)
                ready.append(Bar(f"{label} {q} {LABELS[operator]}", seconds, LABELS[operator]))
    big = [Bar(LABELS[o], measured(result, o, "big_running_per_second"), LABELS[o]) for o in ("raykube", "kuberay")]
    big.append(Bar("bare pods", result["ceiling"]["running_per_second"], "ceiling"))
    return Chart(f"{TITLE}: 0 -> {result['big_workers']} workers, {result['small_clusters']} small clusters", [
        Panel("small clusters: seconds from create to ready", ready),
        Panel("big cluster: worker pods Running/s", big),
    ])
