"""Every transition of the RayJob state machine, as pure functions of a snapshot (no I/O, no sleeps)."""

from __future__ import annotations

from typing import Any

import pytest

from raykube.api.raycluster import RayClusterStatus
from raykube.api.rayjob import RayJobInfo
from raykube.controllers.rayjob import actions as a
from raykube.controllers.rayjob import states
from raykube.controllers.rayjob.changes import CLEAR, Clear, StatusChanges
from raykube.controllers.rayjob.dashboard import Answer, Probe
from raykube.controllers.rayjob.snapshot import Snapshot, Step
from raykube.ray.errors import DashboardServerError, DashboardUnreachable, JobNotFound, SubmissionIdTaken
from raykube.runtime.clock import stamp
from tests.unit.controllers.rayjob.fixtures import (
    CLUSTER,
    JOB_ID,
    NOW,
    TARGET,
    URL,
    ago,
    failure,
    info,
    make_cluster,
    make_head_pod,
    make_job,
    make_submitter,
    running_status,
    snap,
)

NOT_FOUND = failure(JobNotFound(TARGET.address, "no such job"))
UNREACHABLE = failure(DashboardUnreachable(TARGET.address, "no answer within 2s", timed_out=True))


def kinds(step: Step) -> list[str]:
    return [type(action).__name__ for action in step.actions]


def deployment(step: Step, s: Snapshot) -> str:
    changed = step.changes.job_deployment_status
    return s.deployment_status if changed is None else str(changed)


# -- New ------------------------------------------------------------------------------------------------


def test_a_new_rayjob_is_named_once_and_starts_initializing() -> None:
    s = snap(finalizers=())
    step = states.decide(s)
    assert step.changes == StatusChanges(
        job_id="rj-jjjjj",
        ray_cluster_name="rj-ccccc",
        job_status=CLEAR,
        job_deployment_status="Initializing",
        start_time=NOW,
    )
    assert kinds(step) == ["AddFinalizer"]
    assert step.requeue_after == 3.0


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param({"jobId": "my-id"}, ("my-id", "rj-ccccc"), id="spec-job-id"),
        pytest.param({"submissionMode": "InteractiveMode"}, (None, "rj-ccccc"), id="interactive"),
        pytest.param(
            {"clusterSelector": {"ray.io/cluster": "shared"}, "rayClusterSpec": None},
            ("rj-jjjjj", "shared"),
            id="cluster-selector",
        ),
    ],
)
def test_new_names(spec: dict[str, Any], expected: tuple[str | None, str]) -> None:
    step = states.decide(snap(make_job(**spec)))
    assert (step.changes.job_id, step.changes.ray_cluster_name) == expected
    assert kinds(step) == []  # the finalizer is already there


def test_a_rayjob_created_suspended_waits_suspended_without_a_cluster() -> None:
    step = states.decide(snap(make_job(suspend=True, shutdownAfterJobFinishes=True), finalizers=()))
    assert step.changes == StatusChanges(job_deployment_status="Suspended", job_status=CLEAR)
    assert kinds(step) == ["AddFinalizer"]


# -- Initializing ---------------------------------------------------------------------------------------

INIT = {"jobId": JOB_ID, "rayClusterName": CLUSTER, "jobDeploymentStatus": "Initializing", "startTime": stamp(ago(10))}


def test_initializing_creates_the_cluster_named_in_the_status() -> None:
    step = states.decide(snap(status=INIT))
    assert kinds(step) == ["CreateCluster"]
    body = step.actions[0].body  # type: ignore[union-attr]
    assert body["metadata"]["name"] == CLUSTER
    assert body["metadata"]["ownerReferences"][0]["uid"] == "uid-rj"
    assert body["metadata"]["labels"]["ray.io/originated-from-crd"] == "RayJob"
    assert step.changes == StatusChanges() and step.requeue_after == 3.0


def test_a_selected_cluster_that_does_not_exist_is_reported_not_created() -> None:
    job = make_job(clusterSelector={"ray.io/cluster": CLUSTER}, rayClusterSpec=None)
    step = states.decide(snap(job, INIT))
    assert kinds(step) == []
    assert [(e.reason, e.message) for e in step.events] == [
        ("RayClusterNotFound", f"RayCluster ns/{CLUSTER} set in the clusterSelector is not found. It must be "
         "created manually")
    ]


def test_initializing_waits_for_a_ready_cluster_and_shows_its_status() -> None:
    step = states.decide(snap(status=INIT, cluster=make_cluster(ready=False)))
    assert step.changes == StatusChanges(ray_cluster_status=RayClusterStatus(desired_worker_replicas=1))
    assert kinds(step) == []


def test_the_pass_that_finds_the_cluster_ready_does_not_copy_its_status() -> None:
    # As KubeRay: rayClusterStatus is copied while waiting, then with each dashboard answer in Running.
    step = states.decide(snap(status=INIT, cluster=make_cluster()))
    assert step.changes.job_deployment_status == "Running"
    assert step.changes.ray_cluster_status is None


@pytest.mark.parametrize(
    ("mode", "submitter", "next_state", "actions"),
    [
        pytest.param("K8sJobMode", None, "Running", ["CreateSubmitter"], id="k8s-job-creates-submitter"),
        pytest.param("K8sJobMode", make_submitter(), "Running", [], id="k8s-job-submitter-exists"),
        pytest.param("HTTPMode", None, "Running", [], id="http"),
        pytest.param("SidecarMode", None, "Running", [], id="sidecar"),
        pytest.param("InteractiveMode", None, "Waiting", [], id="interactive"),
    ],
)
def test_a_ready_cluster_hands_over_to_the_submission_mode(
    mode: str, submitter: dict[str, Any] | None, next_state: str, actions: list[str]
) -> None:
    s = snap(make_job(submissionMode=mode), INIT, cluster=make_cluster(), submitter=submitter)
    step = states.decide(s)
    assert step.changes.job_deployment_status == next_state
    assert step.changes.dashboard_url == URL
    assert kinds(step) == actions


@pytest.mark.parametrize("exit_code", [0, 1])
def test_a_sidecar_submitter_that_finished_before_the_cluster_was_ready_moves_on_to_running(exit_code: int) -> None:
    # Its terminated container keeps the head pod (and so the cluster) unready for good.
    s = snap(make_job(submissionMode="SidecarMode"), INIT, cluster=make_cluster(ready=False),
             head_pod=make_head_pod(submitter_exit=exit_code))
    step = states.decide(s)
    assert (step.changes.job_deployment_status, step.changes.dashboard_url) == ("Running", URL)


def test_a_running_sidecar_submitter_keeps_initializing_waiting_for_the_cluster() -> None:
    s = snap(make_job(submissionMode="SidecarMode"), INIT, cluster=make_cluster(ready=False), head_pod=make_head_pod())
    assert states.decide(s).changes.job_deployment_status is None


def test_the_submitter_job_runs_ray_job_submit_against_the_dashboard() -> None:
    step = states.decide(snap(status=INIT, cluster=make_cluster()))
    job = step.actions[0].body  # type: ignore[union-attr]
    assert job["metadata"]["name"] == "rj"
    assert job["metadata"]["labels"]["app.kubernetes.io/created-by"] == "kuberay-operator"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert f"--submission-id {JOB_ID}" in container["args"][0]
    assert {"name": "RAY_DASHBOARD_ADDRESS", "value": URL} in container["env"]


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        pytest.param({"activeDeadlineSeconds": 5}, "DeadlineExceeded", id="active-deadline"),
        pytest.param({"preRunningDeadlineSeconds": 5}, "PreRunningDeadlineExceeded", id="pre-running-deadline"),
    ],
)
def test_deadlines_fail_an_initializing_rayjob(spec: dict[str, Any], reason: str) -> None:
    step = states.decide(snap(make_job(**spec), INIT, cluster=make_cluster(ready=False)))
    assert step.changes.job_deployment_status == "Failed"
    assert step.changes.reason == reason
    assert [(e.type, e.reason) for e in step.events] == [("Warning", reason)]


def test_a_deadline_not_yet_reached_does_not_fail() -> None:
    step = states.decide(snap(make_job(activeDeadlineSeconds=60), INIT, cluster=make_cluster(ready=False)))
    assert step.changes.reason is None


@pytest.mark.parametrize("state", ["Initializing", "Running"])
def test_suspend_moves_initializing_and_running_to_suspending(state: str) -> None:
    job = make_job(suspend=True, shutdownAfterJobFinishes=True)
    step = states.decide(snap(job, {**INIT, "jobDeploymentStatus": state}, cluster=make_cluster()))
    assert step.changes == StatusChanges(job_deployment_status="Suspending")


# -- Waiting (InteractiveMode) --------------------------------------------------------------------------

WAITING = {
    "rayClusterName": CLUSTER,
    "dashboardURL": URL,
    "jobDeploymentStatus": "Waiting",
    "startTime": stamp(ago(10)),
}


def test_waiting_lasts_until_spec_job_id_is_set() -> None:
    step = states.decide(snap(make_job(submissionMode="InteractiveMode"), WAITING, cluster=make_cluster()))
    assert step.changes == StatusChanges() and step.requeue_after == 3.0
    job = make_job(submissionMode="InteractiveMode", jobId="raysubmit_123")
    step = states.decide(snap(job, WAITING, cluster=make_cluster()))
    assert step.changes == StatusChanges(job_id="raysubmit_123", job_deployment_status="Running")


def test_waiting_fails_after_the_pre_running_deadline() -> None:
    job = make_job(submissionMode="InteractiveMode", preRunningDeadlineSeconds=5)
    step = states.decide(snap(job, WAITING))
    assert step.changes.reason == "PreRunningDeadlineExceeded"


# -- Running --------------------------------------------------------------------------------------------


def run(
    answer: Answer | Probe | None = None,
    *,
    mode: str = "K8sJobMode",
    status: dict[str, Any] | None = None,
    submitter: dict[str, Any] | None = None,
    job: Any = None,
    **kwargs: Any,
) -> tuple[Step, Snapshot]:
    kwargs.setdefault("cluster", make_cluster())
    if mode == "K8sJobMode":
        kwargs["submitter"] = submitter if submitter is not None else make_submitter()
    probe = answer if isinstance(answer, Probe) else Probe(info=answer)
    s = snap(job or make_job(submissionMode=mode), status or running_status(), probe=probe, **kwargs)
    return states.decide(s), s


def test_running_asks_the_dashboard_and_does_not_wait_for_it() -> None:
    step, _ = run(None)
    assert "PollJob" in kinds(step)
    assert step.changes == StatusChanges() and step.requeue_after == 3.0


def test_a_running_job_copies_rays_answer() -> None:
    step, _ = run(info("RUNNING", message="Job is currently running."))
    assert step.changes.job_status == "RUNNING"
    assert step.changes.message == "Job is currently running."
    assert step.changes.ray_job_info == RayJobInfo(start_time=ago(60))
    assert step.changes.ray_cluster_status == RayClusterStatus(state="ready", desired_worker_replicas=1)
    assert step.changes.job_deployment_status is None


@pytest.mark.parametrize(
    ("ray_status", "submitter", "next_state", "reason"),
    [
        pytest.param("SUCCEEDED", make_submitter("Complete"), "Complete", CLEAR, id="succeeded"),
        pytest.param("STOPPED", make_submitter("Complete"), "Complete", CLEAR, id="stopped"),
        pytest.param("FAILED", make_submitter("Complete"), "Failed", "AppFailed", id="failed"),
        pytest.param("SUCCEEDED", make_submitter(), "Running", None, id="submitter-still-running"),
    ],
)
def test_a_finished_ray_job_ends_the_rayjob_once_the_submitter_finished(
    ray_status: str, submitter: dict[str, Any], next_state: str, reason: str | Clear | None
) -> None:
    step, s = run(info(ray_status, end=ago(1)), submitter=submitter)
    assert deployment(step, s) == next_state
    assert step.changes.reason == reason
    assert step.changes.job_status == ray_status


def test_the_dashboard_message_explains_an_app_failure() -> None:
    step, _ = run(
        info("FAILED", message="Job entrypoint command failed with exit code 1", end=ago(1)),
        submitter=make_submitter("Complete"),
    )
    assert step.changes.message == "Job entrypoint command failed with exit code 1"


@pytest.mark.parametrize(
    ("last_job_status", "reason"),
    [pytest.param("RUNNING", "SubmissionFailed", id="submission"), pytest.param("FAILED", "AppFailed", id="app")],
)
def test_a_failed_submitter_job_fails_the_rayjob(last_job_status: str, reason: str) -> None:
    status = running_status(jobStatus=last_job_status)
    step, _ = run(None, status=status, submitter=make_submitter("Failed", message="Job has reached backoff limit"))
    assert step.changes.job_deployment_status == "Failed"
    assert step.changes.reason == reason
    assert isinstance(step.changes.message, str) and "backoff limit" in step.changes.message


def test_a_submitter_that_finished_long_ago_while_ray_still_runs_fails_the_rayjob() -> None:
    step, _ = run(info("RUNNING"), submitter=make_submitter("Complete", at=ago(31)))
    assert step.changes.reason == "JobDeploymentStatusTransitionGracePeriodExceeded"
    assert step.changes.job_status == "FAILED"
    step, s = run(info("RUNNING"), submitter=make_submitter("Complete", at=ago(29)))
    assert deployment(step, s) == "Running"


@pytest.mark.parametrize(
    "answer",
    [pytest.param(None, id="never-answered"), pytest.param(UNREACHABLE, id="unreachable")],
)
def test_a_dashboard_that_never_answers_fails_the_rayjob_30s_after_its_submitter_finished(answer: Any) -> None:
    # KubeRay checks the finished submitter before it asks the dashboard: not the 300 s status-check timeout.
    finished = ago(31)
    step, _ = run(answer, submitter=make_submitter("Complete", at=finished))
    assert step.changes.job_deployment_status == "Failed"
    assert step.changes.job_status == "FAILED"
    assert step.changes.reason == "JobDeploymentStatusTransitionGracePeriodExceeded"
    assert step.changes.message == (
        f"The RayJob submitter finished at {finished.strftime('%Y-%m-%d %H:%M:%S')} but the ray job did not "
        "reach terminal state within 30s"
    )


def test_a_terminal_answer_beats_the_submitter_grace_period() -> None:
    step, s = run(info("SUCCEEDED", end=ago(1)), submitter=make_submitter("Complete", at=ago(40)))
    assert deployment(step, s) == "Complete"


def test_a_finished_submitter_whose_job_ray_does_not_know_is_an_app_failure() -> None:
    step, _ = run(NOT_FOUND, submitter=make_submitter("Complete"))
    assert step.changes.reason == "AppFailed"


def test_a_deleted_submitter_job_is_recreated() -> None:
    step = states.decide(snap(make_job(), running_status(), cluster=make_cluster(), submitter=None))
    assert "CreateSubmitter" in kinds(step)
    assert "PollJob" not in kinds(step)


def test_a_vanished_cluster_is_recreated_under_the_same_name() -> None:
    step, _ = run(None, cluster=None)
    assert kinds(step) == ["CreateCluster"]
    assert step.actions[0].body["metadata"]["name"] == CLUSTER  # type: ignore[union-attr]


def test_running_keeps_the_rayjob_head_service_pointed_at_the_cluster() -> None:
    step, _ = run(None)
    assert "ApplyJobService" in kinds(step)
    service = next(x for x in step.actions if isinstance(x, a.ApplyJobService)).body
    assert service["metadata"]["name"] == "rj-head-svc"
    assert service["spec"]["selector"]["ray.io/cluster"] == CLUSTER
    step, _ = run(None, job_service=service)
    assert "ApplyJobService" not in kinds(step)


def test_http_mode_submits_a_job_ray_does_not_know() -> None:
    job = make_job(
        submissionMode="HTTPMode", runtimeEnvYAML="pip: [requests]\n", entrypointNumCpus=1.0, metadata={"team": "a"}
    )
    step, _ = run(NOT_FOUND, mode="HTTPMode", job=job)
    submit = next(x for x in step.actions if isinstance(x, a.SubmitJob))
    assert submit.target == TARGET
    assert submit.request.to_json() == {
        "entrypoint": "python main.py",
        "submission_id": JOB_ID,
        "runtime_env": {"pip": ["requests"]},
        "metadata": {"team": "a"},
        "entrypoint_num_cpus": 1.0,
    }


def test_http_mode_submits_once_and_waits_for_the_next_answer() -> None:
    pending = Probe(info=NOT_FOUND, submit_pending=True)
    step, _ = run(pending, mode="HTTPMode")
    assert "SubmitJob" not in kinds(step)
    done = Probe(info=failure(JobNotFound(TARGET.address, "x"), at=ago(1)), submit=Answer(TARGET, NOW))
    step, _ = run(done, mode="HTTPMode")
    assert "SubmitJob" not in kinds(step)


def test_http_mode_retries_a_failed_submission_and_starts_the_failure_timer() -> None:
    failed = Answer(TARGET, ago(4), error=DashboardServerError(TARGET.address, "boom", status_code=500))
    step, _ = run(Probe(info=NOT_FOUND, submit=failed), mode="HTTPMode")
    assert "SubmitJob" in kinds(step)
    assert step.changes.job_status_check_failure_start_time == ago(4)


def test_http_mode_treats_a_taken_submission_id_as_submitted() -> None:
    taken = Answer(TARGET, NOW, error=SubmissionIdTaken(TARGET.address, "exists", status_code=500))
    step, _ = run(Probe(info=failure(JobNotFound(TARGET.address, "x"), at=ago(1)), submit=taken), mode="HTTPMode")
    assert step.changes.job_status_check_failure_start_time in (None, CLEAR)
    assert "SubmitJob" not in kinds(step)


def test_a_failing_dashboard_starts_the_status_check_timer_once() -> None:
    step, _ = run(failure(DashboardUnreachable(TARGET.address, "refused"), at=ago(2)))
    assert step.changes == StatusChanges(job_status_check_failure_start_time=ago(2))
    status = running_status(jobStatusCheckFailureStartTime=stamp(ago(100)))
    step, _ = run(UNREACHABLE, status=status)
    assert step.changes == StatusChanges(job_status_check_failure_start_time=ago(100))


def test_an_answer_clears_the_status_check_timer() -> None:
    step, _ = run(info("RUNNING"), status=running_status(jobStatusCheckFailureStartTime=stamp(ago(100))))
    assert step.changes.job_status_check_failure_start_time is CLEAR


def test_a_dashboard_failing_for_300s_fails_the_rayjob_with_job_status_check_timeout_exceeded() -> None:
    status = running_status(jobStatusCheckFailureStartTime=stamp(ago(300)))
    step, _ = run(UNREACHABLE, status=status)
    assert step.changes.job_deployment_status == "Failed"
    assert step.changes.reason == "JobStatusCheckTimeoutExceeded"
    assert isinstance(step.changes.message, str) and "no answer within 2s" in step.changes.message


def test_a_dashboard_that_never_answers_counts_as_failing() -> None:
    hung = Probe(info_pending_since=ago(30))
    step, _ = run(hung)
    assert step.changes == StatusChanges(job_status_check_failure_start_time=ago(30))
    step, _ = run(Probe(info_pending_since=ago(1)))
    assert step.changes == StatusChanges()


def test_a_ray_job_that_ended_long_ago_leaves_running_after_the_grace_period() -> None:
    status = running_status(jobStatus="SUCCEEDED", rayJobInfo={"endTime": stamp(ago(301))})
    step, _ = run(None, status=status, submitter=make_submitter())
    assert step.changes.job_deployment_status == "Complete"
    status = running_status(jobStatus="FAILED", rayJobInfo={"endTime": stamp(ago(301))})
    step, _ = run(None, status=status, submitter=make_submitter())
    assert step.changes.reason == "JobDeploymentStatusTransitionGracePeriodExceeded"


def test_active_deadline_fails_a_running_rayjob() -> None:
    step, _ = run(info("RUNNING"), job=make_job(activeDeadlineSeconds=60))
    assert step.changes.reason == "DeadlineExceeded"


@pytest.mark.parametrize(
    ("head_pod", "reason"),
    [
        pytest.param(None, "SubmissionFailed", id="head-pod-gone"),
        pytest.param(make_head_pod(submitter_exit=1), "SubmissionFailed", id="sidecar-exit-1"),
    ],
)
def test_sidecar_mode_fails_when_its_submitter_cannot_run(head_pod: dict[str, Any] | None, reason: str) -> None:
    step, _ = run(info("RUNNING"), mode="SidecarMode", head_pod=head_pod)
    assert step.changes.reason == reason


def test_sidecar_mode_completes_on_rays_answer() -> None:
    step, s = run(info("SUCCEEDED", end=ago(1)), mode="SidecarMode", head_pod=make_head_pod())
    assert deployment(step, s) == "Complete"


def test_interactive_mode_follows_the_users_job() -> None:
    step, s = run(info("SUCCEEDED", end=ago(1)), mode="InteractiveMode")
    assert deployment(step, s) == "Complete"


# -- Suspending, Retrying, Suspended ---------------------------------------------------------------------


@pytest.mark.parametrize(("state", "then"), [("Suspending", "Suspended"), ("Retrying", "")])
def test_suspending_and_retrying_delete_the_cluster_and_submitter_then_reset(state: str, then: str) -> None:
    status = running_status(jobDeploymentStatus=state, jobStatus="FAILED", reason="AppFailed", message="x")
    s = snap(status=status, cluster=make_cluster(), submitter=make_submitter("Complete"))
    step = states.decide(s)
    assert kinds(step) == ["DeleteCluster", "DeleteSubmitter"]
    assert step.changes == StatusChanges()
    step = states.decide(snap(status=status, cluster=make_cluster(deleting=True), submitter=None))
    assert kinds(step) == [] and step.changes == StatusChanges()
    step = states.decide(snap(status=status))
    assert step.changes.job_deployment_status == then
    for cleared in ("ray_cluster_name", "dashboard_url", "job_id", "reason", "message", "job_status", "ray_job_info"):
        assert getattr(step.changes, cleared) is CLEAR
    assert kinds(step) == ["ForgetDashboard"]


def test_http_mode_has_no_submitter_to_delete() -> None:
    status = running_status(jobDeploymentStatus="Suspending")
    step = states.decide(snap(make_job(submissionMode="HTTPMode"), status))
    assert step.changes.job_deployment_status == "Suspended"


def test_suspended_resumes_as_new() -> None:
    job = make_job(suspend=True, shutdownAfterJobFinishes=True)
    assert states.decide(snap(job, {"jobDeploymentStatus": "Suspended"})) == Step()
    step = states.decide(snap(make_job(), {"jobDeploymentStatus": "Suspended"}))
    assert step.changes == StatusChanges(job_deployment_status="", job_status=CLEAR)


# -- terminal and unknown states ------------------------------------------------------------------------


def test_finished_rayjobs_stop_following_the_dashboard() -> None:
    step = states.decide(snap(status=running_status(jobDeploymentStatus="Complete", jobStatus="SUCCEEDED")))
    assert kinds(step) == ["ForgetDashboard"] and step.requeue_after is None


def test_validation_failed_is_terminal() -> None:
    assert states.decide(snap(status={"jobDeploymentStatus": "ValidationFailed"})) == Step()


def test_an_unknown_state_is_left_alone() -> None:
    step = states.decide(snap(status={"jobDeploymentStatus": "Scheduling"}))
    assert step.changes == StatusChanges() and step.requeue_after == 3.0


# -- deletion of the RayJob (finalizer) ------------------------------------------------------------------


def finalize(
    status: dict[str, Any], probe: Probe = Probe.EMPTY, finalizers: tuple[str, ...] = ("ray.io/rayjob-finalizer",)
) -> Step:
    return states.finalizing(
        status, finalizers=finalizers, target=TARGET, probe=probe, now=NOW, settings=snap().settings
    )


def test_deleting_a_running_rayjob_stops_the_ray_job_before_releasing_it() -> None:
    status = running_status(jobStatus="RUNNING")
    assert kinds(finalize(status)) == ["StopJob"]
    assert kinds(finalize(status, Probe(stop_pending_since=ago(1)))) == []
    assert kinds(finalize(status, Probe(stop=UNREACHABLE))) == ["RemoveFinalizer", "ForgetDashboard"]
    assert kinds(finalize(status, Probe(stop_pending_since=ago(60)))) == ["RemoveFinalizer", "ForgetDashboard"]


def test_deleting_a_finished_rayjob_releases_it_at_once() -> None:
    assert kinds(finalize(running_status(jobStatus="SUCCEEDED"))) == ["RemoveFinalizer", "ForgetDashboard"]
    assert kinds(finalize(running_status(), finalizers=())) == ["ForgetDashboard"]
