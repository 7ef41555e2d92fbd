"""The RayJob status assembly as it was before it was typed (JSON dicts, camelCase keys, time strings).

Kept only as the reference of tests/unit/properties/test_rayjob_status_typed.py, which checks that the typed
`raykube.controllers.rayjob.status` serialises to exactly these dicts. Not used by the operator.
:func:`changes_json` writes typed `StatusChanges` as the state functions wrote their changes before they were
typed: camelCase keys, times as ``stamp`` text, models as their JSON, ``None`` to remove a field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from raykube import reasons
from raykube.api.rayjob import RayJob, RayJobStatus
from raykube.api.schema import RayModel
from raykube.controllers.rayjob.changes import CLEAR, StatusChanges
from raykube.runtime.clock import stamp

D = reasons.JobDeploymentStatus
_NOT_RETRIED = (reasons.JobFailedReason.DEADLINE_EXCEEDED, reasons.JobFailedReason.STATUS_CHECK_TIMEOUT_EXCEEDED)


def normalized(status: Mapping[str, Any]) -> dict[str, Any]:
    """The status without empty values (``None``, ``""``, ``{}``)."""
    return {k: v for k, v in status.items() if v is not None and v != "" and v != {}}


def changes_json(changes: StatusChanges) -> dict[str, Any]:
    """The changes as JSON, the way the state functions returned them before `StatusChanges`."""
    return {RayJobStatus.model_fields[name].alias or name: _json(value) for name, value in changes.touched().items()}


def _json(value: Any) -> Any:
    if value is CLEAR:
        return None
    if isinstance(value, dt.datetime):
        return stamp(value)
    if isinstance(value, RayModel):
        return value.to_json()
    return value


def next_status(old: Mapping[str, Any], changes: Mapping[str, Any], *, job: RayJob, now: dt.datetime) -> dict[str, Any]:
    """The complete new status (JSON, camelCase) from a step's JSON changes."""
    new = normalized({**old, **changes})
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
