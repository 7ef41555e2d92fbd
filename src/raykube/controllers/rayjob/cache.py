"""What the RayJob reconciler reads, all from informer caches (one set per watched namespace).

* RayJobs themselves;
* RayClusters, by name (``status.rayClusterName``): the RayCluster controller's own informer, shared;
* submitter batch Jobs, by name (the RayJob's name): cached only when labelled
  ``app.kubernetes.io/created-by=kuberay-operator``, as in KubeRay's manager cache;
* ``<rayjob>-head-svc`` Services, by name: the shared Service informer;
* head pods of a cluster (SidecarMode), through the shared Ray pod informer's by-cluster index.
"""

from __future__ import annotations

from dataclasses import dataclass

from raykube import reasons
from raykube.controllers.indexes import BY_CLUSTER
from raykube.runtime.informer import Informer
from raykube.runtime.objects import Obj, ObjectKey, controller_ref, key_of, labels_of, resource_version
from raykube.runtime.store import index_value

#: Label selector of the submitter Jobs informer (KubeRay's manager cache uses the same one).
SUBMITTER_SELECTOR = f"{reasons.LABEL_APP_CREATED_BY}={reasons.CREATED_BY_KUBERAY}"


@dataclass(frozen=True)
class JobInformers:
    rayjobs: Informer
    clusters: Informer
    submitters: Informer
    services: Informer
    pods: Informer


class JobCache:
    """Read access to RayJobs and everything a RayJob pass looks at."""

    def __init__(self, informers: dict[str | None, JobInformers]) -> None:
        self._informers = informers  # key None: all namespaces

    def _for(self, namespace: str) -> JobInformers | None:
        return self._informers.get(namespace) or self._informers.get(None)

    def rayjob(self, key: ObjectKey) -> Obj | None:
        informers = self._for(key.namespace)
        return informers.rayjobs.store.get(key) if informers else None

    def all_rayjobs(self) -> list[Obj]:
        return [obj for informers in self._informers.values() for obj in informers.rayjobs.store.list()]

    def cluster(self, namespace: str, name: str) -> Obj | None:
        informers = self._for(namespace)
        return informers.clusters.store.get(ObjectKey(namespace, name)) if informers and name else None

    def submitter(self, namespace: str, name: str, *, owner_uid: str) -> Obj | None:
        """The submitter Job ``name`` if this RayJob (``owner_uid``) controls it."""
        informers = self._for(namespace)
        job = informers.submitters.store.get(ObjectKey(namespace, name)) if informers else None
        return job if job is not None and _controlled_by(job, owner_uid) else None

    def job_service(self, namespace: str, name: str, *, owner_uid: str) -> Obj | None:
        informers = self._for(namespace)
        service = informers.services.store.get(ObjectKey(namespace, name)) if informers else None
        return service if service is not None and _controlled_by(service, owner_uid) else None

    def head_pod(self, namespace: str, cluster: str) -> Obj | None:
        """The cluster's live head pod, if exactly one exists."""
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

    def observe_rayjob(self, obj: Obj) -> None:
        """Write-through of our own writes, unless the cache already holds a newer version."""
        key = key_of(obj)
        informers = self._for(key.namespace)
        if informers is None:
            return
        cached = informers.rayjobs.store.get(key)
        if cached is None or _newer_or_equal(resource_version(obj), resource_version(cached)):
            informers.rayjobs.store.upsert(obj)


def _controlled_by(obj: Obj, owner_uid: str) -> bool:
    ref = controller_ref(obj)
    return ref is not None and (not owner_uid or ref.get("uid") == owner_uid)


def _newer_or_equal(candidate: str, current: str) -> bool:
    if candidate.isdigit() and current.isdigit():
        return int(candidate) >= int(current)
    return False


def rayjob_of_head_pod(cache: JobCache, pod: Obj) -> list[ObjectKey]:
    """The RayJob owning the cluster of a head pod (SidecarMode wakes on head pod changes)."""
    labels = labels_of(pod)
    if labels.get(reasons.LABEL_NODE_TYPE) != reasons.NodeType.HEAD:
        return []
    namespace = key_of(pod).namespace
    cluster = cache.cluster(namespace, labels.get(reasons.LABEL_CLUSTER, ""))
    ref = controller_ref(cluster) if cluster is not None else None
    if ref is None or ref.get("kind") != "RayJob":
        return []
    return [ObjectKey(namespace, str(ref.get("name", "")))]
