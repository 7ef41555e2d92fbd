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
from dataclasses import dataclass, replace

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from raykube.controllers.events import reporting
from raykube.controllers.kinds import JOB, RAYJOB
from raykube.controllers.raycluster.cache import NamespaceInformers
from raykube.controllers.rayjob.cache import SUBMITTER_SELECTOR, JobCache, JobInformers, rayjob_of_head_pod
from raykube.controllers.rayjob.dashboard import DashboardProbes
from raykube.controllers.rayjob.reconciler import RayJobReconciler
from raykube.operator.config import OperatorConfig
from raykube.ray.client import DashboardClient
from raykube.runtime.apiaccess import load_access
from raykube.runtime.client import KubeClient
from raykube.runtime.controller import Controller
from raykube.runtime.events import EventRecorder
from raykube.runtime.manager import Manager
from raykube.runtime.metrics import RuntimeMetrics

#: KubeRay's RayHTTPClientProxyTimeoutSeconds: calls through the API server's proxy get more time.
PROXY_TIMEOUT = 10.0


@dataclass
class RayJobParts:
    """The RayJob controller and what must be closed with it."""

    controller: Controller
    cache: JobCache
    probes: DashboardProbes
    dashboard: DashboardClient
    recorder: EventRecorder

    async def close(self) -> None:
        await self.probes.close()
        await self.dashboard.close()
        await self.recorder.flush()


class RayJobCollector(Collector):
    """``raykube_rayjobs{deployment_status}`` from the cache; dashboard calls made and in flight, at scrape time."""

    def __init__(self, cache: JobCache, probes: DashboardProbes) -> None:
        self._cache = cache
        self._probes = probes

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        counts = Counter(str((j.get("status") or {}).get("jobDeploymentStatus") or "New")
                         for j in self._cache.all_rayjobs())
        jobs = GaugeMetricFamily("raykube_rayjobs", "RayJobs by status.jobDeploymentStatus.",
                                 labels=["deployment_status"])
        for state in sorted(counts):
            jobs.add_metric([state], counts[state])
        yield jobs
        yield CounterMetricFamily("raykube_rayjob_dashboard_calls", "Ray dashboard calls made by the RayJob "
                                  "controller (background, never in a reconcile).", value=self._probes.calls_made)
        yield GaugeMetricFamily("raykube_rayjob_dashboard_calls_in_flight", "Ray dashboard calls under way.",
                                value=self._probes.in_flight)


def build_rayjob(
    config: OperatorConfig,
    client: KubeClient,
    manager: Manager,
    cluster_informers: dict[str | None, NamespaceInformers],
    metrics: RuntimeMetrics,
    registry: CollectorRegistry | None = None,
) -> RayJobParts:
    settings = config.rayjob
    transport, headers, timeout = None, None, settings.dashboard_timeout
    if settings.use_kubernetes_proxy and not settings.dashboard_url_override:
        access = load_access(config.kubeconfig, in_cluster=not config.kubeconfig)
        settings = replace(settings, kubernetes_proxy_base=access.server)
        transport, headers, timeout = access.transport(), access.headers, PROXY_TIMEOUT
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
    dashboard = DashboardClient(transport=transport, headers=headers, timeout=timeout,
                                max_connections=settings.dashboard_concurrency, user_agent="raykube-operator")
    probes = DashboardProbes(dashboard, concurrency=settings.dashboard_concurrency)
    if registry is not None:
        registry.register(RayJobCollector(cache, probes))
    recorder = EventRecorder(client.with_rate_limit(config.qps, config.burst), controller="rayjob-controller")
    reconciler = RayJobReconciler(
        client, cache=cache, probes=probes, recorder=recorder, settings=settings, operator_settings=config.settings
    )
    reconcile = reporting(reconciler.reconcile, lookup=cache.rayjob, recorder=recorder)
    controller = Controller("rayjob", reconcile, workers=config.reconcile_concurrency, metrics=metrics)
    probes.on_answer = controller.queue.add
    for ns_informers in informers.values():
        controller.for_(ns_informers.rayjobs)
        controller.owns(ns_informers.clusters, owner_kind="RayJob", owner_group="ray.io")
        controller.owns(ns_informers.submitters, owner_kind="RayJob", owner_group="ray.io")
        controller.owns(ns_informers.services, owner_kind="RayJob", owner_group="ray.io")
        controller.watches(ns_informers.pods, lambda pod: rayjob_of_head_pod(cache, pod))
    manager.add_controller(controller)
    manager.add_runnable(recorder.run)
    return RayJobParts(controller, cache, probes, dashboard, recorder)
