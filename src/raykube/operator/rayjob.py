"""Wiring of the RayJob controller (called by :func:`raykube.operator.app.build`).

  RayJob  For(RayJob)  Owns(RayCluster)  Owns(batch Job, label app.kubernetes.io/created-by=kuberay-operator)
          Owns(Service)  Watches(head Pod → its cluster's RayJob, for SidecarMode)

``For(RayJob)`` has no predicate, as in KubeRay: a status write by anyone wakes the RayJob. The RayCluster,
Ray pod and Service informers are the RayCluster controller's own (the manager shares one informer per
kind and filter). Dashboard calls go through one :class:`~raykube.ray.client.DashboardClient` (one
connection pool) and :class:`~raykube.controllers.rayjob.dashboard.DashboardProbes`, whose answers
re-enqueue the RayJob on this controller's queue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily

from raykube.controllers.kinds import JOB, RAYJOB
from raykube.controllers.raycluster.cache import NamespaceInformers
from raykube.controllers.rayjob.cache import SUBMITTER_SELECTOR, JobCache, JobInformers, rayjob_of_head_pod
from raykube.controllers.rayjob.dashboard import DashboardProbes
from raykube.controllers.rayjob.reconciler import RayJobReconciler
from raykube.operator import wiring
from raykube.operator.config import OperatorConfig
from raykube.ray.client import DashboardClient
from raykube.runtime.client import KubeClient
from raykube.runtime.manager import Manager
from raykube.runtime.metrics import RuntimeMetrics

#: The RayJob controller and what must be closed with it.
RayJobParts = wiring.ProbingParts[JobCache, DashboardProbes]


class RayJobCollector(wiring.ProbingCollector[JobCache]):
    """``raykube_rayjobs{deployment_status}`` from the cache; dashboard calls made and in flight, at scrape time."""

    calls_metric, calls, kind = "raykube_rayjob_dashboard_calls", "Ray dashboard calls", "RayJob"

    def states(self) -> Iterator[GaugeMetricFamily]:
        counts = Counter(str((j.get("status") or {}).get("jobDeploymentStatus") or "New")
                         for j in self._cache.all_rayjobs())
        jobs = GaugeMetricFamily("raykube_rayjobs", "RayJobs by status.jobDeploymentStatus.",
                                 labels=["deployment_status"])
        for state in sorted(counts):
            jobs.add_metric([state], counts[state])
        yield jobs


def build_rayjob(
    config: OperatorConfig,
    client: KubeClient,
    manager: Manager,
    cluster_informers: dict[str | None, NamespaceInformers],
    metrics: RuntimeMetrics,
    registry: CollectorRegistry | None = None,
) -> RayJobParts:
    dashboard, proxy_base = wiring.dashboard_client(config, DashboardClient)
    settings = config.rayjob if proxy_base is None else replace(config.rayjob, kubernetes_proxy_base=proxy_base)
    informers = {
        namespace: JobInformers(
            rayjobs=manager.informer(RAYJOB, namespace=namespace),
            clusters=shared.clusters,
            submitters=manager.informer(JOB, namespace=namespace, label_selector=SUBMITTER_SELECTOR),
            services=shared.services,
            pods=shared.pods,
        )
        for namespace, shared in cluster_informers.items()
    }
    cache = JobCache(informers)
    probes = DashboardProbes(dashboard, concurrency=settings.dashboard_concurrency)
    if registry is not None:
        registry.register(RayJobCollector(cache, probes))
    controller, recorder = wiring.probing_controller(
        config, client, "rayjob", RayJobReconciler, cache=cache, probes=probes, settings=settings,
        metrics=metrics,
    )
    for ns_informers in informers.values():
        controller.for_(ns_informers.rayjobs)
        controller.owns(ns_informers.clusters, owner_kind="RayJob", owner_group="ray.io")
        controller.owns(ns_informers.submitters, owner_kind="RayJob", owner_group="ray.io")
        controller.owns(ns_informers.services, owner_kind="RayJob", owner_group="ray.io")
        controller.watches(ns_informers.pods, lambda pod: rayjob_of_head_pod(cache, pod))
    wiring.run(manager, controller, recorder)
    return RayJobParts(controller, cache, probes, dashboard, recorder)
