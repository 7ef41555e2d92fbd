"""Carry out a step's actions: API writes in order (stop at the first failure), dashboard calls in the background.

Creates tolerate AlreadyExists and deletes tolerate NotFound (a stale cache must not turn into an error
loop); any other API error is recorded as KubeRay's Warning Event and raised, so the key is retried with
backoff and the status is not written. Events are only recorded here; the reconciler emits them after the
status write.
"""

from __future__ import annotations

from typing import Any

from raykube import reasons
from raykube.controllers import kit
from raykube.controllers.events import ObjectEvents
from raykube.controllers.kinds import JOB, RAYCLUSTER, RAYJOB, SERVICE
from raykube.controllers.rayjob import actions as a
from raykube.controllers.rayjob.dashboard import DashboardProbes
from raykube.controllers.rayjob.settings import RayJobSettings
from raykube.runtime.client import KubeClient, PatchType
from raykube.runtime.errors import ApiError, is_not_found
from raykube.runtime.objects import Obj, ObjectKey

E = reasons.EventReason


class JobActor:
    """Performs the actions of one pass for one RayJob.

    ``rayjob`` is the object the pass started from; :meth:`carry_out` returns the latest version of it (after
    a finalizer change), or ``None`` when it is gone or going (no status write then). After a failed create,
    ``failure`` holds the Warning's text (the reconciler puts it in ``status.message``).
    """

    def __init__(
        self,
        client: KubeClient,
        probes: DashboardProbes,
        *,
        key: ObjectKey,
        rayjob: Obj,
        events: ObjectEvents,
        settings: RayJobSettings,
    ) -> None:
        self._client = client
        self._probes = probes
        self._key = key
        self._rayjob = rayjob
        self._events = events
        self._settings = settings
        self.failure: str | None = None

    async def carry_out(self, actions: tuple[a.Action, ...]) -> Obj | None:
        current: Obj | None = self._rayjob
        for action in actions:
            current = await self._one(action, current)
        return current

    async def _one(self, action: a.Action, current: Obj | None) -> Obj | None:
        name = self._key.name
        match action:
            case a.AddFinalizer() | a.RemoveFinalizer():
                return await self._finalizer(current, add=isinstance(action, a.AddFinalizer))
            case a.DeleteSelf():
                await self._delete(RAYJOB, name, "RayJob", None, None)
                return None
            case a.CreateCluster(body=body):
                await self._create(
                    RAYCLUSTER, body, E.CREATED_RAYCLUSTER, E.FAILED_TO_CREATE_RAYCLUSTER, "RayCluster", "RayCluster"
                )
            case a.DeleteCluster(name=cluster):
                await self._delete(RAYCLUSTER, cluster, "cluster", E.DELETED_RAYCLUSTER, E.FAILED_TO_DELETE_RAYCLUSTER)
            case a.SuspendWorkers(name=cluster, groups=groups):
                await self._suspend_workers(cluster, groups)
            case a.CreateSubmitter(body=body):
                await self._create(
                    JOB,
                    body,
                    E.CREATED_RAYJOB_SUBMITTER,
                    E.FAILED_TO_CREATE_RAYJOB_SUBMITTER,
                    "Kubernetes Job",
                    "new Kubernetes Job",
                )
            case a.DeleteSubmitter(name=job):
                await self._delete(
                    JOB,
                    job,
                    "submitter K8s Job",
                    E.DELETED_RAYJOB_SUBMITTER,
                    E.FAILED_TO_DELETE_RAYJOB_SUBMITTER,
                )
            case a.ApplyJobService(body=body, existing=existing):
                await self._apply_service(body, existing)
            case a.PollJob() | a.SubmitJob() | a.StopJob() | a.ForgetDashboard():
                self._dashboard(action)
        return current

    def _dashboard(self, action: a.PollJob | a.SubmitJob | a.StopJob | a.ForgetDashboard) -> None:
        """Hand a dashboard call to the probes (they run it in the background; the answer comes back later)."""
        match action:
            case a.PollJob(target=target):
                self._probes.poll(self._key, target, max_age=self._settings.requeue_seconds)
            case a.SubmitJob(target=target, request=request):
                self._probes.submit(self._key, target, request)
            case a.StopJob(target=target):
                self._probes.stop(self._key, target)
            case a.ForgetDashboard():
                self._probes.forget(self._key)

    async def _finalizer(self, current: Obj | None, *, add: bool) -> Obj | None:
        if current is None:
            return None
        return await kit.set_finalizer(self._client, RAYJOB, current, reasons.FINALIZER_RAYJOB, add=add)

    async def _create(
        self, kind: Any, body: Obj, created: E, failed: E, what: str, what_failed: str, sep: str = ":"
    ) -> None:
        """Create ``body``; the Events are KubeRay's: "Created <what> ns/name", "Failed to create <what_failed>
        ns/name<sep> err" (KubeRay's Service texts say "the service" and put a comma before the error)."""
        ns = self._key.namespace
        name = body["metadata"]["name"]
        try:
            if not await kit.create_if_absent(self._client, kind, body, ns):
                return
        except ApiError as err:
            self.failure = f"Failed to create {what_failed} {ns}/{name}{sep} {err.message or err}"
            self._events.warning(failed, "Create", self.failure)
            raise
        self._events.normal(created, "Create", f"Created {what} {ns}/{name}")

    async def _delete(self, kind: Any, name: str, what: str, deleted: E | None, failed: E | None) -> None:
        ns = self._key.namespace
        try:
            await self._client.delete(kind, name, namespace=ns, propagation_policy="Background")
        except ApiError as err:
            if is_not_found(err):
                return
            if failed:
                self._events.warning(failed, "Delete", f"Failed to delete {what} {ns}/{name}: {err.message or err}")
            raise
        if deleted:
            self._events.normal(deleted, "Delete", f"Deleted {what} {ns}/{name}")

    async def _suspend_workers(self, cluster: str, groups: tuple[str, ...]) -> None:
        """DeleteWorkers: ``suspend: true`` on each named group, guarded by a test of its position."""
        ns = self._key.namespace
        try:
            current = await self._client.get(RAYCLUSTER, cluster, namespace=ns)
            patch: list[dict[str, Any]] = []
            for index, group in enumerate((current.get("spec") or {}).get("workerGroupSpecs") or []):
                if group.get("groupName") in groups and not group.get("suspend"):
                    path = f"/spec/workerGroupSpecs/{index}"
                    patch.append({"op": "test", "path": f"{path}/groupName", "value": group.get("groupName")})
                    patch.append({"op": "add", "path": f"{path}/suspend", "value": True})
            if patch:
                await self._client.patch(RAYCLUSTER, cluster, patch, namespace=ns, patch_type=PatchType.JSON)
        except ApiError as err:
            if is_not_found(err):
                return
            self._events.warning(
                E.FAILED_TO_UPDATE_RAYCLUSTER,
                "Update",
                f"Failed to suspend worker groups in cluster {ns}/{cluster}: {err.message or err}",
            )
            raise
        self._events.normal(
            E.UPDATED_RAYCLUSTER,
            "Update",
            f"Set the `suspend` field to true for all worker groups in cluster {ns}/{cluster}",
        )

    async def _apply_service(self, body: Obj, existing: Obj | None) -> None:
        ns, name = self._key.namespace, body["metadata"]["name"]
        if existing is None:
            await self._create(
                SERVICE, body, E.CREATED_SERVICE, E.FAILED_TO_CREATE_SERVICE, "the service", "the service", ","
            )
            return
        patch = {"spec": {"selector": body["spec"]["selector"]}}
        try:
            await self._client.patch(SERVICE, name, patch, namespace=ns, patch_type=PatchType.STRATEGIC)
        except ApiError as err:
            self._events.warning(E.FAILED_TO_UPDATE_SERVICE, "Update", f"Failed to update Service {ns}/{name}: {err}")
            raise
        self._events.normal(E.UPDATED_SERVICE, "Update", f"Pointed Service {ns}/{name} at the current cluster")
