"""Make a RayCluster's non-pod children exist: Services, the autoscaler's RBAC, the head Ingress, the auth Secret,
the rocksdb GCS PVC.

What should exist comes from the desired-state function (`builders.cluster.desired_cluster`), in KubeRay's
order; this module only creates what is missing, stopping at the first error (as `rayClusterReconcile`).
Like KubeRay, children are created once and never updated: a user may edit the head Service and the operator
leaves it be. An auth Secret that exists before the cluster has pods is used, as KubeRay uses it, with a
Warning `UsedExistingSecret` (KubeRay says nothing). A Service is looked up in the informer cache (indexed by
`ray.io/cluster`) and re-created when it disappears; the other children are not cached, so each is created once
per cluster (AlreadyExists counts as done, so an existing token is never replaced) and the cluster's UID is
remembered under its key, which keeps steady-state passes free of API calls.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from typing import Any

from raykube import reasons
from raykube.api.raycluster import RayCluster
from raykube.api.schema import K8sObject
from raykube.builders import names
from raykube.controllers.events import ObjectEvents
from raykube.controllers.kinds import (
    INGRESS,
    PERSISTENT_VOLUME_CLAIM,
    ROLE,
    ROLE_BINDING,
    SECRET,
    SERVICE,
    SERVICE_ACCOUNT,
)
from raykube.controllers.kit import create_if_absent
from raykube.runtime.client import KubeClient
from raykube.runtime.kinds import ResourceKind
from raykube.runtime.objects import ObjectKey

E = reasons.EventReason

#: The kind of every non-pod child, the reason of the Event its creation gets and the noun in its text
#: (KubeRay's: ``Created role <ns>/<name>``).
CHILD_KINDS: dict[str, tuple[ResourceKind, E, str]] = {
    "Service": (SERVICE, E.CREATED_SERVICE, "service"),
    "ServiceAccount": (SERVICE_ACCOUNT, E.CREATED_SERVICE_ACCOUNT, "service account"),
    "Role": (ROLE, E.CREATED_ROLE, "role"),
    "RoleBinding": (ROLE_BINDING, E.CREATED_ROLE_BINDING, "role binding"),
    "Ingress": (INGRESS, E.CREATED_INGRESS, "ingress"),
    "Secret": (SECRET, E.CREATED_SECRET, "secret"),
    "PersistentVolumeClaim": (
        PERSISTENT_VOLUME_CLAIM,
        E.CREATED_PERSISTENT_VOLUME_CLAIM,
        "persistent volume claim",
    ),
}


def new_auth_token() -> str:
    """32 random bytes, base64: the shape of KubeRay's generated Ray auth token."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def find_head_service(services: list[dict[str, Any]], cluster: RayCluster) -> dict[str, Any] | None:
    custom = cluster.spec.head_group_spec.head_service or {}
    name = names.head_service_name(cluster.name, (custom.get("metadata") or {}).get("name"))
    return next((s for s in services if s["metadata"]["name"] == name), None)


class ChildrenActor:
    """Creates the missing non-pod children of each cluster; remembers per cluster UID what was done once."""

    def __init__(self, client: KubeClient) -> None:
        self._client = client
        self._done: dict[ObjectKey, str] = {}
        self._made_secret: dict[ObjectKey, str] = {}  # cluster UID whose auth Secret this process created

    async def ensure(
        self,
        key: ObjectKey,
        cluster: RayCluster,
        wanted: Sequence[K8sObject],
        existing_services: list[dict[str, Any]],
        events: ObjectEvents,
        *,
        has_pods: bool = True,
    ) -> None:
        """Create every object of `wanted` (in order) that is missing; an ApiError stops the pass.

        ``has_pods``: the cluster already has pods. When it has none yet and its auth Secret exists already, the
        Secret was not made by this cluster's first pass: see `_existing_auth_secret`."""
        uid = str(cluster.metadata.get("uid", ""))
        once_done = self._done.get(key) == uid
        have = {s["metadata"]["name"] for s in existing_services}
        for obj in wanted:
            kind, reason, noun = CHILD_KINDS[obj["kind"]]
            name = obj["metadata"]["name"]
            if (name in have) if kind is SERVICE else once_done:
                continue
            created = await create_if_absent(self._client, kind, obj, key.namespace)
            if created:
                events.normal(reason, "Create", f"Created {noun} {key.namespace}/{name}")
                if kind is SECRET:
                    self._made_secret[key] = uid
            elif kind is SECRET and not has_pods and self._made_secret.get(key) != uid:
                _existing_auth_secret(key, name, events)
        self._done[key] = uid

    def forget(self, key: ObjectKey) -> None:
        self._done.pop(key, None)
        self._made_secret.pop(key, None)


def _existing_auth_secret(key: ObjectKey, name: str, events: ObjectEvents) -> None:
    """A Secret named like the cluster's auth Secret existed before the cluster had pods. KubeRay uses any such
    Secret as the token, silently, whoever made it; raykube does the same (it cannot tell: the operator may
    create Secrets but not read them, so who owns this one is unknown) and says so. Cases it cannot tell from
    this one: the operator stopped between creating the Secret and the head pod (the Warning is then needless)."""
    events.warning(
        E.USED_EXISTING_SECRET,
        "Create",
        f"Secret {key.namespace}/{name} already existed before this RayCluster had pods: it is used as the cluster's "
        "Ray auth token, as KubeRay does, without checking who created it (the operator cannot read Secrets). If it "
        "was not made for this cluster, delete the RayCluster and the Secret, or name a Secret in "
        "authOptions.secretName",
    )
