"""The controller kit's informer caches: one set of informers per watched namespace, read the same way by all.

Every controller keeps a dict ``namespace → its informers`` (key ``None`` when it watches all namespaces) and
reads its own kind from one of them; :class:`NamespacedCache` is that lookup and the write-through of our own
writes. RayJob and RayService also read RayClusters and their head pods through the RayCluster controller's
shared informers: :class:`RayClusterReader` adds those reads, and :func:`owner_of_head_pod` maps a head pod
event back to the object that owns its cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from raykube import reasons
from raykube.controllers.indexes import BY_CLUSTER
from raykube.runtime.informer import Informer
from raykube.runtime.objects import Obj, ObjectKey, controller_ref, key_of, labels_of, resource_version
from raykube.runtime.store import index_value

__all__ = ["NamespacedCache", "RayClusterReader", "newer_or_equal", "owner_of_head_pod"]

I = TypeVar("I")  # noqa: E741 - the per-namespace informers dataclass of one controller


class NamespacedCache(Generic[I]):
    """Reads of one controller's own kind across the watched namespaces.

    ``own`` picks the informer of the kind the controller reconciles out of a namespace's informers; the
    subclasses name the reads after their kind (``rayjob``, ``all_rayservices``, ...).
    """

    def __init__(self, informers: dict[str | None, I], own: Callable[[I], Informer]) -> None:
        self._informers = informers  # key None: all namespaces
        self._own = own

    def _for(self, namespace: str) -> I | None:
        return self._informers.get(namespace) or self._informers.get(None)

    def _get_own(self, key: ObjectKey) -> Obj | None:
        informers = self._for(key.namespace)
        return self._own(informers).store.get(key) if informers else None

    def _list_own(self) -> list[Obj]:
        return [obj for informers in self._informers.values() for obj in self._own(informers).store.list()]

    def _observe_own(self, obj: Obj) -> None:
        """Write-through of our own writes, so the next pass does not start from a stale copy; skipped when the
        cache already holds a newer version (the watch was faster)."""
        key = key_of(obj)
        informers = self._for(key.namespace)
        if informers is None:
            return
        store = self._own(informers).store
        cached = store.get(key)
        if cached is None or newer_or_equal(resource_version(obj), resource_version(cached)):
            store.upsert(obj)


def newer_or_equal(candidate: str, current: str) -> bool:
    """Whether resourceVersion ``candidate`` is at least ``current``; opaque (non-numeric) versions never are,
    so the informer's copy wins when we cannot tell."""
    if candidate.isdigit() and current.isdigit():
        return int(candidate) >= int(current)
    return False


class _WithClusters(Protocol):
    """Per-namespace informers that include the RayCluster controller's shared RayCluster and Ray pod ones."""

    @property
    def clusters(self) -> Informer: ...

    @property
    def pods(self) -> Informer: ...


C = TypeVar("C", bound=_WithClusters)


class RayClusterReader(NamespacedCache[C]):
    """A cache of a kind that runs RayClusters (RayJob, RayService): reads of its clusters and their head pods."""

    def cluster(self, namespace: str, name: str) -> Obj | None:
        informers = self._for(namespace)
        return informers.clusters.store.get(ObjectKey(namespace, name)) if informers and name else None

    def head_pod(self, namespace: str, cluster: str) -> Obj | None:
        """The cluster's live head pod, if exactly one exists (two mean a restart is under way: wait)."""
        informers = self._for(namespace)
        if informers is None or not cluster:
            return None
        pods = informers.pods.store.by_index(BY_CLUSTER, index_value(namespace, cluster))
        heads = [
            p
            for p in pods
            if labels_of(p).get(reasons.LABEL_NODE_TYPE) == reasons.NodeType.HEAD
            and not (p.get("metadata") or {}).get("deletionTimestamp")
        ]
        return heads[0] if len(heads) == 1 else None


def owner_of_head_pod(cache: RayClusterReader[C], pod: Obj, kind: str) -> list[ObjectKey]:
    """The ``kind`` object controlling the cluster of a head pod (a head pod's readiness and IP matter to it);
    worker pods and clusters of other owners map to nothing."""
    labels = labels_of(pod)
    if labels.get(reasons.LABEL_NODE_TYPE) != reasons.NodeType.HEAD:
        return []
    namespace = key_of(pod).namespace
    cluster = cache.cluster(namespace, labels.get(reasons.LABEL_CLUSTER, ""))
    ref = controller_ref(cluster) if cluster is not None else None
    if ref is None or ref.get("kind") != kind:
        return []
    return [ObjectKey(namespace, str(ref.get("name", "")))]
