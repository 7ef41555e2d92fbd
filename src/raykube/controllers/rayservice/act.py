"""Carry out a RayService pass: API writes in order (stop at the first failure), Serve calls in the background.

Creates tolerate AlreadyExists and deletes NotFound (a stale cache must not become an error loop); other API
errors are recorded as KubeRay's Warning Event and raised (retry with backoff, no status write). A Service
that exists is only ever patched on its selector, so its ClusterIP (and any client's connection to it)
survives a switch-over. Events are recorded here and emitted by the reconciler after the status write.
"""

from __future__ import annotations

from typing import Any

from raykube import reasons
from raykube.controllers import kit
from raykube.controllers.events import ObjectEvents
from raykube.controllers.kinds import GATEWAY, HTTPROUTE, POD, RAYCLUSTER, RAYSERVICE, SERVICE
from raykube.controllers.rayservice import actions as a
from raykube.controllers.rayservice.plan import REQUEUE_SECONDS
from raykube.controllers.rayservice.serve import ServeProbes
from raykube.runtime.client import KubeClient, PatchType
from raykube.runtime.errors import ApiError, is_already_exists, is_not_found
from raykube.runtime.objects import Obj, ObjectKey, deep_copy

E = reasons.EventReason


class ServiceActor:
    """Performs the actions of one pass for one RayService; :meth:`carry_out` returns its latest version
    (after a finalizer change), or None when it is gone or going."""

    def __init__(
        self, client: KubeClient, probes: ServeProbes, *, key: ObjectKey, rayservice: Obj, events: ObjectEvents
    ) -> None:
        self._client = client
        self._probes = probes
        self._key = key
        self._obj = rayservice
        self._events = events

    async def carry_out(self, actions: tuple[a.Action, ...]) -> Obj | None:
        current: Obj | None = self._obj
        for action in actions:
            current = await self._one(action, current)
        return current

    async def _one(self, action: a.Action, current: Obj | None) -> Obj | None:
        ns = self._key.namespace
        match action:
            case a.AddFinalizer() | a.RemoveFinalizer():
                return await self._finalizer(current, add=isinstance(action, a.AddFinalizer))
            case a.CreateCluster(body=body):
                await self._create(
                    RAYCLUSTER, body, E.CREATED_RAYCLUSTER, E.FAILED_TO_CREATE_RAYCLUSTER, "the RayCluster"
                )
            case a.UpdateCluster(body=body, existing=existing, role=role) if existing is not None:
                await self._update_cluster(body, existing, role)
            case a.DeleteCluster(name=name, why=why):
                await self._delete(
                    RAYCLUSTER,
                    name,
                    f"RayCluster {ns}/{name}: {why}",
                    E.DELETED_RAYCLUSTER,
                    E.FAILED_TO_DELETE_RAYCLUSTER,
                )
                self._probes.forget_cluster(self._key, name)
            case a.ApplyService(body=body, existing=existing):
                await self._apply_service(body, existing)
            case a.DeleteService(name=name):
                await self._delete(SERVICE, name, f"Service {ns}/{name}", None, None)
            case a.LabelHeadPod(name=pod, value=value):
                await self._label(pod, value)
            case a.ApplyRouting(kind=kind, body=body, existing=existing):
                await self._apply_routing(kind, body, existing)
            case a.DeleteRouting(kind=kind, name=name):
                await self._delete(_ROUTING[kind][0], name, f"{kind} {ns}/{name}", None, None)
            case _:
                self._start_serve_call(action)
        return current

    def _start_serve_call(self, action: a.Action) -> None:
        """Serve actions only start a background call: they never fail the pass."""
        match action:
            case a.PollApplications(cluster=cluster, endpoint=endpoint):
                self._probes.poll(self._key, cluster, endpoint, max_age=REQUEUE_SECONDS)
            case a.DeployConfig(
                cluster=cluster, endpoint=endpoint, config=config, applied=applied, capacity_only=capacity_only
            ):
                self._probes.deploy(self._key, cluster, endpoint, config, applied, capacity_only=capacity_only)
            case a.CheckProxy(cluster=cluster, endpoint=endpoint, pod_ip=ip):
                self._probes.check_proxy(self._key, cluster, endpoint, ip)

    async def _finalizer(self, current: Obj | None, *, add: bool) -> Obj | None:
        if current is None:
            return None
        written = await kit.set_finalizer(self._client, RAYSERVICE, current, reasons.FINALIZER_RAYSERVICE, add=add)
        return None if not add else written  # the finalizer goes only while the RayService is being deleted

    async def _create(self, kind: Any, body: Obj, created: E, failed: E, what: str, sep: str = ":") -> None:
        """Create ``body``; KubeRay's Events: "Created <what> ns/name", "Failed to create <what> ns/name<sep> err"."""
        ns, name = self._key.namespace, body["metadata"]["name"]
        try:
            await self._client.create(kind, body, namespace=ns)
        except ApiError as err:
            if is_already_exists(err):
                return
            self._events.warning(failed, "Create", f"Failed to create {what} {ns}/{name}{sep} {err.message or err}")
            raise
        self._events.normal(created, "Create", f"Created {what} {ns}/{name}")

    async def _delete(self, kind: Any, name: str, what: str, deleted: E | None, failed: E | None) -> None:
        try:
            await self._client.delete(kind, name, namespace=self._key.namespace, propagation_policy="Background")
        except ApiError as err:
            if is_not_found(err):
                return
            if failed:
                self._events.warning(failed, "Delete", f"Failed to delete {what}: {err.message or err}")
            raise
        if deleted:
            self._events.normal(deleted, "Delete", f"Deleted {what}")

    async def _update_cluster(self, body: Obj, existing: Obj, role: str) -> None:
        """KubeRay's in-place update: the cached cluster with the spec, labels and annotations of ``body``; its
        resourceVersion makes a stale cache a conflict (retried by the next pass), never a lost change."""
        ns, name = self._key.namespace, body["metadata"]["name"]
        replacement = deep_copy(existing)
        replacement["spec"] = body["spec"]
        replacement["metadata"]["labels"] = body["metadata"]["labels"]
        replacement["metadata"]["annotations"] = body["metadata"]["annotations"]
        try:
            await self._client.replace(RAYCLUSTER, replacement)
        except ApiError as err:
            self._events.warning(
                E.FAILED_TO_UPDATE_RAYCLUSTER, "Update", f"Failed to update the {role} RayCluster {ns}/{name}: {err}"
            )
            raise
        self._events.normal(E.UPDATED_RAYCLUSTER, "Update", f"Updated the {role} RayCluster {ns}/{name}")

    async def _apply_service(self, body: Obj, existing: Obj | None) -> None:
        ns, name = self._key.namespace, body["metadata"]["name"]
        if existing is None:
            await self._create(SERVICE, body, E.CREATED_SERVICE, E.FAILED_TO_CREATE_SERVICE, "the service", ",")
            return
        selector = body["spec"]["selector"]
        patch = [{"op": "replace", "path": "/spec/selector", "value": selector}]
        try:
            await self._client.patch(SERVICE, name, patch, namespace=ns, patch_type=PatchType.JSON)
        except ApiError as err:
            self._events.warning(E.FAILED_TO_UPDATE_SERVICE, "Update", f"Failed to update Service {ns}/{name}: {err}")
            raise
        cluster = selector.get(reasons.LABEL_CLUSTER, "")
        self._events.normal(E.UPDATED_SERVICE, "Update", f"Service {ns}/{name} now selects RayCluster {ns}/{cluster}")

    async def _apply_routing(self, kind: str, body: Obj, existing: Obj | None) -> None:
        """Create the Gateway or HTTPRoute, or replace the existing one's spec (KubeRay's texts)."""
        resource, created, updated, failed_create, failed_update = _ROUTING[kind]
        ns, name = self._key.namespace, body["metadata"]["name"]
        if existing is None:
            try:
                await self._client.create(resource, body, namespace=ns)
            except ApiError as err:
                if is_already_exists(err):
                    return
                self._events.warning(
                    failed_create, "Create", f"Failed to create {kind} for RayService {ns}/{name}: {_why(err)}"
                )
                raise
            self._events.normal(created, "Create", f"Created {kind} for RayService {ns}/{name}")
            return
        replacement = deep_copy(existing)
        replacement["spec"] = body["spec"]
        try:
            await self._client.replace(resource, replacement)
        except ApiError as err:
            self._events.warning(failed_update, "Update", f"Failed to update the {kind} {ns}/{name}: {_why(err)}")
            raise
        self._events.normal(updated, "Update", f"Updated the {kind} {ns}/{name}")

    async def _label(self, pod: str, value: str) -> None:
        ns = self._key.namespace
        patch = {"metadata": {"labels": {reasons.LABEL_SERVE: value}}}
        try:
            await self._client.patch(POD, pod, patch, namespace=ns, patch_type=PatchType.MERGE)
        except ApiError as err:
            if is_not_found(err):
                return
            self._events.warning(
                E.FAILED_TO_UPDATE_HEAD_POD_SERVE_LABEL,
                "Update",
                f"Failed to update the serve label to {value!r} for the Head Pod {ns}/{pod}: {err}",
            )
            raise
        self._events.normal(
            E.UPDATED_HEAD_POD_SERVE_LABEL,
            "Update",
            f"Updated the serve label to {value!r} for the Head Pod {ns}/{pod}",
        )


#: kind -> (resource, created, updated, failed to create, failed to update)
_ROUTING = {
    "Gateway": (GATEWAY, E.CREATED_GATEWAY, E.UPDATED_GATEWAY, E.FAILED_TO_CREATE_GATEWAY, E.FAILED_TO_UPDATE_GATEWAY),
    "HTTPRoute": (
        HTTPROUTE,
        E.CREATED_HTTPROUTE,
        E.UPDATED_HTTPROUTE,
        E.FAILED_TO_CREATE_HTTPROUTE,
        E.FAILED_TO_UPDATE_HTTPROUTE,
    ),
}


def _why(err: ApiError) -> str:
    """The API server's message; a 404 on create means the Gateway API CRDs are not installed."""
    if err.code == 404:
        return f"{err.message or err} (are the Gateway API CRDs installed? NewClusterWithIncrementalUpgrade needs them)"
    return str(err.message or err)
