"""KubeRay's ``jobDeploymentStatus`` state machine: one pure function per state, returning the next step.

Each function takes a :class:`~raykube.controllers.rayjob.snapshot.Snapshot` and returns a
:class:`~raykube.controllers.rayjob.snapshot.Step` (typed status changes, actions, when to look again); nothing
here talks to the API server or the dashboard. The transitions follow KubeRay v1.7.0
(``rayjob_controller.go``; §3.1 of the behaviour reference)::

    New ──► Initializing ──► Running ──► Complete | Failed ──► (deletion policies)
      │          │  └──► Waiting (InteractiveMode, until spec.jobId) ──► Running
      │          └──► Suspending ◄── Running          Failed ──► Retrying (backoffLimit) ──► New
      └──► Suspended ◄── Suspending     Suspended ──► New (spec.suspend false)
    ValidationFailed: terminal, set by the reconciler when the spec is invalid.

Counters, ``endTime`` and the Failed → Retrying decision are applied afterwards, in one place
(:func:`raykube.controllers.rayjob.status.next_status`), exactly as KubeRay runs
``checkBackoffLimitAndUpdateStatusIfNeeded`` after every state.

Where raykube differs: the dashboard is never called here. :class:`~.actions.PollJob` and
:class:`~.actions.SubmitJob` start background calls, and the functions read only the latest answers
(``Snapshot.probe``). A dashboard that keeps failing, or never answers, sets
``jobStatusCheckFailureStartTime``; after ``RAYJOB_STATUS_CHECK_TIMEOUT_SECONDS`` the RayJob fails with
``JobStatusCheckTimeoutExceeded`` - unless, as in KubeRay, its submitter finished more than 30 s before
(then JobDeploymentStatusTransitionGracePeriodExceeded, checked first).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from raykube import reasons
from raykube.api.rayjob import SubmissionMode
from raykube.builders import names
from raykube.builders.job import desired_job
from raykube.controllers.event import Event
from raykube.controllers.rayjob import children, deadlines, deletion, follow
from raykube.controllers.rayjob.actions import (
    AddFinalizer,
    ApplyJobService,
    CreateCluster,
    CreateSubmitter,
    DeleteCluster,
    DeleteSubmitter,
    ForgetDashboard,
    PollJob,
    RemoveFinalizer,
    StopJob,
)
from raykube.controllers.rayjob.changes import CLEAR, StatusChanges
from raykube.controllers.rayjob.probe import Probe, Target
from raykube.controllers.rayjob.settings import RayJobSettings
from raykube.controllers.rayjob.snapshot import Snapshot, Step, is_job_terminal

D = reasons.JobDeploymentStatus
E = reasons.EventReason

#: Status fields a Suspending/Retrying RayJob clears before it starts over (KubeRay resets the same).
_RESET = StatusChanges(
    ray_cluster_status=CLEAR,
    ray_cluster_name=CLEAR,
    dashboard_url=CLEAR,
    job_id=CLEAR,
    message=CLEAR,
    reason=CLEAR,
    ray_job_info=CLEAR,
    job_status=CLEAR,
    job_status_check_failure_start_time=CLEAR,
)


def decide(s: Snapshot) -> Step:
    """The next step of a RayJob that is not being deleted."""
    return _STATES.get(s.deployment_status, unknown)(s)


# -- the states ------------------------------------------------------------------------------------------


def new(s: Snapshot) -> Step:
    """Add the finalizer, name the job and the cluster once (no duplicates later), start the clock."""
    actions = () if reasons.FINALIZER_RAYJOB in s.finalizers else (AddFinalizer(),)
    if s.job.spec.suspend:  # created suspended (Kueue): wait for admission without creating anything
        return Step(StatusChanges(job_deployment_status=D.SUSPENDED, job_status=CLEAR), actions)
    job_id = None
    if s.mode != SubmissionMode.INTERACTIVE and not s.status.job_id:
        job_id = s.job.spec.job_id or names.job_submission_id(s.job.name, s.suffixes[0])
    cluster_name = None
    if not s.status.ray_cluster_name:
        selector = s.job.spec.cluster_selector or {}
        cluster_name = selector.get(reasons.LABEL_CLUSTER) or names.child_cluster_name(s.job.name, s.suffixes[1])
    changes = StatusChanges(
        job_id=job_id,
        ray_cluster_name=cluster_name,
        job_status=CLEAR,
        job_deployment_status=D.INITIALIZING,
        start_time=s.now,
    )
    return Step(changes, actions, s.settings.requeue_seconds)


def initializing(s: Snapshot) -> Step:
    """Create (or find) the cluster, wait until it is ready, then hand over to the submission mode."""
    if s.job.spec.suspend:
        return _to(s, D.SUSPENDING)
    if failed := deadlines.active_deadline(s) or deadlines.pre_running_deadline(s):
        return failed
    wait = Step(requeue_after=s.settings.requeue_seconds)
    cluster = s.cluster
    if cluster is None:
        return _missing_cluster(s, wait)
    if children.is_deleting(cluster):
        return wait
    # The cluster exists: a failed create's message (`RayJobReconciler._note_failure`) is over. KubeRay writes
    # no message before Running, so nothing else is cleared.
    cleared = StatusChanges(message=CLEAR) if s.status.message else StatusChanges()
    url = None
    if not s.status.dashboard_url:
        if not children.is_ready(cluster) and not _sidecar_finished(s):
            # As KubeRay: the not-ready cluster's status is copied while waiting (not in the pass that
            # finds it ready; from Running on, with every answer of the dashboard).
            return wait.but(changes=cleared | StatusChanges(ray_cluster_status=children.cluster_status(cluster)))
        url = children.dashboard_url(cluster, s.operator)
    if s.mode == SubmissionMode.INTERACTIVE:
        return wait.but(changes=cleared | StatusChanges(dashboard_url=url, job_deployment_status=D.WAITING))
    actions = []
    if s.mode == SubmissionMode.K8S_JOB and s.submitter is None:
        actions.append(CreateSubmitter(_submitter(s, cluster)))
    running = StatusChanges(dashboard_url=url, job_deployment_status=D.RUNNING)
    return wait.but(changes=cleared | running, actions=actions)


def waiting(s: Snapshot) -> Step:
    """InteractiveMode: the user submits, then sets ``spec.jobId``; that id is the job to follow."""
    if failed := deadlines.pre_running_deadline(s):
        return failed
    if not s.job.spec.job_id:
        return Step(requeue_after=s.settings.requeue_seconds)
    changes = StatusChanges(job_id=s.job.spec.job_id, job_deployment_status=D.RUNNING)
    return Step(changes, (), s.settings.requeue_seconds)


def running(s: Snapshot) -> Step:
    """Follow the Ray job until it ends; fail on deadlines, a failed submitter or a silent dashboard."""
    if s.job.spec.suspend:
        return _to(s, D.SUSPENDING)
    ended = deadlines.active_deadline(s) or deadlines.grace_period_exceeded(s) or deadlines.status_checks_timed_out(s)
    if ended:
        return ended
    step = Step(requeue_after=s.settings.requeue_seconds)
    cluster = s.cluster
    if cluster is None:  # deleted behind our back: KubeRay recreates it under the same name
        return _missing_cluster(s, step)
    step = step.but(actions=_job_service(s, cluster))
    outcome, failed = follow.submitter_outcome(s, cluster)
    if failed is not None:
        return failed
    if outcome is not None and (late := follow.submitter_finished_long_ago(s, outcome)):
        return late
    if outcome is None:  # the submitter Job is being recreated
        return step.but(actions=[CreateSubmitter(_submitter(s, cluster))])
    if s.target is None:
        return step
    return follow.follow(s, step.but(actions=[PollJob(s.target)]), s.target, outcome, cluster)


def suspending(s: Snapshot) -> Step:
    return _release(s, then=D.SUSPENDED)


def retrying(s: Snapshot) -> Step:
    return _release(s, then=D.NEW)


def suspended(s: Snapshot) -> Step:
    """Wait for ``spec.suspend: false`` (a spec change wakes the RayJob, so no periodic pass is needed)."""
    if s.job.spec.suspend:
        return Step()
    return Step(StatusChanges(job_deployment_status=D.NEW, job_status=CLEAR), (), s.settings.requeue_seconds)


def finished(s: Snapshot) -> Step:
    """Complete or Failed: stop following the job, apply the deletion policy when it is due."""
    cleanup = deletion.decide(s)
    return Step(actions=(ForgetDashboard(), *cleanup.actions), requeue_after=cleanup.requeue_after)


def validation_failed(s: Snapshot) -> Step:
    """Terminal: a new spec does not revive a RayJob that failed validation (as KubeRay)."""
    return Step()


def unknown(s: Snapshot) -> Step:
    """A deployment status this version does not know: leave it alone, look again later."""
    return Step(requeue_after=s.settings.requeue_seconds)


def finalizing(
    status: Mapping[str, Any],
    *,
    finalizers: tuple[str, ...],
    target: Target | None,
    probe: Probe,
    now: dt.datetime,
    settings: RayJobSettings,
) -> Step:
    """A deleted RayJob: ask Ray to stop a job that may still run, then let the RayJob go.

    KubeRay makes the stop call inside the reconcile and ignores its errors; here the call runs in the
    background and the finalizer goes once it has answered (any answer), or once it has been pending
    for longer than a call can take.
    """
    if reasons.FINALIZER_RAYJOB not in finalizers:
        return Step(actions=(ForgetDashboard(),))
    job_status = str(status.get("jobStatus") or "")
    if target is not None and not is_job_terminal(job_status) and probe.stop is None:
        pending = probe.stop_pending_since
        if pending is None:
            return Step(actions=(StopJob(target),), requeue_after=settings.dashboard_timeout + 1)
        if (now - pending).total_seconds() < follow.call_deadline(settings):
            return Step(requeue_after=settings.dashboard_timeout + 1)
    return Step(actions=(RemoveFinalizer(), ForgetDashboard()))


_STATES: dict[str, Callable[[Snapshot], Step]] = {
    D.NEW: new,
    D.INITIALIZING: initializing,
    D.WAITING: waiting,
    D.RUNNING: running,
    D.SUSPENDING: suspending,
    D.SUSPENDED: suspended,
    D.RETRYING: retrying,
    D.COMPLETE: finished,
    D.FAILED: finished,
    D.VALIDATION_FAILED: validation_failed,
}


# -- helpers ---------------------------------------------------------------------------------------------


def _sidecar_finished(s: Snapshot) -> bool:
    """SidecarMode: the head pod's submitter has already terminated.

    A terminated container keeps the head pod unready, so the cluster never turns `ready`. KubeRay then waits
    in Initializing for ever (kuberay#4199, #4945); raykube moves on to Running, where the submitter's exit
    code and Ray's answer decide between Complete and Failed.
    """
    return s.mode == SubmissionMode.SIDECAR and s.head_pod is not None and children.sidecar_outcome(s.head_pod).finished


def _to(s: Snapshot, state: str) -> Step:
    return Step(StatusChanges(job_deployment_status=state), (), s.settings.requeue_seconds)


def _missing_cluster(s: Snapshot, step: Step) -> Step:
    """The cluster is not in the cache: create it, or (clusterSelector) complain and wait."""
    name = s.status.ray_cluster_name or ""
    if s.cluster_selected:
        note = (
            f"RayCluster {s.job.namespace}/{name} set in the clusterSelector is not found. It must be created manually"
        )
        return step.but(events=[Event.warning(E.RAYCLUSTER_NOT_FOUND, note)])
    body = desired_job(s.job, s.operator, cluster_name=name, job_id=s.status.job_id or "").cluster
    assert body is not None  # not cluster_selected
    return step.but(actions=[CreateCluster(body)])


def _submitter(s: Snapshot, cluster: dict[str, Any]) -> dict[str, Any]:
    name = s.status.ray_cluster_name or ""
    body = desired_job(s.job, s.operator, cluster_name=name, job_id=s.status.job_id or "", cluster=cluster)
    assert body.submitter is not None  # K8sJobMode
    return body.submitter


def _job_service(s: Snapshot, cluster: dict[str, Any]) -> list[ApplyJobService]:
    """``<rayjob>-head-svc`` for jobs on their own cluster, pointing at the current cluster's head."""
    if s.cluster_selected:
        return []
    desired = children.job_service_body(s.job, cluster, s.operator)
    if children.job_service_current(s.job_service, desired):
        return []
    return [ApplyJobService(desired, s.job_service)]


def _release(s: Snapshot, *, then: str) -> Step:
    """Suspending/Retrying: delete the cluster and the submitter, wait until both are gone, then reset."""
    actions: list[Any] = []
    remaining = []
    if not s.cluster_selected and s.cluster is not None:
        remaining.append("cluster")
        if not children.is_deleting(s.cluster):
            actions.append(DeleteCluster(s.status.ray_cluster_name or ""))
    if s.mode != SubmissionMode.HTTP and s.submitter is not None:
        remaining.append("submitter")
        if not children.is_deleting(s.submitter):
            actions.append(DeleteSubmitter(names.submitter_job_name(s.job.name)))
    if remaining:
        return Step(actions=tuple(actions), requeue_after=s.settings.requeue_seconds)
    reset = dataclasses.replace(_RESET, ray_cluster_name=None) if s.cluster_selected else _RESET
    return Step(reset | StatusChanges(job_deployment_status=then), (ForgetDashboard(),), s.settings.requeue_seconds)
