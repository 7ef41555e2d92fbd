"""The RayCluster reconciler: observe → validate → children → plan → act → status, once per pass.

Level-based: `reconcile(key)` reads the RayCluster and its pods and Services from the informer caches,
never from the event that woke it. The pod plan is a pure value (`plan.plan_pods`), carried out by
`act.PodActor`; the status is computed in one place (`status.compute_status`) and written once, through
the status subresource, only when it changed. Events gathered during the pass are emitted after that
write, so they never disagree with the status (JobSet's habit).

Before any child is made, the GCS FT Redis clean-up finalizer takes its step (`gcs_cleanup.decide`, carried
out by `cleanup_act.CleanupActor`): added to a live Redis FT cluster; on deletion the pods, then the
`<cluster>-redis-cleanup` Job, then the finalizer's removal. A cluster being deleted gets nothing else but,
while that finalizer holds it, a status whose ``reason`` says what the deletion waits for and until when (the
pass's one status write).

Invalid specs (KubeRay: `validateRayClusterSpec`) get a Warning Event `InvalidRayClusterSpec` naming the
field, and the key is not retried: a new generation of the object triggers the next attempt, so a bad
manifest can never make the operator loop hot. Values KubeRay accepts silently but cannot honour
(`replicas: -1`, `numOfHosts: 0`, ...) get a Warning `UnexpectedSpecValue` once per generation
(`api.spec_warnings`) and the cluster is reconciled as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic

from raykube import reasons
from raykube.api.defaults import desired_pod_count, set_raycluster_defaults
from raykube.api.raycluster import RayCluster, RayClusterStatus
from raykube.api.spec_warnings import raycluster_warnings
from raykube.api.validation import raycluster_spec_errors, raycluster_status_errors
from raykube.builders.cluster import desired_cluster
from raykube.builders.settings import OperatorSettings
from raykube.controllers import kit
from raykube.controllers.events import ObjectEvents, SpecWarnings
from raykube.controllers.kinds import RAYCLUSTER
from raykube.controllers.raycluster import children
from raykube.controllers.raycluster.act import PodActor
from raykube.controllers.raycluster.cache import ClusterCache
from raykube.controllers.raycluster.cleanup_act import CleanupActor
from raykube.controllers.raycluster.conditions import transition_events
from raykube.controllers.raycluster.plan import MAX_AWAITING_SCHEDULER, Plan, plan_pods
from raykube.controllers.raycluster.status import (
    ReconcileFailure,
    compute_status,
    deleting_status,
    ever_ready,
    invalid_spec_status,
    progress_only,
    status_changed,
)
from raykube.runtime.client import KubeClient
from raykube.runtime.controller import Result
from raykube.runtime.errors import ApiError
from raykube.runtime.events import EventRecorder
from raykube.runtime.expectations import ScaleExpectations
from raykube.runtime.objects import ObjectKey, controller_ref

#: Requeue after a change or an error (KubeRay's DefaultRequeueDuration).
REQUEUE_SOON = 2.0
#: Periodic resync of a quiet cluster (KubeRay's RAYCLUSTER_DEFAULT_REQUEUE_SECONDS default).
RESYNC = 300.0
#: How long a status change that is only progress (counts, addresses, HeadPodReady) may wait for the next
#: change, so one burst of pods turning ready costs one status write (docs/compatibility.md).
STATUS_PROGRESS_HOLD = 2.0
#: The same before the cluster is first ready: a new cluster's pods turn ready over several seconds on a busy
#: API server (the head, then its workers), and its `ready` status, written at once, follows; its counts are
#: progress towards that one write (docs/benchmarks.md, API writes per cluster).
STATUS_PROVISIONING_HOLD = 10.0


class RayClusterReconciler:
    """Reconciles one RayCluster key; collaborators are injected (clients, caches, clock)."""

    def __init__(
        self,
        client: KubeClient,
        *,
        cache: ClusterCache,
        expectations: ScaleExpectations,
        recorder: EventRecorder,
        settings: OperatorSettings,
        now: kit.Clock = kit.utc_now,
    ) -> None:
        self._client = client
        self._cache = cache
        self._children = children.ChildrenActor(client)
        self._cleanup = CleanupActor(client, cache, settings, now)
        self._expectations = expectations
        self._recorder = recorder
        self._spec_warnings = SpecWarnings(recorder)
        self._settings = settings
        self._now = now
        self._pacer = kit.StatusPacer(STATUS_PROGRESS_HOLD, now)
        self._status_writer = kit.StatusWriter(client, RAYCLUSTER, status_changed, cache.observe_cluster,
                                               RayClusterStatus.to_json)
        self._waiting_for_scheduler: set[ObjectKey] = set()  # clusters told (one Event) that workers wait
        self._spec_problems: dict[ObjectKey, tuple[tuple[Any, ...], tuple[str, ...]]] = {}

    async def reconcile(self, key: ObjectKey) -> Result:
        obj = self._cache.cluster(key)
        if obj is None:
            self._expectations.forget_owner(key)
            self._children.forget(key)
            self._spec_warnings.forget(key)
            self._pacer.forget(key)
            self._waiting_for_scheduler.discard(key)
            self._spec_problems.pop(key, None)
            return Result()
        managed_by = (obj.get("spec") or {}).get("managedBy")
        if managed_by not in (None, reasons.MANAGED_BY_KUBERAY):
            return Result()  # another controller (MultiKueue) owns this cluster
        events = ObjectEvents.start(self._recorder, obj)
        cluster = self._parse(obj, events)
        if isinstance(cluster, str):
            await self._cleanup.release_invalid(obj, events)
            await self._write_invalid_spec_status(obj, cluster)
            events.emit()
            return Result()
        decision, written = await self._cleanup.step(key, obj, cluster, self._owned_pods(key, cluster), events)
        if written is not None:
            self._cache.observe_cluster(written)
            obj = written
        if decision.stop or obj["metadata"].get("deletionTimestamp"):
            try:
                if decision.reason is not None:
                    await self._write_deleting_status(obj, decision.reason)
            finally:
                events.emit()  # the pods deleted or the Job created this pass, even if the status write failed
            return Result(requeue_after=decision.requeue_after)
        self._spec_warnings.emit(key, obj, raycluster_warnings(cluster))

        over_limit = self._over_limit(cluster)
        if over_limit is not None:
            events.warning(reasons.EventReason.INVALID_RAYCLUSTER_SPEC, "Validate", over_limit.message)
            failure: ReconcileFailure | None = over_limit
            deferred = 0
        else:
            failure, deferred = await self._reconcile_children(key, cluster, events)
        changed, held = await self._update_status(key, obj, cluster, failure, events)
        events.emit()
        if over_limit is not None:
            return Result()  # nothing to retry: the next generation of the object is the next attempt
        if held:
            return Result(requeue_after=held)  # the held progress is written then, with whatever came meanwhile
        return Result(requeue_after=REQUEUE_SOON if (failure or changed or deferred) else RESYNC)

    async def _update_status(
        self, key: ObjectKey, obj: dict[str, Any], cluster: RayCluster, failure: ReconcileFailure | None,
        events: ObjectEvents,
    ) -> tuple[bool, float]:
        """The pass's status, from the cache as it is now: written (True) with its transition Events, or, when it
        is only progress, held for at most `_progress_window` (the seconds left)."""
        new_status = compute_status(
            cluster,
            self._owned_pods(key, cluster),
            head_service=children.find_head_service(self._cache.services(key), cluster),
            failure=failure,
            now=self._now(),
            conditions_enabled=self._settings.enable_status_conditions,
        )
        old_status = _read_status(obj)
        outcome = await self._write_status(
            obj, old_status, new_status,
            pace=lambda old, new: self._pacer.hold(key, progress_only=progress_only(old, new),
                                                   window=_progress_window(new)),
        )
        if outcome.written and new_status is not None:
            for event in transition_events(old_status, new_status):
                events.record(event)
        return outcome.written, outcome.held

    def _over_limit(self, cluster: RayCluster) -> ReconcileFailure | None:
        """A failure when the cluster asks for more pods than this operator allows (``--max-pods-per-cluster``)."""
        limit = self._settings.max_pods_per_cluster
        wanted = desired_pod_count(cluster.spec)
        if limit <= 0 or wanted <= limit:
            return None
        message = (
            f"the RayCluster asks for {wanted} pods (head and workers), more than this operator's limit of "
            f"{limit} per cluster (--max-pods-per-cluster); no pods are created until replicas are lowered"
        )
        return ReconcileFailure(reasons.RayClusterConditionReason.REPLICAS_OVER_LIMIT, message)

    def _parse(self, obj: dict[str, Any], events: ObjectEvents) -> RayCluster | str:
        """The typed, defaulted cluster, or the validation message (after a Warning Event) when it is invalid."""
        try:
            cluster = kit.parse(RayCluster, obj, self._validate, crd_defaults=False)  # the server defaulted it
        except kit.Invalid as invalid:
            events.warning(reasons.EventReason.INVALID_RAYCLUSTER_SPEC, "Validate", str(invalid))
            return str(invalid)
        cluster.spec = set_raycluster_defaults(cluster.spec)
        return cluster

    def _validate(self, cluster: RayCluster) -> list[str]:
        """`validate_raycluster`, its spec part remembered per cluster while the generation, name, labels and
        annotations stay the same (most passes are about pods, and the whole-schema walk was 8 % of the
        operator's CPU at 100 clusters; docs/benchmarks.md)."""
        meta = cluster.metadata
        fingerprint = (meta.get("uid"), meta.get("generation"), cluster.name, repr(cluster.labels),
                       repr(cluster.annotations))
        key = ObjectKey(cluster.namespace, cluster.name)
        known = self._spec_problems.get(key)
        if known is None or known[0] != fingerprint:
            known = (fingerprint, tuple(raycluster_spec_errors(cluster, gates=self._settings.gates)))
            self._spec_problems[key] = known
        return [*known[1], *raycluster_status_errors(cluster)]

    async def _reconcile_children(
        self, key: ObjectKey, cluster: RayCluster, events: ObjectEvents
    ) -> tuple[ReconcileFailure | None, int]:
        """Plan the pods, ask the desired state for every object, then create the missing children and carry
        out the pod plan; the first failure stops the pass (as KubeRay). Also returns how many pods were left
        for later passes (the per-pass create budget)."""
        plan = plan_pods(
            cluster,
            self._owned_pods(key, cluster),
            expectations_satisfied=lambda g: self._expectations.satisfied(key, g),
            operator_version=self._settings.kuberay_version,
            status_conditions=self._settings.enable_status_conditions,
        )
        self._tell_scheduler_wait(key, plan, events)
        desired = desired_cluster(
            cluster, self._settings, auth_token=children.new_auth_token(), pods=plan.pods_to_create
        )
        try:
            await self._children.ensure(
                key, cluster, desired.children, self._cache.services(key), events,
                has_pods=bool(self._owned_pods(key, cluster)),
            )
        except ApiError as err:
            return ReconcileFailure(reasons.RayClusterConditionReason.FAILED_CREATE_SERVICE, str(err)), plan.deferred
        alive = lambda: self._alive(key, cluster)  # noqa: E731
        actor = PodActor(self._client, cluster, self._expectations, events, still_wanted=alive)
        return await actor.carry_out(key, plan, desired), plan.deferred

    def _tell_scheduler_wait(self, key: ObjectKey, plan: Plan, events: ObjectEvents) -> None:
        """One Normal Event when a scale-up starts waiting on the scheduler's queue (plan.MAX_AWAITING_SCHEDULER),
        so that a user who sees fewer pods than replicas knows why; again only after every pod was created."""
        if plan.held_for_scheduler and key not in self._waiting_for_scheduler:
            self._waiting_for_scheduler.add(key)
            events.normal(
                reasons.EventReason.WAITING_FOR_SCHEDULER, "Create",
                f"{plan.awaiting_after} of the cluster's pods wait for the scheduler; {plan.held_for_scheduler} "
                f"more worker pods are created as these are scheduled (at most {MAX_AWAITING_SCHEDULER} wait at once)",
            )
        elif not plan.deferred and not plan.skipped_groups:
            self._waiting_for_scheduler.discard(key)

    def _alive(self, key: ObjectKey, cluster: RayCluster) -> bool:
        """The cluster is still in the cache, is the same object (uid) and is not being deleted."""
        current = self._cache.cluster(key)
        if current is None or current["metadata"].get("deletionTimestamp"):
            return False
        return bool(current["metadata"].get("uid") == cluster.metadata.get("uid"))

    def _owned_pods(self, key: ObjectKey, cluster: RayCluster) -> list[dict[str, Any]]:
        """The pods this cluster controls: a pod that merely carries our labels is never counted, scaled
        or deleted."""
        uid = cluster.metadata.get("uid")
        return [p for p in self._cache.pods(key) if (controller_ref(p) or {}).get("uid") == uid]

    async def _write_invalid_spec_status(self, obj: dict[str, Any], message: str) -> None:
        """The old status plus the ReplicaFailure naming the invalid spec (see `status.invalid_spec_status`)."""
        try:
            old = _read_status(obj)
        except pydantic.ValidationError:
            return  # a status we cannot read is left as it is rather than rewritten from scratch
        new = invalid_spec_status(
            old, message, now=self._now(), conditions_enabled=self._settings.enable_status_conditions
        )
        await self._write_status(obj, old, new)

    async def _write_deleting_status(self, obj: dict[str, Any], reason: str) -> None:
        """The old status with ``reason`` saying why the deletion waits (see `status.deleting_status`)."""
        try:
            old = _read_status(obj)
        except pydantic.ValidationError:
            return
        await self._write_status(obj, old, deleting_status(old, reason, now=self._now()))

    async def _write_status(
        self, obj: dict[str, Any], old: RayClusterStatus | None, new: RayClusterStatus | None, *,
        pace: Callable[[RayClusterStatus | None, RayClusterStatus], float] | None = None,
    ) -> kit.StatusWrite:
        if new is None:
            return kit.StatusWrite()
        return await self._status_writer.write(obj, old, new, pace=pace)


def _progress_window(status: RayClusterStatus) -> float:
    """How long progress of a cluster with ``status`` may wait (`STATUS_PROVISIONING_HOLD` until it is first
    ready, then `STATUS_PROGRESS_HOLD`)."""
    return STATUS_PROGRESS_HOLD if ever_ready(status) else STATUS_PROVISIONING_HOLD


def _read_status(obj: dict[str, Any]) -> RayClusterStatus | None:
    """`obj`'s status, typed (None when it has none yet); raises `pydantic.ValidationError` if unreadable."""
    raw = obj.get("status")
    return RayClusterStatus.model_validate(raw) if raw else None
