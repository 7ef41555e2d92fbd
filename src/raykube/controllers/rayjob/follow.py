"""Running: what the submitter did and what the dashboard last said, read without ever waiting.

:func:`submitter_outcome` looks at the K8sJobMode submitter Job or the SidecarMode submitter container;
:func:`follow` turns the latest dashboard answer into status changes (job status, message, Ray's start and
end times, the status-check failure timer) and, in HTTPMode, into a submission. Both are pure.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from raykube import reasons
from raykube.api.rayjob import RayJobInfo, SubmissionMode
from raykube.controllers.rayjob import children
from raykube.controllers.rayjob.actions import SubmitJob
from raykube.controllers.rayjob.changes import CLEAR, StatusChanges
from raykube.controllers.rayjob.children import SubmitterOutcome
from raykube.controllers.rayjob.probe import Answer, Target
from raykube.controllers.rayjob.settings import RayJobSettings
from raykube.controllers.rayjob.snapshot import Snapshot, Step, fail
from raykube.ray.errors import SubmissionIdTaken

D = reasons.JobDeploymentStatus
J = reasons.JobStatus
F = reasons.JobFailedReason
#: The dashboard answered (a job, or "no such job"): the status-check failure timer stops.
_ANSWERED = StatusChanges(job_status_check_failure_start_time=CLEAR)


def submitter_outcome(s: Snapshot, cluster: dict[str, Any]) -> tuple[SubmitterOutcome | None, Step | None]:
    """K8sJobMode: the submitter Job; SidecarMode: the submitter container. (None, None): recreate the Job."""
    if s.mode == SubmissionMode.K8S_JOB:
        if s.submitter is None:
            return None, None
        outcome = children.submitter_outcome(s.submitter)
        if outcome.failed:
            reason = F.APP_FAILED if s.job_status == J.FAILED else F.SUBMISSION_FAILED
            return outcome, fail(s, reason, f"The submitter Job failed: {outcome.detail}")
        return outcome, None
    if s.mode == SubmissionMode.SIDECAR:
        if s.head_pod is None:
            name = (cluster.get("metadata") or {}).get("name", "")
            return None, fail(s, F.SUBMISSION_FAILED, f"The head pod of RayCluster {name} is gone (SidecarMode)")
        outcome = children.sidecar_outcome(s.head_pod)
        if outcome.failed:
            reason = F.APP_FAILED if s.job_status == J.FAILED else F.SUBMISSION_FAILED
            return outcome, fail(s, reason, f"SidecarMode: {outcome.detail}")
        return outcome, None
    return children.RUNNING, None


def submitter_finished_long_ago(s: Snapshot, outcome: SubmitterOutcome) -> Step | None:
    """K8sJobMode/SidecarMode: the submitter finished more than 30 s ago and Ray has not (yet) said the job
    ended: Failed with JobDeploymentStatusTransitionGracePeriodExceeded, jobStatus FAILED.

    As KubeRay (``checkSubmitterFinishedTimeoutAndUpdateStatusIfNeeded``), this is checked before the
    dashboard is asked, so a dashboard that never answers ends the RayJob here, long before the
    status-check timeout (300 s).
    """
    if s.mode not in (SubmissionMode.K8S_JOB, SubmissionMode.SIDECAR) or not outcome.finished or outcome.at is None:
        return None
    grace = s.settings.submitter_finished_grace
    if (s.now - outcome.at).total_seconds() < grace:
        return None
    info = s.probe.info
    if info is not None and info.details is not None and info.details.status.is_terminal:
        return None  # Ray's answer has come in: `follow` completes the RayJob with it
    message = (
        f"The RayJob submitter finished at {outcome.at.strftime('%Y-%m-%d %H:%M:%S')} but the ray job did not "
        f"reach terminal state within {go_duration(grace)}"
    )
    return fail(s, F.TRANSITION_GRACE_PERIOD_EXCEEDED, message, StatusChanges(job_status=J.FAILED))


def go_duration(seconds: float) -> str:
    """Seconds as Go's ``time.Duration.String()`` prints a whole number of them (``30s``, ``5m0s``)."""
    whole = int(seconds)
    minutes, rest = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes}m{rest}s"
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"


def follow(s: Snapshot, step: Step, target: Target, outcome: SubmitterOutcome, cluster: dict[str, Any]) -> Step:
    """Read the latest dashboard answer (never wait for one)."""
    info = s.probe.info
    if info is None:
        pending = s.probe.info_pending_since
        if pending is not None and (s.now - pending).total_seconds() > call_deadline(s.settings):
            return step.but(changes=_failing_since(s, pending))
        return step
    if info.failed:
        return step.but(changes=_failing_since(s, info.at))
    if info.not_found:
        if s.mode == SubmissionMode.HTTP:
            return _submit(s, step.but(changes=_ANSWERED), target)
        if outcome.finished:
            return fail(s, F.APP_FAILED, f"The submitter finished, but the Ray dashboard has no job {target.job_id}")
        return step.but(changes=_ANSWERED)
    assert info.details is not None
    details = info.details
    times = RayJobInfo(start_time=details.started_at, end_time=details.ended_at)
    changes = _ANSWERED | StatusChanges(
        job_status=details.status.value,
        message=details.message or CLEAR,
        ray_job_info=times if details.started_at or details.ended_at else CLEAR,
        ray_cluster_status=children.cluster_status(cluster),
    )
    ended = details.status.is_terminal
    if s.mode == SubmissionMode.K8S_JOB and not outcome.finished:
        ended = False  # KubeRay waits for the submitter too (kuberay#1919)
    if not ended:
        return step.but(changes=changes)
    if details.status.value == J.FAILED:
        return fail(s, F.APP_FAILED, details.message or "The Ray job failed", changes)
    return step.but(changes=changes | StatusChanges(job_deployment_status=D.COMPLETE, reason=CLEAR))


def _submit(s: Snapshot, step: Step, target: Target) -> Step:
    """HTTPMode: Ray does not know the job yet, so submit it (once; again only after a failure)."""
    probe = s.probe
    if probe.submit_pending:
        return step
    answer = probe.submit
    if answer is None:
        return step.but(actions=[SubmitJob(target, children.submit_request(s.job, target.job_id))])
    age = (s.now - answer.at).total_seconds()
    if answer.failed and not _taken(answer):
        step = step.but(changes=_failing_since(s, answer.at))
    elif probe.info is not None and probe.info.at <= answer.at:
        return step  # submitted after the last "not found": the next poll will see the job
    if age >= s.settings.requeue_seconds:
        return step.but(actions=[SubmitJob(target, children.submit_request(s.job, target.job_id))])
    return step


def _taken(answer: Answer) -> bool:
    """Ray already has a job with this id: our earlier submission got through."""
    return isinstance(answer.error, SubmissionIdTaken)


def _failing_since(s: Snapshot, since: dt.datetime) -> StatusChanges:
    """Start the status-check failure timer, unless it runs already."""
    return StatusChanges(job_status_check_failure_start_time=s.status.job_status_check_failure_start_time or since)


def call_deadline(settings: RayJobSettings) -> float:
    """How long one dashboard call may stay pending before it counts as a failure (waiting for a slot included)."""
    return 2 * settings.dashboard_timeout + settings.requeue_seconds
