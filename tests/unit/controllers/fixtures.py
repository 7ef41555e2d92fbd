"""The unit tests' RayCluster: `tests.builders.make_raycluster` with what a cached object has (namespace, uid,
generation) and every pod asking for 1 CPU and 2G (requests and limits)."""

from __future__ import annotations

from raykube.builders.settings import OperatorSettings
from raykube.controllers.kit import Clock, utc_now
from raykube.controllers.raycluster.cache import BY_CLUSTER, ClusterCache, NamespaceInformers, by_cluster
from raykube.controllers.raycluster.reconciler import RayClusterReconciler
from raykube.runtime.clock import FakeClock
from raykube.runtime.events import EventRecorder
from raykube.runtime.expectations import ScaleExpectations
from tests.builders.raycluster import RayClusterBuilder, make_raycluster
from tests.unit.controllers.rayjob.fakeapi import FakeApi


def make_cluster(name: str = "rc") -> RayClusterBuilder:
    return (
        make_raycluster(name)
        .namespace("default")
        .generation(1)
        .uid("uid-1")
        .resources(cpu="1", memory="2G", limits=True)
    )


def raycluster_reconciler(
    api: FakeApi, *, now: Clock = utc_now, recorder: EventRecorder | None = None
) -> RayClusterReconciler:
    """A RayCluster reconciler over ``api``'s informers, wired as the operator wires it (services indexed by
    cluster, expectations over the pod store); Events go to ``recorder`` or a new one on a fake clock."""
    api.informers.services.add_indexer(BY_CLUSTER, by_cluster)
    cache = ClusterCache({None: NamespaceInformers(
        clusters=api.informers.clusters, pods=api.informers.pods, services=api.informers.services,
        cleanup_jobs=api.informers.submitters,
    )})
    return RayClusterReconciler(
        api,  # type: ignore[arg-type]
        cache=cache, expectations=ScaleExpectations(api.informers.pods.store),
        recorder=recorder or EventRecorder(api, controller="raycluster-controller", clock=FakeClock()),
        settings=OperatorSettings(), now=now,
    )
