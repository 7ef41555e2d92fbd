"""API writes per cluster: the minimum possible against what each operator sends.

The minimum for a RayCluster of 1 head + W workers: W+1 pods and the head Service created, one status
write (``ready``): W+3 writes. Each operator, alone in its own namespace with leader election off (Lease
renewals are not per-cluster writes), brings N RayClusters up; its writes are the POST, PUT, PATCH and
DELETE of its own ``rest_client_requests_total``, counted from before the first create until a settling
pause after the last cluster is ready. Events are POSTs too: the Events about RayClusters left in the
namespace are counted separately.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.operators.chart import Bar, Chart, Panel
from bench.operators.measure import WRITE_METHODS, Bench, OperatorName, Settings, clusters
from bench.operators.report import Row, measured
from raykube.runtime.kinds import EVENT

TITLE = "API writes per cluster"
BASELINE = "minimum"


async def run(bench: Bench, *, count: int, workers: int, settle: float, settings_name: str,
              operators: tuple[OperatorName, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"clusters": count, "workers": workers, "settings": settings_name,
                           "minimum": {"creates": workers + 2, "status_writes": 1, "writes": workers + 3}}
    chosen = bench.settings(settings_name)
    for operator in operators:
        out[operator] = await writes(bench, operator, chosen, count=count, workers=workers, settle=settle)
    return out


async def writes(bench: Bench, operator: OperatorName, chosen: Settings, *, count: int, workers: int,
                 settle: float) -> dict[str, Any]:
    ns = await bench.namespace(f"writes-{operator}")
    op = bench.start(operator, chosen, ns, leader_election=False)
    tracker = await clusters(bench, ns).start()
    names = [f"rc-{i:04d}" for i in range(count)]
    try:
        before = op.usage()
        start = time.monotonic()
        await bench.create_clusters(ns, names, workers)
        await tracker.until(lambda: tracker.count("ready") >= count, 600 + count * (workers + 1))
        ready = time.monotonic() - start
        await asyncio.sleep(settle)
        used = op.since(before)
        events = [e for e in (await bench.client.list(EVENT, namespace=ns)).items
                  if (e.get("regarding") or {}).get("kind") == "RayCluster"]
    finally:
        await tracker.stop()
        bench.stop(op)
    await bench.drop_namespace(ns)
    by_method = used["requests_by_method"]
    conflicts = sum(n for key, n in used["requests_by_method_code"].items() if key.endswith(" 409"))
    return {
        "ready_clusters": tracker.count("ready", names),
        "ready_seconds": ready,
        "writes_per_cluster": used["writes"] / count,
        "writes_per_cluster_by_method": {m: by_method.get(m, 0.0) / count for m in WRITE_METHODS},
        "reads_per_cluster": sum(n for m, n in by_method.items() if m not in WRITE_METHODS) / count,
        "requests_per_cluster": used["requests"] / count,
        "conflicts_per_cluster": conflicts / count,
        "raycluster_events_per_cluster": len(events) / count,
        **used,
    }


def rows(result: dict[str, Any]) -> list[Row]:
    minimum = result["minimum"]

    def row(measure: str, *keys: str, baseline: float | None = None) -> Row:
        return Row(measure, measured(result, "raykube", *keys), measured(result, "kuberay", *keys), baseline, ".2f")

    return [
        row("writes per cluster", "writes_per_cluster", baseline=minimum["writes"]),
        row("  POST (creates, Events)", "writes_per_cluster_by_method", "POST", baseline=minimum["creates"]),
        row("  PUT (status, updates)", "writes_per_cluster_by_method", "PUT", baseline=minimum["status_writes"]),
        row("  PATCH", "writes_per_cluster_by_method", "PATCH", baseline=0),
        row("  DELETE", "writes_per_cluster_by_method", "DELETE", baseline=0),
        row("Events about the RayCluster", "raycluster_events_per_cluster", baseline=0),
        row("409 conflicts per cluster", "conflicts_per_cluster", baseline=0),
        row("reads per cluster (GET, LIST, WATCH)", "reads_per_cluster"),
        row("all requests per cluster", "requests_per_cluster"),
    ]


def chart(result: dict[str, Any]) -> Chart:
    operators = ("raykube", "kuberay")
    labels = {"raykube": "raykube", "kuberay": "KubeRay"}
    total = [Bar("minimum", float(result["minimum"]["writes"]), "minimum")]
    total += [Bar(labels[o], measured(result, o, "writes_per_cluster"), labels[o]) for o in operators]
    methods = []
    for method in WRITE_METHODS:
        methods += [Bar(f"{method} {labels[o]}", measured(result, o, "writes_per_cluster_by_method", method), labels[o])
                    for o in operators]
    return Chart(f"{TITLE}: {result['clusters']} RayClusters of 1 head + {result['workers']} workers", [
        Panel("writes per cluster", total),
        Panel("writes per cluster by method", methods),
    ])
