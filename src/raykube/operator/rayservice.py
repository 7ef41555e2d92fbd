"""Wiring of the RayService controller (called by :func:`raykube.operator.app.build`).

  RayService  For(RayService, generation|labels|annotations changed)  Owns(RayCluster)  Owns(Service)
              Watches(head Pod → its cluster's RayService)  Watches(EndpointSlice → its Service's RayService)

As KubeRay, the RayService's own status writes do not wake it (the predicates); it looks again every 2 s
while anything is in motion. The RayCluster, Ray pod and Service informers are the RayCluster controller's;
EndpointSlices are cached only when labelled ``ray.io/originated-from-crd=RayService``. Serve calls go
through one :class:`~raykube.ray.serve.ServeClient` and :class:`~raykube.controllers.rayservice.serve.ServeProbes`,
whose answers re-enqueue the RayService.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily

from raykube import reasons
from raykube.controllers.kinds import ENDPOINT_SLICE, RAYCLUSTER, RAYSERVICE
from raykube.controllers.raycluster.cache import NamespaceInformers
from raykube.controllers.rayservice.cache import (
    BY_PARENT,
    BY_SERVICE_NAME,
    SLICE_SELECTOR,
    ServiceCache,
    ServiceInformers,
    by_parent,
    by_service_name,
    rayservice_of,
    rayservice_of_pod,
)
from raykube.controllers.rayservice.plan import RayServiceSettings
from raykube.controllers.rayservice.reconciler import RayServiceReconciler
from raykube.controllers.rayservice.serve import ServeProbes
from raykube.operator import wiring
from raykube.operator.config import OperatorConfig
from raykube.ray.serve import ServeClient
from raykube.runtime.client import KubeClient
from raykube.runtime.manager import Manager
from raykube.runtime.metrics import RuntimeMetrics
from raykube.runtime.predicates import ANNOTATIONS_CHANGED, GENERATION_CHANGED, LABELS_CHANGED, AnyOf

ENV_ZERO_DOWNTIME = "ENABLE_ZERO_DOWNTIME"


#: The RayService controller and what must be closed with it.
RayServiceParts = wiring.ProbingParts[ServiceCache, ServeProbes]


class RayServiceCollector(wiring.ProbingCollector[ServiceCache]):
    """``raykube_rayservices{ready,upgrade_in_progress}`` from the cache; Serve calls made, at scrape time."""

    calls_metric, calls, kind = "raykube_rayservice_serve_calls", "Ray Serve API calls", "RayService"

    def states(self) -> Iterator[GaugeMetricFamily]:
        counts = Counter(_conditions(obj) for obj in self._cache.all_rayservices())
        services = GaugeMetricFamily(
            "raykube_rayservices", "RayServices by their Ready and UpgradeInProgress conditions.",
            labels=["ready", "upgrade_in_progress"],
        )
        for labels in sorted(counts):
            services.add_metric(list(labels), counts[labels])
        yield services


def _conditions(obj: dict[str, object]) -> tuple[str, str]:
    status = obj.get("status") or {}
    conditions = status.get("conditions") if isinstance(status, dict) else None
    found = {str(c.get("type")): str(c.get("status")) for c in conditions or [] if isinstance(c, dict)}
    return (found.get(reasons.RayServiceConditionType.READY, "Unknown"),
            found.get(reasons.RayServiceConditionType.UPGRADE_IN_PROGRESS, "Unknown"))


def build_rayservice(
    config: OperatorConfig,
    client: KubeClient,
    manager: Manager,
    cluster_informers: dict[str | None, NamespaceInformers],
    metrics: RuntimeMetrics,
    registry: CollectorRegistry | None = None,
) -> RayServiceParts:
    serve, proxy_base = wiring.dashboard_client(config, ServeClient)
    jobs = config.rayjob
    settings = RayServiceSettings(
        zero_downtime=os.environ.get(ENV_ZERO_DOWNTIME, "true").lower() != "false",
        dashboard_url_override=jobs.dashboard_url_override,
        kubernetes_proxy_base=proxy_base,
        incremental_upgrade=config.gate("RayServiceIncrementalUpgrade"),
    )
    informers = {
        namespace: ServiceInformers(
            rayservices=manager.informer(RAYSERVICE, namespace=namespace),
            clusters=manager.informer(RAYCLUSTER, namespace=namespace, indexers={BY_PARENT: by_parent}),
            services=shared.services,
            pods=shared.pods,
            slices=manager.informer(ENDPOINT_SLICE, namespace=namespace, label_selector=SLICE_SELECTOR,
                                    indexers={BY_SERVICE_NAME: by_service_name}),
        )
        for namespace, shared in cluster_informers.items()
    }
    cache = ServiceCache(informers)
    probes = ServeProbes(serve, concurrency=config.rayjob.dashboard_concurrency)
    if registry is not None:
        registry.register(RayServiceCollector(cache, probes))
    controller, recorder = wiring.probing_controller(
        config, client, "rayservice", RayServiceReconciler, cache=cache, probes=probes, settings=settings,
        metrics=metrics,
    )
    for ns in informers.values():
        controller.for_(ns.rayservices, AnyOf(GENERATION_CHANGED, LABELS_CHANGED, ANNOTATIONS_CHANGED))
        controller.owns(ns.clusters, owner_kind="RayService", owner_group="ray.io")
        controller.owns(ns.services, owner_kind="RayService", owner_group="ray.io")
        controller.watches(ns.pods, lambda pod: rayservice_of_pod(cache, pod))
        controller.watches(ns.slices, rayservice_of)
    wiring.run(manager, controller, recorder)
    return RayServiceParts(controller, cache, probes, serve, recorder)
