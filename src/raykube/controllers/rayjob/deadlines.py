"""Time limits of a RayJob, as pure checks: each returns the step that ends the RayJob, or ``None``.

* ``activeDeadlineSeconds``: wall clock from ``status.startTime`` (Initializing, Running) → DeadlineExceeded;
* ``preRunningDeadlineSeconds``: Running must be reached in time (Initializing, Waiting) →
  PreRunningDeadlineExceeded;
* the transition grace period: Ray reported the end long ago but the RayJob is still Running (its submitter
  never finished) → Complete, or Failed with JobDeploymentStatusTransitionGracePeriodExceeded;
* the status-check timeout: the dashboard has failed to answer for ``RAYJOB_STATUS_CHECK_TIMEOUT_SECONDS`` →
  Failed with JobStatusCheckTimeoutExceeded.
"""

from __future__ import annotations

import datetime as dt

from raykube import reasons
from raykube.controllers.rayjob.changes import CLEAR, StatusChanges
from raykube.controllers.rayjob.snapshot import Snapshot, Step, fail, is_job_terminal
from raykube.runtime.clock import stamp

D = reasons.JobDeploymentStatus
J = reasons.JobStatus
F = reasons.JobFailedReason


def active_deadline(s: Snapshot) -> Step | None:
    seconds = s.job.spec.active_deadline_seconds
    if (start := _passed(s, seconds)) is None:
        return None
    message = (
        f"The RayJob has passed the activeDeadlineSeconds. StartTime: {stamp(start)}. ActiveDeadlineSeconds: {seconds}"
    )
    return fail(s, F.DEADLINE_EXCEEDED, message)


def pre_running_deadline(s: Snapshot) -> Step | None:
    seconds = s.job.spec.pre_running_deadline_seconds
    if (start := _passed(s, seconds)) is None:
        return None
    message = (
        f"The RayJob did not reach Running within preRunningDeadlineSeconds. StartTime: {stamp(start)}. "
        f"PreRunningDeadlineSeconds: {seconds}"
    )
    return fail(s, F.PRE_RUNNING_DEADLINE_EXCEEDED, message)


def _passed(s: Snapshot, seconds: int | None) -> dt.datetime | None:
    """``status.startTime`` once ``seconds`` from it have passed (``None``: no limit, not started, in time)."""
    start = s.status.start_time
    if not seconds or start is None or s.now < start + dt.timedelta(seconds=seconds):
        return None
    return start


def grace_period_exceeded(s: Snapshot) -> Step | None:
    """Ray reported the end long ago but the RayJob is still Running (its submitter never finished)."""
    if not is_job_terminal(s.job_status):
        return None
    ended = s.status.ray_job_info.end_time if s.status.ray_job_info else None
    grace = s.settings.transition_grace_period
    if ended is None or (s.now - ended).total_seconds() < grace:
        return None
    message = f"The Ray job ended ({s.job_status}) more than {grace:g}s ago, but the RayJob was still Running"
    if s.job_status == J.FAILED:
        return fail(s, F.TRANSITION_GRACE_PERIOD_EXCEEDED, message)
    return Step(StatusChanges(job_deployment_status=D.COMPLETE, reason=CLEAR, message=message), (), None)


def status_checks_timed_out(s: Snapshot) -> Step | None:
    since = s.status.job_status_check_failure_start_time
    timeout = s.settings.status_check_timeout
    if since is None or (s.now - since).total_seconds() < timeout:
        return None
    last = s.probe.info.error if s.probe.info is not None and s.probe.info.error is not None else None
    submit = s.probe.submit.error if s.probe.submit is not None else None
    detail = last or submit
    message = (
        f"The Ray dashboard has failed to report the status of job {s.status.job_id} since {stamp(since)} "
        f"(more than {timeout:g}s)" + (f"; last error: {detail}" if detail else "")
    )
    return fail(s, F.STATUS_CHECK_TIMEOUT_EXCEEDED, message)
