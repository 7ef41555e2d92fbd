"""The RayJob status, assembled in one place from the old status and a state function's step.

:func:`next_status` merges the step's changes, then applies what KubeRay does after every state
(``checkBackoffLimitAndUpdateStatusIfNeeded`` and ``updateRayJobStatus``): count the attempt when the RayJob
enters Failed (``failed``) or Complete with SUCCEEDED (``succeeded``), stamp ``endTime`` on entering Complete
or Failed, and turn Failed into Retrying while ``failed < backoffLimit + 1`` (never after DeadlineExceeded or
JobStatusCheckTimeoutExceeded). Empty values are dropped, as Go's ``omitempty`` does, so an unchanged status
compares equal and is not written again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from raykube import reasons
from raykube.api.rayjob import RayJob
from raykube.controllers.event import Event
from raykube.controllers.rayjob.snapshot import Step
from raykube.runtime.clock import stamp

D = reasons.JobDeploymentStatus
_NOT_RETRIED = (reasons.JobFailedReason.DEADLINE_EXCEEDED, reasons.JobFailedReason.STATUS_CHECK_TIMEOUT_EXCEEDED)


def normalized(status: Mapping[str, Any]) -> dict[str, Any]:
    """The status without empty values (``None``, ``""``, ``{}``)."""
    return {k: v for k, v in status.items() if v is not None and v != "" and v != {}}


def next_status(old: Mapping[str, Any], step: Step, *, job: RayJob, now: dt.datetime) -> dict[str, Any]:
    """The complete new status (JSON, camelCase)."""
    new = normalized({**old, **step.changes})
    before, after = str(old.get("jobDeploymentStatus") or ""), str(new.get("jobDeploymentStatus") or "")
    failed, succeeded = int(new.get("failed") or 0), int(new.get("succeeded") or 0)
    if after != before:
        if after == D.FAILED:
            failed += 1
        if after == D.COMPLETE and new.get("jobStatus") == reasons.JobStatus.SUCCEEDED:
            succeeded += 1
        if after == D.FAILED and _retry(job, failed, str(new.get("reason") or "")):
            new["jobDeploymentStatus"] = D.RETRYING
        elif after in (D.COMPLETE, D.FAILED):
            new["endTime"] = stamp(now)
    new["failed"], new["succeeded"] = failed, succeeded
    generation = job.metadata.get("generation")
    if isinstance(generation, int):
        new["observedGeneration"] = generation
    return new


def _retry(job: RayJob, failed: int, reason: str) -> bool:
    limit = job.spec.backoff_limit or 0
    return failed < limit + 1 and reason not in _NOT_RETRIED


def status_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return normalized(old) != normalized(new)


def validation_failure(problems: list[str]) -> Step:
    """ValidationFailed: terminal, with every problem in the message."""
    message = "; ".join(problems)
    changes = {
        "jobDeploymentStatus": D.VALIDATION_FAILED,
        "reason": reasons.JobFailedReason.VALIDATION_FAILED,
        "message": message,
    }
    return Step(changes, (), None, (Event.warning(reasons.EventReason.INVALID_RAYJOB_SPEC, message),))
