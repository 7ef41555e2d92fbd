"""The RayCronJob reconciler: a RayJob from ``spec.jobTemplate`` each time the schedule fires.

A pass reads the RayCronJob from the informer cache and decides with :func:`plan` (pure): nothing yet (look
again when the next run is due), or create the RayJob of the run that is due and record its time in
``status.lastScheduleTime``. The RayJob's name is derived from the scheduled time
(:func:`raykube.builders.parents.build_cron_rayjob`), so repeating a pass never starts a run twice. As in
KubeRay (v1.7.0, feature gate ``RayCronJob``): ``suspend`` only stops new runs; an invalid spec gets a Warning Event
``InvalidRayCronJobSpec`` and no retry; RayJobs already created are never touched.

Where raykube differs: after downtime with several missed runs, KubeRay starts the earliest missed one and
stamps ``lastScheduleTime`` with the current time; raykube starts the latest missed one (as a Kubernetes
CronJob does) and stamps the time it was scheduled for, so the RayJob's annotation and the status agree.
Either way one RayJob is created, not one per missed run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from raykube import reasons
from raykube.api.raycronjob import RayCronJob
from raykube.api.spec_warnings import raycronjob_warnings
from raykube.api.validation import ValidationGates, validate_raycronjob
from raykube.builders.parents import build_cron_rayjob
from raykube.controllers import kit
from raykube.controllers.events import ObjectEvents, SpecWarnings
from raykube.controllers.kinds import RAYCRONJOB, RAYJOB
from raykube.controllers.raycronjob.schedule import Schedule, ScheduleError, parse
from raykube.runtime import logs
from raykube.runtime.client import KubeClient
from raykube.runtime.clock import Clock, RealClock, parse_time, stamp
from raykube.runtime.controller import Result
from raykube.runtime.errors import ApiError, is_not_found
from raykube.runtime.events import EventRecorder
from raykube.runtime.informer import Informer
from raykube.runtime.objects import Obj, ObjectKey, is_being_deleted

E = reasons.EventReason
_log = logs.get_logger("raykube.raycronjob")
#: Missed runs looked at when catching up (a per-minute schedule after a week down is about 10,000).
_MAX_MISSED = 100_000


@dataclass(frozen=True)
class Plan:
    """What one pass does: create the run scheduled at ``run`` (if any), then look again after ``requeue_after``."""

    run: dt.datetime | None
    requeue_after: float | None


def plan(schedule: Schedule, *, created: dt.datetime, last_scheduled: dt.datetime | None, now: dt.datetime) -> Plan:
    """The run that is due (the latest one not later than ``now``) and when the next one will be."""
    due = schedule.next_after(last_scheduled or created)
    if due is None:
        return Plan(None, None)  # parse() refuses a schedule that never fires; kept for a DST-only edge case
    if due > now:
        return Plan(None, (due - now).total_seconds())
    for _ in range(_MAX_MISSED):
        later = schedule.next_after(due)
        if later is None or later > now:
            break
        due = later
    following = schedule.next_after(now)
    return Plan(due, (following - now).total_seconds() if following is not None else None)


class RayCronJobReconciler:
    def __init__(
        self, client: KubeClient, *, informers: dict[str | None, Informer], recorder: EventRecorder,
        clock: Clock | None = None, gates: ValidationGates | None = None,
    ) -> None:
        self._client = client
        self._gates = gates or ValidationGates()
        self._informers = informers  # key None: all namespaces
        self._recorder = recorder
        self._spec_warnings = SpecWarnings(recorder)
        self._clock = clock or RealClock()

    def get(self, key: ObjectKey) -> Obj | None:
        informer = self._informers.get(key.namespace) or self._informers.get(None)
        return informer.store.get(key) if informer is not None else None

    async def reconcile(self, key: ObjectKey) -> Result:
        obj = self.get(key)
        if obj is None or is_being_deleted(obj):
            self._spec_warnings.forget(key)
            return Result()
        events = ObjectEvents.start(self._recorder, obj)
        try:
            cron, schedule = _parse(obj, self._gates)
        except kit.Invalid as invalid:
            events.warning(E.INVALID_RAYCRONJOB_SPEC, "Validate", f"{key.namespace}/{key.name}: {invalid}")
            events.emit()
            return Result()
        self._spec_warnings.emit(key, obj, raycronjob_warnings(cron))
        if cron.spec.suspend:
            events.normal(E.SUSPENDED_RAYCRONJOB, "Suspend", "RayCronJob suspended, no new RayJobs will be created")
            events.emit()
            return Result()
        status = obj.get("status") or {}
        now = self._clock.now()
        created = parse_time(obj["metadata"]["creationTimestamp"])
        assert created is not None  # the API server always sets it
        step = plan(schedule, created=created, last_scheduled=parse_time(status.get("lastScheduleTime")), now=now)
        if step.run is not None:
            await self._start(cron, step.run, events)
            await self._client.replace_status(RAYCRONJOB, {**obj, "status": {**status,
                                                                              "lastScheduleTime": stamp(step.run)}})
        events.emit()
        return Result(requeue_after=step.requeue_after)

    async def _start(self, cron: RayCronJob, run: dt.datetime, events: ObjectEvents) -> None:
        rayjob = build_cron_rayjob(cron, scheduled=run)
        name, namespace = rayjob["metadata"]["name"], rayjob["metadata"]["namespace"]
        try:
            if not await kit.create_if_absent(self._client, RAYJOB, rayjob, namespace):
                return  # this run was started by an earlier pass
        except ApiError as err:
            if not is_not_found(err):
                events.warning(E.FAILED_TO_CREATE_RAYJOB, "Create",
                               f"Failed to create RayJob {namespace}/{name}: {err.message or err}")
            raise
        _log.info("Created RayJob", rayjob=f"{namespace}/{name}", scheduled=stamp(run))
        events.normal(E.CREATED_RAYJOB, "Create", f"Created RayJob {namespace}/{name} for the run scheduled at "
                                                  f"{stamp(run)}")


def _parse(obj: Obj, gates: ValidationGates) -> tuple[RayCronJob, Schedule]:
    cron = kit.parse(RayCronJob, obj, lambda c: validate_raycronjob(c, gates=gates), crd_defaults=False)
    try:
        return cron, parse(cron.spec.schedule, cron.spec.time_zone)
    except ScheduleError as err:
        raise kit.Invalid([f"spec.schedule: {err}"]) from None
