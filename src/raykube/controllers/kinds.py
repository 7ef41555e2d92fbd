"""The kinds the controllers read and write: the ray.io kinds, plus built-ins re-exported from the runtime."""

from __future__ import annotations

from raykube import reasons
from raykube.runtime.kinds import EVENT, LEASE, POD, SERVICE, ResourceKind

# Plurals written out (a unit test checks them against each model's CRD_INFO): importing the pydantic models here
# would make every CLI command that names a kind pay for building them.
RAYCLUSTER = ResourceKind(reasons.GROUP, reasons.VERSION, "RayCluster", "rayclusters")
RAYJOB = ResourceKind(reasons.GROUP, reasons.VERSION, "RayJob", "rayjobs")
RAYSERVICE = ResourceKind(reasons.GROUP, reasons.VERSION, "RayService", "rayservices")
RAYCRONJOB = ResourceKind(reasons.GROUP, reasons.VERSION, "RayCronJob", "raycronjobs")

SERVICE_ACCOUNT = ResourceKind("", "v1", "ServiceAccount", "serviceaccounts")
SECRET = ResourceKind("", "v1", "Secret", "secrets")
ROLE = ResourceKind("rbac.authorization.k8s.io", "v1", "Role", "roles")
ROLE_BINDING = ResourceKind("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings")
INGRESS = ResourceKind("networking.k8s.io", "v1", "Ingress", "ingresses")
JOB = ResourceKind("batch", "v1", "Job", "jobs")
PERSISTENT_VOLUME_CLAIM = ResourceKind("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims")
ENDPOINT_SLICE = ResourceKind("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices")
#: Gateway API (the incremental RayService upgrade); its CRDs may be absent from a cluster.
GATEWAY = ResourceKind(reasons.GATEWAY_API_GROUP, reasons.GATEWAY_API_VERSION, "Gateway", "gateways")
HTTPROUTE = ResourceKind(reasons.GATEWAY_API_GROUP, reasons.GATEWAY_API_VERSION, "HTTPRoute", "httproutes")

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
