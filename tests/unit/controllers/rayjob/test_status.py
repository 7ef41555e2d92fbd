"""The status is assembled in one place: counters, endTime, retries, and no write when nothing changed.

The status is computed typed; these tests assert on the JSON the reconciler writes, through thin wrappers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from raykube.api.rayjob import RayJob
from raykube.controllers.rayjob import status as typed
from raykube.controllers.rayjob.changes import CLEAR, StatusChanges
from raykube.controllers.rayjob.settings import RayJobSettings
from raykube.controllers.rayjob.snapshot import Step
from raykube.controllers.rayjob.status import validation_failure
from raykube.runtime.clock import stamp
from tests.unit.controllers.rayjob.fixtures import NOW, make_job, running_status


def next_status(old: dict[str, Any], step: Step, *, job: RayJob, now: dt.datetime) -> dict[str, Any]:
    return typed.next_status(typed.read_status(old), step, job=job, now=now).to_json()


def status_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    written = typed.read_status(new)
    assert written is not None
    return typed.status_changed(typed.read_status(old), written)


def fail(reason: str) -> Step:
    return Step(StatusChanges(job_deployment_status="Failed", reason=reason, message="m"))


def test_completing_with_success_counts_and_stamps_the_end() -> None:
    complete = Step(StatusChanges(job_deployment_status="Complete"))
    new = next_status(running_status(jobStatus="SUCCEEDED"), complete, job=make_job(), now=NOW)
    assert (new["jobDeploymentStatus"], new["succeeded"], new["failed"]) == ("Complete", 1, 0)
    assert new["endTime"] == stamp(NOW)
    assert new["observedGeneration"] == 1


def test_failing_without_retries_left_counts_and_ends() -> None:
    new = next_status(running_status(), fail("AppFailed"), job=make_job(), now=NOW)
    assert (new["jobDeploymentStatus"], new["failed"], new["endTime"]) == ("Failed", 1, stamp(NOW))


@pytest.mark.parametrize(
    ("failed_before", "reason", "expected"),
    [
        pytest.param(0, "AppFailed", "Retrying", id="first-failure-retries"),
        pytest.param(1, "AppFailed", "Failed", id="backoff-limit-reached"),
        pytest.param(0, "SubmissionFailed", "Retrying", id="submission-retries"),
        pytest.param(0, "DeadlineExceeded", "Failed", id="deadline-never-retried"),
        pytest.param(0, "JobStatusCheckTimeoutExceeded", "Failed", id="status-check-timeout-never-retried"),
    ],
)
def test_backoff_limit_retries_on_a_fresh_cluster(failed_before: int, reason: str, expected: str) -> None:
    old = running_status(failed=failed_before)
    new = next_status(old, fail(reason), job=make_job(backoffLimit=1), now=NOW)
    assert new["jobDeploymentStatus"] == expected
    assert new["failed"] == failed_before + 1
    assert ("endTime" in new) == (expected == "Failed")


def test_staying_in_a_state_counts_nothing() -> None:
    old: dict[str, Any] = running_status(
        jobDeploymentStatus="Failed", failed=1, endTime=stamp(NOW), observedGeneration=1
    )
    new = next_status(old, Step(), job=make_job(), now=NOW)
    assert new["failed"] == 1
    assert not status_changed(old, new)


def test_empty_values_are_dropped_so_unchanged_statuses_compare_equal() -> None:
    old = running_status(message="x")
    cleared = StatusChanges(message=CLEAR, job_status_check_failure_start_time=CLEAR)
    new = next_status(old, Step(cleared), job=make_job(), now=NOW)
    assert "message" not in new and "jobStatusCheckFailureStartTime" not in new
    assert status_changed(old, new)
    assert not status_changed(new, next_status(new, Step(StatusChanges(reason="")), job=make_job(), now=NOW))


def test_a_change_leaves_clears_or_sets_each_field_and_the_later_change_wins() -> None:
    old = running_status(message="x", reason="AppFailed")
    first = StatusChanges(message="y", reason=CLEAR, job_status="RUNNING")
    later = StatusChanges(job_status=CLEAR, job_id="other")
    assert first | later == StatusChanges(message="y", reason=CLEAR, job_status=CLEAR, job_id="other")
    new = next_status(old, Step(first | later), job=make_job(), now=NOW)
    assert (new["message"], new["jobId"], new["dashboardURL"]) == ("y", "other", old["dashboardURL"])
    assert "reason" not in new and "jobStatus" not in new


def test_validation_failure_is_terminal_and_explains_itself() -> None:
    step = validation_failure(["spec.suspend: not allowed", "spec.backoffLimit: negative"])
    new = next_status({}, step, job=make_job(), now=NOW)
    assert new["jobDeploymentStatus"] == "ValidationFailed"
    assert new["reason"] == "ValidationFailed"
    assert new["message"] == "spec.suspend: not allowed; spec.backoffLimit: negative"
    assert [e.reason for e in step.events] == ["InvalidRayJobSpec"]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        pytest.param(RayJobSettings(), "http://rj-c-head-svc.ns.svc.cluster.local:8265", id="direct"),
        pytest.param(RayJobSettings(use_kubernetes_proxy=True, kubernetes_proxy_base="https://api:6443"),
                     "https://api:6443/api/v1/namespaces/ns/services/rj-c-head-svc:dashboard/proxy", id="proxy"),
        pytest.param(RayJobSettings(dashboard_url_override="http://127.0.0.1:9/"), "http://127.0.0.1:9",
                     id="test-hook"),
    ],
)
def test_where_dashboard_calls_go(settings: RayJobSettings, expected: str) -> None:
    assert settings.dashboard_address("rj-c-head-svc.ns.svc.cluster.local:8265") == expected
