"""The RayJob status, assembled in one place from the old status and a state function's step.

:func:`next_status` merges the step's changes, then applies what KubeRay does after every state
(``checkBackoffLimitAndUpdateStatusIfNeeded`` and ``updateRayJobStatus``): count the attempt when the RayJob
enters Failed (``failed``) or Complete with SUCCEEDED (``succeeded``), stamp ``endTime`` on entering Complete
or Failed, and turn Failed into Retrying while ``failed < backoffLimit + 1`` (never after DeadlineExceeded or
JobStatusCheckTimeoutExceeded). Empty values are dropped, as Go's ``omitempty`` does, so an unchanged status
compares equal and is not written again.

The result is a typed `RayJobStatus` (times as datetimes), compared as such and turned into the API's JSON
only at the write. The state functions read it typed (`Snapshot.status`) and return their changes typed
(`StatusChanges`), merged here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from raykube import reasons
from raykube.api.rayjob import RayJob, RayJobStatus
from raykube.controllers.event import Event
from raykube.controllers.rayjob.changes import StatusChanges
from raykube.controllers.rayjob.snapshot import Step

D = reasons.JobDeploymentStatus
_NOT_RETRIED = (reasons.JobFailedReason.DEADLINE_EXCEEDED, reasons.JobFailedReason.STATUS_CHECK_TIMEOUT_EXCEEDED)


def normalized(status: Mapping[str, Any]) -> dict[str, Any]:
    """The status without empty values (``None``, ``""``, ``{}``)."""
    return {k: v for k, v in status.items() if v is not None and v != "" and v != {}}


def read_status(raw: Mapping[str, Any] | None) -> RayJobStatus | None:
    """A status as the API returned it, typed (``None`` when empty); raises `pydantic.ValidationError`.

    Empty values are dropped first, so two statuses that differ only in them compare equal."""
    kept = normalized(raw or {})
    return RayJobStatus.model_validate(kept) if kept else None


def _with_changes(old: RayJobStatus | None, changes: StatusChanges) -> RayJobStatus:
    """The old status with a step's changes, as the API server will hand it back: empty values dropped, times in
    whole seconds (so an unchanged status compares equal to the one read back after the write)."""
    return read_status(changes.applied_to(old or RayJobStatus()).to_json()) or RayJobStatus()


def next_status(old: RayJobStatus | None, step: Step, *, job: RayJob, now: dt.datetime) -> RayJobStatus:
    """The complete new status, typed; the reconciler serialises it at the write."""
    merged = _with_changes(old, step.changes)
    before = (old.job_deployment_status if old else None) or ""
    after = merged.job_deployment_status or ""
    failed, succeeded = merged.failed or 0, merged.succeeded or 0
    update: dict[str, Any] = {}
    if after != before:
        if after == D.FAILED:
            failed += 1
        if after == D.COMPLETE and merged.job_status == reasons.JobStatus.SUCCEEDED:
            succeeded += 1
        if after == D.FAILED and _retry(job, failed, merged.reason or ""):
            update["job_deployment_status"] = str(D.RETRYING)
        elif after in (D.COMPLETE, D.FAILED):
            update["end_time"] = now
    update["failed"], update["succeeded"] = failed, succeeded
    generation = job.metadata.get("generation")
    if isinstance(generation, int):
        update["observed_generation"] = generation
    return merged.model_copy(update=update)


def _retry(job: RayJob, failed: int, reason: str) -> bool:
    limit = job.spec.backoff_limit or 0
    return failed < limit + 1 and reason not in _NOT_RETRIED


def status_changed(old: RayJobStatus | None, new: RayJobStatus) -> bool:
    """Anything differs (both come without empty values: `read_status`, `next_status`)."""
    return old != new


def validation_failure(problems: list[str]) -> Step:
    """ValidationFailed: terminal, with every problem in the message."""
    message = "; ".join(problems)
    changes = StatusChanges(
        job_deployment_status=D.VALIDATION_FAILED, reason=reasons.JobFailedReason.VALIDATION_FAILED, message=message
    )
    return Step(changes, (), None, (Event.warning(reasons.EventReason.INVALID_RAYJOB_SPEC, message),))
