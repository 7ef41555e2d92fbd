"""What a finished RayJob deletes, and when: shutdownAfterJobFinishes, legacy policies, deletion rules."""

from __future__ import annotations

from typing import Any

import pytest

from raykube.controllers.rayjob import actions as a
from raykube.controllers.rayjob import deletion
from raykube.controllers.rayjob.settings import RayJobSettings
from raykube.runtime.clock import stamp
from tests.unit.controllers.rayjob.fixtures import CLUSTER, ago, make_cluster, make_job, running_status, snap


def finished(job_status: str = "SUCCEEDED", deployment: str = "Complete", ended: float = 0.0) -> dict[str, Any]:
    return running_status(jobStatus=job_status, jobDeploymentStatus=deployment, endTime=stamp(ago(ended)))


def rule(policy: str, ttl: int = 0, **condition: str) -> dict[str, Any]:
    return {"policy": policy, "condition": {**condition, "ttlSeconds": ttl}}


def test_shutdown_after_job_finishes_deletes_the_cluster_after_the_ttl() -> None:
    job = make_job(shutdownAfterJobFinishes=True, ttlSecondsAfterFinished=60)
    early = deletion.decide(snap(job, finished(ended=20), cluster=make_cluster()))
    assert early.actions == () and early.requeue_after == pytest.approx(40)
    due = deletion.decide(snap(job, finished(ended=60), cluster=make_cluster()))
    assert due.actions == (a.DeleteCluster(CLUSTER),)
    gone = deletion.decide(snap(job, finished(ended=90)))
    assert gone == deletion.NOTHING


def test_shutdown_can_delete_the_rayjob_itself() -> None:
    job = make_job(shutdownAfterJobFinishes=True)
    s = snap(job, finished(), cluster=make_cluster(), settings=RayJobSettings(delete_rayjob_after_finish=True))
    assert deletion.decide(s).actions == (a.DeleteSelf(),)


def test_nothing_is_deleted_without_a_policy_or_on_a_selected_cluster() -> None:
    assert deletion.decide(snap(make_job(), finished(), cluster=make_cluster())) == deletion.NOTHING
    job = make_job(clusterSelector={"ray.io/cluster": CLUSTER}, rayClusterSpec=None, shutdownAfterJobFinishes=True)
    assert deletion.decide(snap(job, finished(), cluster=make_cluster())) == deletion.NOTHING


@pytest.mark.parametrize(
    ("job_status", "deployment", "expected"),
    [
        pytest.param("SUCCEEDED", "Complete", "SuspendWorkers", id="on-success"),
        pytest.param("FAILED", "Failed", "DeleteCluster", id="on-failure"),
        pytest.param("RUNNING", "Failed", "DeleteCluster", id="failed-before-ray-ended"),
        pytest.param("STOPPED", "Complete", None, id="stopped"),
    ],
)
def test_legacy_policies(job_status: str, deployment: str, expected: str | None) -> None:
    strategy = {"onSuccess": {"policy": "DeleteWorkers"}, "onFailure": {"policy": "DeleteCluster"}}
    job = make_job(deletionStrategy=strategy, ttlSecondsAfterFinished=0)
    actions = deletion.decide(snap(job, finished(job_status, deployment), cluster=make_cluster())).actions
    assert [type(x).__name__ for x in actions] == ([expected] if expected else [])


def test_delete_workers_suspends_every_running_group_once() -> None:
    strategy = {"onSuccess": {"policy": "DeleteWorkers"}, "onFailure": {"policy": "DeleteNone"}}
    job = make_job(deletionStrategy=strategy)
    assert deletion.decide(snap(job, finished(), cluster=make_cluster())).actions == (
        a.SuspendWorkers(CLUSTER, ("workers",)),
    )
    assert deletion.decide(snap(job, finished(), cluster=make_cluster(suspended_groups=True))) == deletion.NOTHING


def test_deletion_rules_run_the_strongest_due_rule_and_wait_for_the_next() -> None:
    rules = [
        rule("DeleteWorkers", 0, jobStatus="SUCCEEDED"),
        rule("DeleteCluster", 30, jobStatus="SUCCEEDED"),
        rule("DeleteSelf", 100, jobStatus="SUCCEEDED"),
    ]
    job = make_job(deletionStrategy={"deletionRules": rules})
    first = deletion.decide(snap(job, finished(ended=10), cluster=make_cluster()))
    assert first.actions == (a.SuspendWorkers(CLUSTER, ("workers",)),)
    assert first.requeue_after == pytest.approx(3.0)
    waiting = deletion.decide(snap(job, finished(ended=10), cluster=make_cluster(suspended_groups=True)))
    assert waiting.actions == () and waiting.requeue_after == pytest.approx(20)
    both_due = deletion.decide(snap(job, finished(ended=40), cluster=make_cluster()))
    assert both_due.actions == (a.DeleteCluster(CLUSTER),)  # DeleteCluster outranks DeleteWorkers
    last = deletion.decide(snap(job, finished(ended=100)))
    assert last.actions == (a.DeleteSelf(),)


def test_deletion_rules_match_job_status_or_deployment_status() -> None:
    rules = [rule("DeleteCluster", 0, jobStatus="FAILED"), rule("DeleteSelf", 0, jobDeploymentStatus="Failed")]
    job = make_job(deletionStrategy={"deletionRules": rules})
    assert deletion.decide(snap(job, finished("SUCCEEDED"), cluster=make_cluster())) == deletion.NOTHING
    timed_out = deletion.decide(snap(job, finished("RUNNING", "Failed"), cluster=make_cluster()))
    assert timed_out.actions == (a.DeleteSelf(),)
    app_failed = deletion.decide(snap(job, finished("FAILED", "Complete"), cluster=make_cluster()))
    assert app_failed.actions == (a.DeleteCluster(CLUSTER),)


def test_delete_none_does_nothing() -> None:
    job = make_job(deletionStrategy={"deletionRules": [rule("DeleteNone", 0, jobStatus="SUCCEEDED")]})
    assert deletion.decide(snap(job, finished(), cluster=make_cluster())) == deletion.NOTHING
