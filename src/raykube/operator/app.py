"""`raykube operator`: wire informers, controllers, the event recorder and leader election, then run.

The wiring table (controller-runtime's builder, in words):
  RayCluster  For(RayCluster, generation|labels|annotations changed)  Owns(Pod)  Owns(Service)
  RayJob      see raykube.operator.rayjob
  RayService  see raykube.operator.rayservice
  RayCronJob  see raykube.operator.raycronjob (only with --feature-gates RayCronJob=true)
Pods are cached only when labelled `ray.io/node-type in (head,worker,redis-cleanup)` (KubeRay's manager
cache does the same), so a busy cluster's other pods cost the operator nothing. Services are all cached:
the headless and serve Services carry no common label, and Services are few.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from raykube.controllers.kinds import JOB, POD, RAYCLUSTER, SERVICE
from raykube.controllers.raycluster import pods as podfacts
from raykube.controllers.raycluster.cache import (
    BY_CLUSTER,
    ClusterCache,
    NamespaceInformers,
    by_cluster,
    by_owning_cluster,
)
from raykube.controllers.raycluster.reconciler import RayClusterReconciler
from raykube.operator import wiring
from raykube.operator.config import OperatorConfig
from raykube.operator.http import Endpoints
from raykube.operator.metrics import ClusterStateCollector
from raykube.operator.raycronjob import build_raycronjob
from raykube.operator.rayjob import RayJobParts, build_rayjob
from raykube.operator.rayservice import RayServiceParts, build_rayservice
from raykube.runtime import logs
from raykube.runtime.client import KubeClient
from raykube.runtime.controller import Controller
from raykube.runtime.events import EventRecorder
from raykube.runtime.expectations import ScaleExpectations
from raykube.runtime.leader import LeaderElectionConfig, LeaderElector
from raykube.runtime.manager import Manager
from raykube.runtime.metrics import RuntimeMetrics, count_requests
from raykube.runtime.predicates import ANNOTATIONS_CHANGED, GENERATION_CHANGED, LABELS_CHANGED, AnyOf

_log = logs.get_logger("raykube.operator")
RAY_POD_SELECTOR = "ray.io/node-type in (head,worker,redis-cleanup)"
#: The GCS FT Redis clean-up Jobs (KubeRay caches batch Jobs created by the operator; we need only these here).
REDIS_CLEANUP_JOB_SELECTOR = "ray.io/node-type=redis-cleanup"
#: Pod events of one RayCluster within this many seconds make one reconcile: pods of a group start together,
#: and one pass per burst means one status write instead of one per pod (measured in docs/benchmarks.md).
POD_EVENT_BATCH = 0.5
#: ... and as soon as a cluster's pod events pause this long: a small cluster's last pod turning ready is seen
#: without waiting for the rest of the window (`WorkQueue.add_debounced`).
POD_EVENT_QUIET = 0.1
#: ... in the queue lane ahead of brand-new clusters (`WorkQueue` priorities; no lane starves): a cluster whose
#: pods are under way is finished first. With 1,000 clusters created at once and one FIFO, the first clusters'
#: pods ran within 30 s but their `ready` waited about 110 s behind the others' first passes (docs/benchmarks.md).
POD_EVENT_PRIORITY = 1


@dataclass
class Operator:
    """Everything `run` needs, built by `build` (tests reach into it)."""

    client: KubeClient
    manager: Manager
    registry: CollectorRegistry
    recorder: EventRecorder
    raycluster: Controller
    rayjob: RayJobParts | None = None
    raycronjob: Controller | None = None
    rayservice: RayServiceParts | None = None


def build(config: OperatorConfig, client: KubeClient) -> Operator:
    registry = CollectorRegistry()
    metrics = RuntimeMetrics(registry)
    client.on_response = count_requests(metrics)
    elector = None
    if config.leader_election:
        lease = LeaderElectionConfig(name=config.leader_election_id, namespace=config.leader_election_namespace)
        elector = LeaderElector(client, lease, metrics=metrics)
        client.fence.holds = elector.holds_lease  # every write of every controller is fenced by the lease
    manager = Manager(client, leader_elector=elector)
    informers: dict[str | None, NamespaceInformers] = {}
    for namespace in config.watch_namespaces or (None,):
        informers[namespace] = NamespaceInformers(
            clusters=manager.informer(RAYCLUSTER, namespace=namespace),
            pods=manager.informer(
                POD, namespace=namespace, label_selector=RAY_POD_SELECTOR, indexers={BY_CLUSTER: by_cluster},
                transform=podfacts.slim_for_cache,
            ),
            services=manager.informer(SERVICE, namespace=namespace, indexers={BY_CLUSTER: by_owning_cluster}),
            cleanup_jobs=manager.informer(JOB, namespace=namespace, label_selector=REDIS_CLEANUP_JOB_SELECTOR),
        )
    cache = ClusterCache(informers)
    registry.register(ClusterStateCollector(cache.all_clusters))
    recorder = wiring.event_recorder(config, client, "raycluster")
    reconciler = RayClusterReconciler(
        client,
        cache=cache,
        expectations=ScaleExpectations(cache),
        recorder=recorder,
        settings=config.settings,
    )
    controller = wiring.reporting_controller(config, "raycluster", reconciler.reconcile, lookup=cache.cluster,
                                             recorder=recorder, metrics=metrics)
    for ns_informers in informers.values():
        controller.for_(ns_informers.clusters, AnyOf(GENERATION_CHANGED, LABELS_CHANGED, ANNOTATIONS_CHANGED))
        controller.owns(ns_informers.pods, owner_kind="RayCluster", owner_group="ray.io", batch=POD_EVENT_BATCH,
                          quiet=POD_EVENT_QUIET, priority=POD_EVENT_PRIORITY)
        controller.owns(ns_informers.services, owner_kind="RayCluster", owner_group="ray.io")
        if ns_informers.cleanup_jobs is not None:
            controller.owns(ns_informers.cleanup_jobs, owner_kind="RayCluster", owner_group="ray.io")
    wiring.run(manager, controller, recorder)
    rayjob = build_rayjob(config, client, manager, informers, metrics, registry)
    raycronjob = build_raycronjob(config, client, manager, metrics) if config.gate("RayCronJob") else None
    rayservice = build_rayservice(config, client, manager, informers, metrics, registry)
    return Operator(
        client=client, manager=manager, registry=registry, recorder=recorder, raycluster=controller, rayjob=rayjob,
        raycronjob=raycronjob, rayservice=rayservice,
    )


async def run(config: OperatorConfig) -> None:
    """Run the operator until SIGTERM/SIGINT (graceful: the Lease is released on the way out)."""
    if config.kubeconfig:
        client = KubeClient.from_kubeconfig(config.kubeconfig, qps=config.qps, burst=config.burst)
    else:
        client = KubeClient.from_in_cluster(qps=config.qps, burst=config.burst)
    operator = build(config, client)
    endpoints = Endpoints(operator.registry, ready=lambda: operator.manager.ready)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, operator.manager.stop)
    servers = [asyncio.create_task(endpoints.serve(addr)) for addr in {config.metrics_addr, config.probe_addr}]
    _log.info(
        "Starting raykube operator",
        namespaces=",".join(config.watch_namespaces) or "all",
        leader_election=config.leader_election,
    )
    try:
        await operator.manager.run()
    finally:
        for task in servers:
            task.cancel()
        await asyncio.gather(*servers, return_exceptions=True)
        await operator.recorder.flush()
        if operator.rayjob is not None:
            await operator.rayjob.close()
        if operator.rayservice is not None:
            await operator.rayservice.close()
        await client.close()
