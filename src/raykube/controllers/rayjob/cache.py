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
from raykube.controllers.caches import RayClusterReader, owner_of_head_pod
from raykube.runtime.informer import Informer
from raykube.runtime.objects import Obj, ObjectKey, controller_ref

#: Label selector of the submitter Jobs informer (KubeRay's manager cache uses the same one).
SUBMITTER_SELECTOR = f"{reasons.LABEL_APP_CREATED_BY}={reasons.CREATED_BY_KUBERAY}"


@dataclass(frozen=True)
class JobInformers:
    rayjobs: Informer
    clusters: Informer
    submitters: Informer
    services: Informer
    pods: Informer


class JobCache(RayClusterReader[JobInformers]):
    """Read access to RayJobs and everything a RayJob pass looks at."""

    def __init__(self, informers: dict[str | None, JobInformers]) -> None:
        super().__init__(informers, own=lambda informers: informers.rayjobs)

    def rayjob(self, key: ObjectKey) -> Obj | None:
        return self._get_own(key)

    def all_rayjobs(self) -> list[Obj]:
        return self._list_own()

    def submitter(self, namespace: str, name: str, *, owner_uid: str) -> Obj | None:
        """The submitter Job ``name`` if this RayJob (``owner_uid``) controls it."""
        informers = self._for(namespace)
        job = informers.submitters.store.get(ObjectKey(namespace, name)) if informers else None
        return job if job is not None and _controlled_by(job, owner_uid) else None

    def job_service(self, namespace: str, name: str, *, owner_uid: str) -> Obj | None:
        informers = self._for(namespace)
        service = informers.services.store.get(ObjectKey(namespace, name)) if informers else None
        return service if service is not None and _controlled_by(service, owner_uid) else None

    def observe_rayjob(self, obj: Obj) -> None:
        """Write-through of our own writes, unless the cache already holds a newer version."""
        self._observe_own(obj)


def _controlled_by(obj: Obj, owner_uid: str) -> bool:
    ref = controller_ref(obj)
    return ref is not None and (not owner_uid or ref.get("uid") == owner_uid)


def rayjob_of_head_pod(cache: JobCache, pod: Obj) -> list[ObjectKey]:
    """The RayJob owning the cluster of a head pod (SidecarMode wakes on head pod changes)."""
    return owner_of_head_pod(cache, pod, "RayJob")
