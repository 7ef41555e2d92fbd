"""The kinds the controllers read and write: the ray.io kinds, plus built-ins re-exported from the runtime."""

from __future__ import annotations

from raykube import reasons
from raykube.api.raycluster import RayCluster
from raykube.api.raycronjob import RayCronJob
from raykube.api.rayjob import RayJob
from raykube.api.rayservice import RayService
from raykube.builders import gateway as gateway_api
from raykube.runtime.kinds import EVENT, LEASE, POD, SERVICE, ResourceKind

RAYCLUSTER = ResourceKind(reasons.GROUP, reasons.VERSION, "RayCluster", RayCluster.CRD_INFO.plural)
RAYJOB = ResourceKind(reasons.GROUP, reasons.VERSION, "RayJob", RayJob.CRD_INFO.plural)
RAYSERVICE = ResourceKind(reasons.GROUP, reasons.VERSION, "RayService", RayService.CRD_INFO.plural)
RAYCRONJOB = ResourceKind(reasons.GROUP, reasons.VERSION, "RayCronJob", RayCronJob.CRD_INFO.plural)

SERVICE_ACCOUNT = ResourceKind("", "v1", "ServiceAccount", "serviceaccounts")
SECRET = ResourceKind("", "v1", "Secret", "secrets")
ROLE = ResourceKind("rbac.authorization.k8s.io", "v1", "Role", "roles")
ROLE_BINDING = ResourceKind("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings")
INGRESS = ResourceKind("networking.k8s.io", "v1", "Ingress", "ingresses")
JOB = ResourceKind("batch", "v1", "Job", "jobs")
PERSISTENT_VOLUME_CLAIM = ResourceKind("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims")
ENDPOINT_SLICE = ResourceKind("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices")
#: Gateway API (the incremental RayService upgrade); its CRDs may be absent from a cluster.
GATEWAY = ResourceKind(gateway_api.GROUP, gateway_api.VERSION, "Gateway", "gateways")
HTTPROUTE = ResourceKind(gateway_api.GROUP, gateway_api.VERSION, "HTTPRoute", "httproutes")

__all__ = [
    "ENDPOINT_SLICE",
    "EVENT",
    "GATEWAY",
    "HTTPROUTE",
    "INGRESS",
    "JOB",
    "LEASE",
    "PERSISTENT_VOLUME_CLAIM",
    "POD",
    "RAYCLUSTER",
    "RAYCRONJOB",
    "RAYJOB",
    "RAYSERVICE",
    "ROLE",
    "ROLE_BINDING",
    "SERVICE",
    "SERVICE_ACCOUNT",
]
