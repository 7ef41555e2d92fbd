"""What the RayService reconciler reads, all from informer caches (one set per watched namespace).

RayClusters, Ray pods and Services are the RayCluster controller's shared informers; EndpointSlices are
cached only when labelled ``ray.io/originated-from-crd=RayService`` (the EndpointSlice controller copies a
Service's labels onto its slices), so other Services' endpoints cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from raykube import reasons
from raykube.controllers.caches import RayClusterReader, owner_of_head_pod
from raykube.runtime.informer import Informer
from raykube.runtime.objects import Obj, ObjectKey, controller_ref, key_of, labels_of
from raykube.runtime.store import index_value, label_index

#: Label selector of the EndpointSlice informer.
SLICE_SELECTOR = f"{reasons.LABEL_ORIGINATED_FROM_CRD}=RayService"
#: Index of RayClusters and EndpointSlices by ``ray.io/originated-from-cr-name`` / ``kubernetes.io/service-name``.
BY_PARENT = "by-originated-from-cr-name"
by_parent = label_index(reasons.LABEL_ORIGINATED_FROM_CR_NAME)
BY_SERVICE_NAME = "by-service-name"
by_service_name = label_index(reasons.LABEL_SERVICE_NAME)


@dataclass(frozen=True)
class ServiceInformers:
    rayservices: Informer
    clusters: Informer
    services: Informer
    pods: Informer
    slices: Informer


class ServiceCache(RayClusterReader[ServiceInformers]):
    """Read access to RayServices and everything a RayService pass looks at."""

    def __init__(self, informers: dict[str | None, ServiceInformers]) -> None:
        super().__init__(informers, own=lambda informers: informers.rayservices)

    def rayservice(self, key: ObjectKey) -> Obj | None:
        return self._get_own(key)

    def all_rayservices(self) -> list[Obj]:
        return self._list_own()

    def clusters(self, key: ObjectKey, *, owner_uid: str) -> dict[str, Obj]:
        """The RayClusters this RayService controls, by name."""
        informers = self._for(key.namespace)
        if informers is None:
            return {}
        return {
            c["metadata"]["name"]: c
            for c in informers.clusters.store.by_index(BY_PARENT, index_value(key.namespace, key.name))
            if _controlled_by(c, owner_uid, "RayService")
        }

    def service(self, namespace: str, name: str) -> Obj | None:
        informers = self._for(namespace)
        return informers.services.store.get(ObjectKey(namespace, name)) if informers else None

    def endpoint_slices(self, namespace: str, service: str) -> list[Obj]:
        informers = self._for(namespace)
        if informers is None:
            return []
        return informers.slices.store.by_index(BY_SERVICE_NAME, index_value(namespace, service))

    def observe_rayservice(self, obj: Obj) -> None:
        """Write-through of our own writes, unless the cache already holds a newer version."""
        self._observe_own(obj)


def _controlled_by(obj: Obj, owner_uid: str, kind: str) -> bool:
    ref = controller_ref(obj)
    return ref is not None and ref.get("kind") == kind and ref.get("uid") == owner_uid


def rayservice_of(obj: Obj) -> list[ObjectKey]:
    """The RayService an object was made for (``ray.io/originated-from-*`` labels): slices and head pods."""
    labels = labels_of(obj)
    if labels.get(reasons.LABEL_ORIGINATED_FROM_CRD) != "RayService":
        return []
    return [ObjectKey(key_of(obj).namespace, labels.get(reasons.LABEL_ORIGINATED_FROM_CR_NAME, ""))]


def rayservice_of_pod(cache: ServiceCache, pod: Obj) -> list[ObjectKey]:
    """The RayService owning the cluster of a head pod (its readiness and IP matter to Serve)."""
    return owner_of_head_pod(cache, pod, "RayService")
