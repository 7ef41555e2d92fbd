"""Operator-level Prometheus metrics computed at scrape time from the informer caches.

`raykube_rayclusters{state}` counts RayClusters by `status.state` (`ready`, `suspended`, or `provisioning`
while a cluster has no state yet). It is a collector, not a gauge kept up to date by the reconciler, so it
can never drift from what the cache holds and costs nothing between scrapes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from raykube.runtime.objects import Obj


class ClusterStateCollector(Collector):
    """Counts the cached RayClusters by state."""

    def __init__(self, clusters: Callable[[], list[Obj]]) -> None:
        self._clusters = clusters

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = Counter(str((c.get("status") or {}).get("state") or "provisioning") for c in self._clusters())
        family = GaugeMetricFamily("raykube_rayclusters", "RayClusters by status.state.", labels=["state"])
        for state in sorted(counts.keys() | {"ready", "suspended", "provisioning"}):
            family.add_metric([state], counts.get(state, 0))
        yield family
