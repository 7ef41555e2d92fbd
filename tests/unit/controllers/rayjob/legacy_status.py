"""The RayJob status assembly as it was before it was typed (JSON dicts, camelCase keys, time strings).

Kept only as the reference of tests/unit/properties/test_rayjob_status_typed.py, which checks that the typed
`raykube.controllers.rayjob.status` serialises to exactly these dicts. Not used by the operator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from raykube import reasons
from raykube.api.rayjob import RayJob
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
