"""The RayJob reconciler: observe → decide → act → one status write → Events.

Level-based like the RayCluster reconciler: ``reconcile(key)`` reads the RayJob and everything around it from
informer caches and the latest dashboard answers from memory, asks the state function for the current
``jobDeploymentStatus`` what to do (:func:`raykube.controllers.rayjob.states.decide`), carries out the
actions, assembles the status in one place (:func:`raykube.controllers.rayjob.status.next_status`) and writes it
through the status subresource only when it changed. Events gathered during the pass go out after the write.

No reconcile ever waits on the Ray dashboard: calls run as background tasks
(:mod:`raykube.controllers.rayjob.dashboard`) and their answers re-enqueue the key. Non-terminal states look
again every 3 s (KubeRay's RayJobDefaultRequeueDuration) through the work queue's clock, never by sleeping.

Order of checks, as KubeRay: gone → forget; ``spec.managedBy`` another controller → skip; being deleted → stop
the Ray job and drop the finalizer; invalid → ValidationFailed (terminal, Warning ``InvalidRayJobSpec``);
otherwise the state machine.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import pydantic

from raykube.api.defaults import effective_submission_mode
from raykube.api.rayjob import RayJob, RayJobStatus, SubmissionMode
from raykube.api.spec_warnings import rayjob_warnings
from raykube.api.validation import ValidationGates, validate_rayjob
from raykube.builders import names
from raykube.controllers import kit
from raykube.controllers.events import ObjectEvents
from raykube.controllers.kinds import RAYJOB
from raykube.controllers.rayjob import states
from raykube.controllers.rayjob.act import JobActor
from raykube.controllers.rayjob.cache import JobCache
from raykube.controllers.rayjob.dashboard import DashboardProbes, Probe, Target
from raykube.controllers.rayjob.settings import RayJobSettings
from raykube.controllers.rayjob.snapshot import Snapshot, Step
from raykube.controllers.rayjob.status import next_status, read_status, status_changed, validation_failure
from raykube.runtime.controller import Result
from raykube.runtime.errors import ApiError
from raykube.runtime.objects import Obj, ObjectKey, is_being_deleted, meta, uid_of


class RayJobReconciler(kit.ProbingReconciler[JobCache, DashboardProbes, RayJobSettings]):
    """Reconciles one RayJob key; collaborators are injected (client, caches, dashboard probes, clock)."""

    def get(self, key: ObjectKey) -> Obj | None:
        return self._cache.rayjob(key)

    async def reconcile(self, key: ObjectKey) -> Result:
        obj = self.get(key)
        if obj is None:
            self._probes.forget(key)
            self._spec_warnings.forget(key)
            return Result()
        if kit.managed_elsewhere(obj):
            return Result()
        events = ObjectEvents.start(self._recorder, obj)
        status: dict[str, Any] = dict(obj.get("status") or {})
        if is_being_deleted(obj):
            step = self._finalizing(key, obj, status)
            await self._actor(key, obj, events).carry_out(step.actions)
            events.emit()
            return Result(requeue_after=step.requeue_after)
        job, problems = _parse(obj, self._operator.gates)
        old_status = _read_status(status)
        if job is None or problems:
            step = validation_failure(problems)
            job = job or RayJob.model_construct(metadata=obj.get("metadata") or {})
        else:
            self._spec_warnings.emit(key, obj, rayjob_warnings(job))
            step = states.decide(self._observe(key, obj, job, status, old_status or RayJobStatus()))
        actor = self._actor(key, obj, events)
        try:
            current = await actor.carry_out(step.actions)
        except ApiError:
            if actor.failure is not None and not problems:
                await self._note_failure(obj, old_status, actor.failure)
            raise
        if current is not None and current is not obj:
            self._cache.observe_rayjob(current)  # our own finalizer write: never start the next pass stale
        changed = False
        if current is not None:
            new_status = next_status(old_status, step, job=job, now=self._clock.now())
            changed = (await self._write_status(current, old_status, new_status)).written
        if changed or not problems:
            for event in step.events:
                events.record(event)
        events.emit()
        return Result(requeue_after=step.requeue_after)

    # -- observe -----------------------------------------------------------------------------------

    def _observe(
        self, key: ObjectKey, obj: Obj, job: RayJob, status: dict[str, Any], typed: RayJobStatus
    ) -> Snapshot:
        uid = uid_of(obj)
        cluster_name = str(status.get("rayClusterName") or "")
        mode = effective_submission_mode(job.spec)
        target = self._target(status)
        return Snapshot(
            job=job,
            status=typed,
            now=self._clock.now(),
            settings=self._settings,
            operator=self._operator,
            finalizers=tuple(meta(obj).get("finalizers") or ()),
            cluster=self._cache.cluster(key.namespace, cluster_name),
            submitter=self._cache.submitter(key.namespace, names.submitter_job_name(key.name), owner_uid=uid),
            head_pod=self._cache.head_pod(key.namespace, cluster_name) if mode == SubmissionMode.SIDECAR else None,
            job_service=self._cache.job_service(key.namespace, names.head_service_name(key.name), owner_uid=uid),
            target=target,
            probe=self._probes.view(key, target) if target is not None else Probe.EMPTY,
            suffixes=(self._suffix(), self._suffix()) if not status.get("jobDeploymentStatus") else ("", ""),
        )

    def _target(self, status: dict[str, Any]) -> Target | None:
        url, job_id = status.get("dashboardURL"), status.get("jobId")
        if not url or not job_id:
            return None
        address = self._settings.dashboard_address(str(url))
        return Target(address, str(job_id), str(status.get("rayClusterName") or ""))

    def _finalizing(self, key: ObjectKey, obj: Obj, status: dict[str, Any]) -> Step:
        target = self._target(status)
        return states.finalizing(
            status,
            finalizers=tuple(meta(obj).get("finalizers") or ()),
            target=target,
            probe=self._probes.view(key, target) if target is not None else Probe.EMPTY,
            now=self._clock.now(),
            settings=self._settings,
        )

    # -- act and write ------------------------------------------------------------------------------

    def _actor(self, key: ObjectKey, obj: Obj, events: ObjectEvents) -> JobActor:
        return JobActor(self._client, self._probes, key=key, rayjob=obj, events=events, settings=self._settings)

    async def _note_failure(self, obj: Obj, old: RayJobStatus | None, failure: str) -> None:
        """A failed create (KubeRay: a Warning Event, nothing in the status) also goes to ``status.message``, so
        ``kubectl get -o yaml`` says why the RayJob does not move on; the next state clears it. Best effort: a
        failed write here must not hide the create's error, which is raised after it."""
        if old is None or old.message == failure:
            return
        with contextlib.suppress(ApiError):
            await self._write_status(obj, old, old.model_copy(update={"message": failure}))

    async def _write_status(self, obj: Obj, old: RayJobStatus | None, new: RayJobStatus) -> kit.StatusWrite:
        return await self._status_writer.write(obj, old, new)

    @functools.cached_property
    def _status_writer(self) -> kit.StatusWriter[RayJobStatus]:
        return kit.StatusWriter(self._client, RAYJOB, status_changed, self._cache.observe_rayjob, RayJobStatus.to_json)


def _parse(obj: Obj, gates: ValidationGates) -> tuple[RayJob | None, list[str]]:
    """The typed RayJob (as the API server defaulted it) and KubeRay's validation problems."""
    return kit.checked(RayJob, obj, lambda job: validate_rayjob(job, gates=gates))


def _read_status(raw: dict[str, Any]) -> RayJobStatus | None:
    """The old status, typed. One that does not parse (then the RayJob did not either: ValidationFailed) counts as
    absent, so the ValidationFailed status is still written, from scratch, and its Event sent."""
    try:
        return read_status(raw)
    except pydantic.ValidationError:
        return None
