"""Read a :class:`~raykube.doctor.snapshot.Snapshot` from the API: the only part of the doctor that does I/O.

Reads are plain lists (no watches). What the user may not read (a 403 on Leases or Deployments across
namespaces) is left out and the operator rules are skipped, rather than reporting an operator as missing.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from raykube.controllers.kinds import POD, RAYCLUSTER, RAYJOB, RAYSERVICE
from raykube.doctor.snapshot import LEASE_NAME, OPERATOR_LABEL, Obj, OperatorView, Snapshot
from raykube.runtime.client import KubeClient
from raykube.runtime.errors import ApiError
from raykube.runtime.kinds import LEASE, ResourceKind

CORE_EVENT = ResourceKind("", "v1", "Event", "events")
RESOURCE_QUOTA = ResourceKind("", "v1", "ResourceQuota", "resourcequotas")
DEPLOYMENT = ResourceKind("apps", "v1", "Deployment", "deployments")
ROLE = ResourceKind("rbac.authorization.k8s.io", "v1", "Role", "roles")
ROLE_BINDING = ResourceKind("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings")
KINDS = {"raycluster": ("RayCluster", RAYCLUSTER), "rayjob": ("RayJob", RAYJOB),
         "rayservice": ("RayService", RAYSERVICE)}


async def operator_view(client: KubeClient) -> OperatorView | None:
    """The operator's Leases and Deployments in every namespace; None when they may not be read."""
    try:
        leases, deployments = await asyncio.gather(
            client.list(LEASE, field_selector=f"metadata.name={LEASE_NAME}"),
            client.list(DEPLOYMENT, label_selector=OPERATOR_LABEL))
    except ApiError as err:
        if err.code in (401, 403):
            return None
        raise
    return OperatorView(tuple(leases.items), tuple(deployments.items))


def cluster_names(kind: str, obj: Obj) -> list[str]:
    """The RayClusters a RayJob or RayService runs on."""
    status = obj.get("status") or {}
    if kind == "RayJob":
        name = status.get("rayClusterName") or ((obj.get("spec") or {}).get("clusterSelector") or {}).get(
            "ray.io/cluster")
        return [str(name)] if name else []
    if kind == "RayService":
        return [str(n) for n in ((status.get(side) or {}).get("rayClusterName")
                                 for side in ("activeServiceStatus", "pendingServiceStatus")) if n]
    return [str(obj["metadata"]["name"])]


async def snapshot(client: KubeClient, kind: str, obj: Obj, view: OperatorView | None) -> Snapshot:
    """Everything about one Ray object (already read) that the rules look at."""
    ns = str(obj["metadata"]["namespace"])
    names = cluster_names(kind, obj)
    clusters: list[Obj] = []
    if kind != "RayCluster":
        for name in names:
            try:
                clusters.append(await client.get(RAYCLUSTER, name, namespace=ns))
            except ApiError as err:
                if err.code != 404:
                    raise
    pods: list[Obj] = []
    if names:
        pods += (await client.list(POD, namespace=ns, label_selector=f"ray.io/cluster in ({','.join(names)})")).items
    if kind == "RayJob":
        pods += (await client.list(POD, namespace=ns,
                                   label_selector=f"batch.kubernetes.io/job-name={obj['metadata']['name']}")).items
    events = (await client.list(CORE_EVENT, namespace=ns)).items
    quotas = (await client.list(RESOURCE_QUOTA, namespace=ns)).items
    autoscaling = any((c.get("spec") or {}).get("enableInTreeAutoscaling")
                      for c in ([obj] if kind == "RayCluster" else clusters))
    roles, bindings, rbac_known = await _rbac(client, ns) if autoscaling else ([], [], True)
    return Snapshot(kind=kind, obj=obj, now=dt.datetime.now(dt.UTC), pods=tuple(pods), events=tuple(events),
                    quotas=tuple(quotas), clusters=tuple(clusters), operator=view or OperatorView(),
                    operator_known=view is not None, roles=tuple(roles), role_bindings=tuple(bindings),
                    rbac_known=rbac_known)


async def _rbac(client: KubeClient, namespace: str) -> tuple[list[Obj], list[Obj], bool]:
    """The namespace's Roles and RoleBindings; (.., False) when the user may not read them."""
    try:
        roles = (await client.list(ROLE, namespace=namespace)).items
        bindings = (await client.list(ROLE_BINDING, namespace=namespace)).items
    except ApiError as err:
        if err.code in (401, 403):
            return [], [], False
        raise
    return roles, bindings, True


async def targets(client: KubeClient, namespace: str | None) -> list[tuple[str, Obj]]:
    """Every RayCluster, RayJob and RayService in ``namespace`` (None: all), clusters owned by the others left
    out (they are diagnosed with their owner)."""
    found: list[tuple[str, Obj]] = []
    for kind, resource in KINDS.values():
        try:
            items = (await client.list(resource, namespace=namespace)).items
        except ApiError as err:
            if err.code == 404:  # the CRD is not installed
                continue
            raise
        for obj in items:
            owners = {o.get("kind") for o in obj["metadata"].get("ownerReferences") or ()}
            if kind == "RayCluster" and owners & {"RayJob", "RayService"}:
                continue
            found.append((kind, obj))
    return sorted(found, key=lambda t: (t[1]["metadata"]["namespace"], t[0], t[1]["metadata"]["name"]))
