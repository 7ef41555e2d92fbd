"""What the RayCluster reconciler reads: the cluster, its pods, Services and clean-up Job, from informer caches.

One set of informers per watched namespace (or one set for all namespaces). Pods are indexed by their
`ray.io/cluster` label; Services by their controlling RayCluster (the headless and serve Services carry no
`ray.io/cluster` label), so finding a cluster's children costs one dict lookup.
"""

from __future__ import annotations

from dataclasses import dataclass

from raykube.controllers.caches import NamespacedCache
from raykube.controllers.indexes import BY_CLUSTER, by_cluster
from raykube.runtime.informer import Informer
from raykube.runtime.objects import Obj, ObjectKey, controller_ref
from raykube.runtime.store import index_value

__all__ = ["BY_CLUSTER", "ClusterCache", "by_cluster", "by_owning_cluster"]


def by_owning_cluster(obj: Obj) -> list[str]:
    """Index value `<ns>/<cluster>` of an object whose controller is a RayCluster."""
    ref = controller_ref(obj)
    if ref is None or ref.get("kind") != "RayCluster":
        return []
    return [index_value(str(obj["metadata"].get("namespace", "")), str(ref.get("name", "")))]


@dataclass(frozen=True)
class NamespaceInformers:
    clusters: Informer
    pods: Informer
    services: Informer
    cleanup_jobs: Informer | None = None  # batch Jobs labelled ray.io/node-type=redis-cleanup


class ClusterCache(NamespacedCache[NamespaceInformers]):
    """Read access to clusters and their children across the watched namespaces."""

    def __init__(self, informers: dict[str | None, NamespaceInformers]) -> None:
        super().__init__(informers, own=lambda informers: informers.clusters)

    def cluster(self, key: ObjectKey) -> Obj | None:
        return self._get_own(key)

    def pods(self, key: ObjectKey) -> list[Obj]:
        informers = self._for(key.namespace)
        return informers.pods.store.by_index(BY_CLUSTER, index_value(key.namespace, key.name)) if informers else []

    def services(self, key: ObjectKey) -> list[Obj]:
        informers = self._for(key.namespace)
        return informers.services.store.by_index(BY_CLUSTER, index_value(key.namespace, key.name)) if informers else []

    def cleanup_job(self, key: ObjectKey, name: str) -> Obj | None:
        """The cluster's Redis clean-up Job by name, if the cache holds it."""
        informers = self._for(key.namespace)
        if informers is None or informers.cleanup_jobs is None:
            return None
        return informers.cleanup_jobs.store.get(ObjectKey(key.namespace, name))

    def all_clusters(self) -> list[Obj]:
        """Every cached RayCluster (for metrics)."""
        return self._list_own()

    def get(self, key: ObjectKey) -> Obj | None:
        """A pod by key (the expectations' lookup)."""
        informers = self._for(key.namespace)
        return informers.pods.store.get(key) if informers else None

    def observe_cluster(self, obj: Obj) -> None:
        """Write-through of our own status write, so the next pass does not start from a stale copy.

        Skipped when the cache already holds a newer version (the watch was faster).
        """
        self._observe_own(obj)
