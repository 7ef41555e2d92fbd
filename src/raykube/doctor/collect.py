"""Read a :class:`~raykube.doctor.snapshot.Snapshot` from the API: the only part of the doctor that does I/O.

Reads are plain lists (no watches), plus the few log tails :func:`raykube.doctor.logs.wanted_logs` asks for.
What the user may not read (a 403 on Leases or Deployments across namespaces, on CRDs, on Roles) is left out
and the rules that need it are skipped, rather than reporting an operator or a Role as missing; a log that
cannot be read is recorded with the reason.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from raykube import reasons
from raykube.builders.gcs_ft import redis_cleanup_job_name
from raykube.controllers.kinds import JOB, POD, RAYCLUSTER, RAYJOB, RAYSERVICE
from raykube.doctor.logs import TAIL_LINES, wanted_logs
from raykube.doctor.snapshot import LEASE_NAME, OPERATOR_LABEL, LogTail, Obj, OperatorView, Snapshot
from raykube.runtime.client import KubeClient
from raykube.runtime.errors import ApiError
from raykube.runtime.kinds import LEASE, ResourceKind

CORE_EVENT = ResourceKind("", "v1", "Event", "events")
RESOURCE_QUOTA = ResourceKind("", "v1", "ResourceQuota", "resourcequotas")
DEPLOYMENT = ResourceKind("apps", "v1", "Deployment", "deployments")
ROLE = ResourceKind("rbac.authorization.k8s.io", "v1", "Role", "roles")
ROLE_BINDING = ResourceKind("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings")
CRD = ResourceKind("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
                   namespaced=False)
RAY_CRDS = ("rayclusters.ray.io", "rayjobs.ray.io", "rayservices.ray.io")
LOG_TIMEOUT = 10.0  # seconds for one log read (the API server may wait long on a node's kubelet)
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


async def crd_view(client: KubeClient) -> tuple[Obj, ...] | None:
    """The installed ray.io CRDs (RayCluster, RayJob, RayService); None when they may not be read."""
    found = []
    for name in RAY_CRDS:
        try:
            found.append(await client.get(CRD, name))
        except ApiError as err:
            if err.code in (401, 403):
                return None
            if err.code != 404:
                raise
    return tuple(found)


async def read_logs(client: KubeClient, namespace: str, wanted: list[tuple[str, str, bool]]) -> list[LogTail]:
    """The tails of the logs asked for; a log that cannot be read keeps the API server's reason."""
    tails = []
    for pod, container, previous in wanted:
        try:
            text = await asyncio.wait_for(client.read_log(namespace, pod, container=container,
                                                          tail_lines=TAIL_LINES, previous=previous), LOG_TIMEOUT)
        except TimeoutError:
            tails.append(LogTail(pod, container, error=f"no answer in {LOG_TIMEOUT:g}s", previous=previous))
            continue
        except ApiError as err:
            reason = " ".join(f"{err.code} {err.message or err.reason}".split())[:200]
            tails.append(LogTail(pod, container, error=reason, previous=previous))
            continue
        tails.append(LogTail(pod, container, tuple(text.splitlines()[-TAIL_LINES:]), previous=previous))
    return tails


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


async def snapshot(client: KubeClient, kind: str, obj: Obj, view: OperatorView | None,
                   crds: tuple[Obj, ...] | None = None) -> Snapshot:
    """Everything about one Ray object (already read) that the rules look at (``view`` and ``crds`` are read
    once per run: :func:`operator_view`, :func:`crd_view`)."""
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
    tails = await read_logs(client, ns, wanted_logs(kind, obj, [obj] if kind == "RayCluster" else clusters, pods))
    jobs, jobs_known = await cleanup_jobs(client, ns, [obj] if kind == "RayCluster" else clusters)
    return Snapshot(kind=kind, obj=obj, now=dt.datetime.now(dt.UTC), pods=tuple(pods), events=tuple(events),
                    quotas=tuple(quotas), clusters=tuple(clusters), operator=view or OperatorView(),
                    operator_known=view is not None, roles=tuple(roles), role_bindings=tuple(bindings),
                    rbac_known=rbac_known, crds=crds or (), crds_known=crds is not None, logs=tuple(tails),
                    jobs=tuple(jobs), jobs_known=jobs_known)


async def cleanup_jobs(client: KubeClient, namespace: str, clusters: list[Obj]) -> tuple[list[Obj], bool]:
    """The Redis clean-up Jobs of the clusters whose deletion the GCS FT finalizer holds (a missing Job is not
    created yet); (.., False) when the user may not read Jobs."""
    found = []
    for cluster in clusters:
        meta = cluster["metadata"]
        if not meta.get("deletionTimestamp") or reasons.FINALIZER_GCS_FT_REDIS_CLEANUP not in (
                meta.get("finalizers") or ()):
            continue
        try:
            found.append(await client.get(JOB, redis_cleanup_job_name(str(meta["name"])), namespace=namespace))
        except ApiError as err:
            if err.code in (401, 403):
                return found, False
            if err.code != 404:
                raise
    return found, True


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
