"""Resource kinds: where an API resource lives and what it is called.

A :class:`ResourceKind` is the runtime's ``GroupVersionResource`` plus the ``kind`` and the scope:
enough to build every URL the client needs, with no schema and no global registry. Custom
resources are plain values (``ResourceKind("ray.io", "v1", "RayCluster", "rayclusters")``); the
ray.io kinds themselves are declared in ``raykube.api``, which the runtime must not import.
lightkube's typed resource classes convert with :meth:`ResourceKind.of` (or are accepted directly
by the client), so ``client.get(Pod, "p", namespace="ns")`` and ``client.get(POD, ...)`` are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lightkube.core import resource as lk_resource


@dataclass(frozen=True)
class ResourceKind:
    """One API resource.

    Parameters:
        group: API group, ``""`` for the core group.
        version: API version within the group.
        kind: object kind, as in ``kind:`` and ownerReferences.
        plural: the lower-case plural used in URLs.
        namespaced: whether objects live in namespaces.
    """

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        """``group/version``, or just ``version`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        """The URL path of the collection (no ``name``) or of one object (and its ``subresource``).

        ``namespace=None`` on a namespaced kind addresses all namespaces (list and watch only).
        """
        parts = ["/api", self.version] if not self.group else ["/apis", self.group, self.version]
        if self.namespaced and namespace:
            parts += ["namespaces", namespace]
        parts.append(self.plural)
        if name is not None:
            parts.append(name)
            if subresource:
                parts.append(subresource)
        return "/".join(parts)

    @classmethod
    def of(cls, resource: ResourceKind | type[Any]) -> ResourceKind:
        """Accept a :class:`ResourceKind` or a lightkube resource class such as ``core_v1.Pod``."""
        if isinstance(resource, ResourceKind):
            return resource
        if isinstance(resource, type) and issubclass(resource, lk_resource.Resource):
            info = lk_resource.api_info(resource)
            if info.parent is not None:
                raise ValueError(f"{resource.__name__} is a subresource; pass the parent kind and a subresource")
            namespaced = issubclass(resource, lk_resource.NamespacedResource)
            res = info.resource
            return cls(res.group, res.version, res.kind, info.plural, namespaced)
        raise TypeError(f"not a resource kind: {resource!r}")


KindLike = ResourceKind | type[Any]
"""What client methods accept as a kind."""

POD = ResourceKind("", "v1", "Pod", "pods")
SERVICE = ResourceKind("", "v1", "Service", "services")
NAMESPACE = ResourceKind("", "v1", "Namespace", "namespaces", namespaced=False)
CORE_EVENT = ResourceKind("", "v1", "Event", "events")
EVENT = ResourceKind("events.k8s.io", "v1", "Event", "events")
LEASE = ResourceKind("coordination.k8s.io", "v1", "Lease", "leases")
