"""The RayCluster's non-pod children: Services, the autoscaler's RBAC and the auth token Secret.

Like KubeRay, Services are created once and never updated (`reconcileHeadService`): a user may edit the
head Service and the operator leaves it be. A Service is looked up in the informer cache (indexed by
`ray.io/cluster`); the autoscaler's ServiceAccount, Role and RoleBinding are not cached, so each is
created once per cluster (AlreadyExists counts as done) and remembered by cluster UID, which keeps
steady-state passes free of API calls.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from raykube import reasons
from raykube.api.defaults import is_autoscaling_enabled
from raykube.api.raycluster import RayCluster, WorkerGroupSpec
from raykube.builders import names, rbac, secret, service
from raykube.builders import pod as podbuilder
from raykube.builders.settings import OperatorSettings
from raykube.controllers.events import ObjectEvents
from raykube.controllers.kinds import ROLE, ROLE_BINDING, SECRET, SERVICE, SERVICE_ACCOUNT
from raykube.runtime.client import KubeClient
from raykube.runtime.errors import ApiError, is_already_exists
from raykube.runtime.kinds import ResourceKind
from raykube.runtime.objects import ObjectKey

E = reasons.EventReason


def context(cluster: RayCluster, settings: OperatorSettings) -> podbuilder.ClusterContext:
    return podbuilder.ClusterContext(meta=cluster.metadata, spec=cluster.spec, settings=settings)


def head_pod(cluster: RayCluster, settings: OperatorSettings) -> dict[str, Any]:
    return podbuilder.build_head_pod(context(cluster, settings))


def worker_pod(cluster: RayCluster, group: WorkerGroupSpec, settings: OperatorSettings) -> dict[str, Any]:
    return podbuilder.build_worker_pod(context(cluster, settings), group)


def desired_services(cluster: RayCluster, settings: OperatorSettings) -> list[dict[str, Any]]:
    ctx = context(cluster, settings)
    wanted = [service.build_head_service(ctx)]
    if service.needs_headless_service(ctx):
        wanted.append(service.build_headless_service(ctx))
    serve = service.build_cluster_serve_service(ctx) if service.wants_cluster_serve_service(ctx) else None
    if serve is not None:
        wanted.append(serve)
    return wanted


def find_head_service(services: list[dict[str, Any]], cluster: RayCluster) -> dict[str, Any] | None:
    custom = cluster.spec.head_group_spec.head_service or {}
    name = names.head_service_name(cluster.name, (custom.get("metadata") or {}).get("name"))
    return next((s for s in services if s["metadata"]["name"] == name), None)


async def ensure_services(
    client: KubeClient,
    cluster: RayCluster,
    existing: list[dict[str, Any]],
    settings: OperatorSettings,
    events: ObjectEvents,
) -> None:
    """Create every desired Service that the cache does not have."""
    have = {s["metadata"]["name"] for s in existing}
    for wanted in desired_services(cluster, settings):
        name = wanted["metadata"]["name"]
        if name in have:
            continue
        await _create(client, SERVICE, wanted, cluster.namespace)
        events.normal("CreatedService", "Create", f"Created service {cluster.namespace}/{name}")


class OnceMemo:
    """Create-once children (autoscaler ServiceAccount/Role/RoleBinding, the auth token Secret).

    They are not cached by an informer; each is created once per cluster (AlreadyExists counts as done,
    so an existing token is never replaced) and the cluster's UID is remembered under its key; a
    cluster re-created under the same name has a new UID and is handled afresh.
    """

    def __init__(self) -> None:
        self._done: dict[ObjectKey, str] = {}

    async def ensure(
        self,
        client: KubeClient,
        key: ObjectKey,
        cluster: RayCluster,
        settings: OperatorSettings,
        events: ObjectEvents,
    ) -> None:
        uid = str(cluster.metadata.get("uid", ""))
        if self._done.get(key) == uid:
            return
        ctx = context(cluster, settings)
        wanted: list[tuple[ResourceKind, dict[str, Any]]] = []
        if secret.wants_auth_secret(ctx):
            # 32 random bytes, base64: the shape of KubeRay's generated token.
            token = base64.b64encode(secrets.token_bytes(32)).decode()
            wanted.append((SECRET, secret.build_auth_secret(ctx, token)))
        if is_autoscaling_enabled(cluster.spec):
            if rbac.creates_service_account(ctx):
                wanted.append((SERVICE_ACCOUNT, rbac.build_service_account(ctx)))
            wanted += [(ROLE, rbac.build_role(ctx)), (ROLE_BINDING, rbac.build_role_binding(ctx))]
        for kind, obj in wanted:
            if await _create(client, kind, obj, cluster.namespace):
                name = obj["metadata"]["name"]
                events.normal(f"Created{kind.kind}", "Create", f"Created {kind.kind} {cluster.namespace}/{name}")
        self._done[key] = uid

    def forget(self, key: ObjectKey) -> None:
        self._done.pop(key, None)


async def _create(client: KubeClient, kind: ResourceKind, obj: dict[str, Any], namespace: str) -> bool:
    """Create `obj`; False if it already existed."""
    try:
        await client.create(kind, obj, namespace=namespace)
    except ApiError as err:
        if is_already_exists(err):
            return False
        raise
    return True
