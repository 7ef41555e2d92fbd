"""Steady state at scale: M RayClusters idle, then one spec change per second.

Per operator, alone on the cluster in its own namespace:

1. M RayClusters (1 head + W workers) created at once and all `ready`; a settling pause;
2. *idle*: for a window, the operator's RSS, CPU seconds per minute and API requests per minute;
3. *changes*: one spec change per interval (cluster i % M gets one more worker replica); each change's
   reaction time: from the PATCH until the new worker pod exists (the operator's effect), and until it is
   Running (what a user sees).

The ceiling of the reaction: a bare pod created through the API once per interval, timed the same way.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from bench.operators.chart import Bar, Chart, Panel
from bench.operators.measure import LABELS, Bench, OperatorName, Settings, Tracker, clusters, pods, summary
from bench.operators.report import Row, measured
from raykube.controllers.kinds import POD, RAYCLUSTER
from raykube.runtime.client import PatchType

TITLE = "Steady state"
BASELINE = "ceiling"


@dataclass(frozen=True)
class Plan:
    """M clusters of 1 head + W workers; the idle window; the spec changes, one per interval."""

    count: int
    workers: int
    idle_seconds: float
    changes: int
    interval: float
    settle: float


async def run(bench: Bench, plan: Plan, *, settings_name: str, operators: tuple[OperatorName, ...]
              ) -> dict[str, Any]:
    out: dict[str, Any] = {"clusters": plan.count, "workers": plan.workers, "idle_seconds": plan.idle_seconds,
                           "changes": plan.changes, "interval_seconds": plan.interval, "settings": settings_name,
                           "ceiling": await bare_pod_reactions(bench, plan.changes, plan.interval)}
    chosen = bench.settings(settings_name)
    for operator in operators:
        out[operator] = await steady(bench, operator, chosen, plan)
    return out


async def _reaction(tracker: Tracker, cluster: str, target: int, since: float, timeout: float
                    ) -> tuple[float, float]:
    """Seconds from ``since`` until cluster ``cluster`` has ``target`` worker pods, and ``target`` Running."""

    def names() -> list[str]:
        return tracker.where("ray.io/cluster", cluster)

    await tracker.until(lambda: tracker.count("running", names()) >= target, timeout)
    seen = tracker.nth("seen", target, names()) or time.monotonic()
    running = tracker.nth("running", target, names()) or time.monotonic()
    return seen - since, running - since


async def bare_pod_reactions(bench: Bench, count: int, interval: float) -> dict[str, Any]:
    """One bare pod per interval: seconds from create to seen by a watch, and to Running."""
    ns = await bench.namespace("steady-ceiling")
    tracker = await pods(bench, ns).start()
    samples: list[tuple[float, float]] = []
    try:
        async def one(i: int) -> None:
            name = f"bare-{i:04d}"
            since = time.monotonic()
            await bench.client.create(POD, {"metadata": {"name": name}, "spec": {"containers": [
                {"name": "ray", "image": "rayproject/ray:2.46.0"}]}}, namespace=ns)
            await tracker.until(lambda: tracker.count("running", [name]) == 1, 300)
            samples.append((tracker.first[name]["seen"] - since, tracker.first[name]["running"] - since))

        tasks = []
        start = time.monotonic()
        for i in range(count):
            tasks.append(asyncio.create_task(one(i)))
            await asyncio.sleep(max(0.0, start + (i + 1) * interval - time.monotonic()))
        await asyncio.gather(*tasks)
    finally:
        await tracker.stop()
    await bench.drop_namespace(ns)
    return {"created": summary([s[0] for s in samples]), "running": summary([s[1] for s in samples])}


async def steady(bench: Bench, operator: OperatorName, chosen: Settings, plan: Plan) -> dict[str, Any]:
    count, workers, changes = plan.count, plan.workers, plan.changes
    ns = await bench.namespace(f"steady-{operator}")
    op = bench.start(operator, chosen, ns)
    rc = await clusters(bench, ns).start()
    names = [f"rc-{i:04d}" for i in range(count)]
    timeout = 600 + count * (workers + 1)
    try:
        await bench.create_clusters(ns, names, workers, max_workers=workers + changes // count + 1)
        await rc.until(lambda: rc.count("ready") >= count, timeout)  # only these in the namespace
        ready_clusters = rc.count("ready", names)
        await asyncio.sleep(plan.settle)
        before = op.usage()
        await asyncio.sleep(plan.idle_seconds)
        idle = op.since(before)
        bench.progress(f"{LABELS[operator]} idle with {count} RayClusters: {idle['cpu_seconds']:.2f} CPU s, "
                       f"{idle['requests']:.0f} requests in {idle['seconds']:.0f} s")
        before = op.usage()
        reactions = await spec_changes(bench, ns, names, workers, changes, plan.interval)
        changing = op.since(before)
    finally:
        await rc.stop()
        bench.stop(op)
    await bench.drop_namespace(ns)
    per_minute = 60 / idle["seconds"]
    return {
        "ready_clusters": ready_clusters,
        "idle": idle,
        "idle_rss_mib": idle["rss_mib"],
        "idle_rss_kib_per_cluster": 1024 * idle["rss_mib"] / count,
        "idle_cpu_seconds_per_minute": idle["cpu_seconds"] * per_minute,
        "idle_requests_per_minute": idle["requests"] * per_minute,
        "idle_writes_per_minute": idle["writes"] * per_minute,
        "reaction_created": summary([r[0] for r in reactions]),
        "reaction_running": summary([r[1] for r in reactions]),
        "changing": changing,
    }


async def spec_changes(bench: Bench, ns: str, names: list[str], workers: int, changes: int, interval: float
                       ) -> list[tuple[float, float]]:
    """One replicas +1 per interval, round robin over ``names``; each change's reaction times."""
    tracker = await pods(bench, ns, "ray.io/node-type=worker").start()
    replicas = dict.fromkeys(names, workers)
    tasks = []
    try:
        start = time.monotonic()
        for i in range(changes):
            name = names[i % len(names)]
            replicas[name] += 1
            patch = [{"op": "replace", "path": "/spec/workerGroupSpecs/0/replicas", "value": replicas[name]}]
            since = time.monotonic()
            await bench.client.patch(RAYCLUSTER, name, patch, namespace=ns, patch_type=PatchType.JSON)
            tasks.append(asyncio.create_task(_reaction(tracker, name, replicas[name], since, 300)))
            await asyncio.sleep(max(0.0, start + (i + 1) * interval - time.monotonic()))
        return list(await asyncio.gather(*tasks))
    finally:
        await tracker.stop()


def rows(result: dict[str, Any]) -> list[Row]:
    ceiling = result["ceiling"]

    def row(measure: str, *keys: str, fmt: str = ".2f", baseline: float | None = None) -> Row:
        return Row(measure, measured(result, "raykube", *keys), measured(result, "kuberay", *keys), baseline, fmt)

    idle = f"{result['clusters']} clusters idle"
    change = f"{result['changes']} changes"
    return [
        row(f"{idle}: operator RSS MiB", "idle_rss_mib", fmt=".1f"),
        row(f"{idle}: RSS KiB per cluster", "idle_rss_kib_per_cluster", fmt=".1f"),
        row(f"{idle}: CPU seconds per minute", "idle_cpu_seconds_per_minute"),
        row(f"{idle}: API requests per minute", "idle_requests_per_minute", fmt=".1f"),
        row(f"{idle}: API writes per minute", "idle_writes_per_minute", fmt=".1f"),
        row(f"{change}: to new pod p50 s", "reaction_created", "p50", fmt=".3f",
            baseline=ceiling["created"]["p50"]),
        row(f"{change}: to new pod p99 s", "reaction_created", "p99", fmt=".3f",
            baseline=ceiling["created"]["p99"]),
        row(f"{change}: to pod Running p50 s", "reaction_running", "p50", fmt=".3f",
            baseline=ceiling["running"]["p50"]),
        row(f"{change}: to pod Running p99 s", "reaction_running", "p99", fmt=".3f",
            baseline=ceiling["running"]["p99"]),
    ]


def chart(result: dict[str, Any]) -> Chart:
    operators = ("raykube", "kuberay")

    def bars(*keys: str) -> list[Bar]:
        return [Bar(LABELS[o], measured(result, o, *keys), LABELS[o]) for o in operators]

    reaction = []
    for q in ("p50", "p99"):
        reaction += [Bar(f"{q} {LABELS[o]}", measured(result, o, "reaction_running", q), LABELS[o]) for o in operators]
        reaction.append(Bar(f"{q} bare pod", result["ceiling"]["running"][q], "ceiling"))
    return Chart(f"{TITLE}: {result['clusters']} RayClusters", [
        Panel("idle: operator RSS MiB", bars("idle_rss_mib")),
        Panel("idle: CPU seconds per minute", bars("idle_cpu_seconds_per_minute")),
        Panel("idle: API requests per minute", bars("idle_requests_per_minute")),
        Panel("spec change -> new worker Running, seconds", reaction),
    ])
