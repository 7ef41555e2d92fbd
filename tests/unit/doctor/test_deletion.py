"""The doctor's deletion rule: a RayCluster whose deletion the GCS FT Redis clean-up finalizer holds."""

from __future__ import annotations

from typing import Any

import pytest

from raykube import reasons
from raykube.doctor.deletion import duration
from raykube.doctor.diagnose import diagnose
from raykube.doctor.snapshot import Snapshot
from tests.unit.doctor.test_diagnose import NOW, OPERATOR, cluster, pod, stamp

FIN = reasons.FINALIZER_GCS_FT_REDIS_CLEANUP


def deleting(seconds_ago: float = 100, *, timeout: str | None = None, finalizers: tuple[str, ...] = (FIN,),
             reason: str | None = None) -> dict[str, Any]:
    obj = cluster(state="ready")
    obj["metadata"].update(deletionTimestamp=stamp(seconds_ago), finalizers=list(finalizers), uid="u-1")
    if timeout is not None:
        obj["metadata"]["annotations"] = {reasons.ANNOTATION_GCS_FT_DELETION_TIMEOUT: timeout}
    if reason:
        obj["status"]["reason"] = reason
    return obj


def job(*conditions: str, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "rc-redis-cleanup", "namespace": "ns"},
            "status": {**status, "conditions": [{"type": c, "status": "True", "reason": "R", "message": "m"}
                                                for c in conditions]}}


def found(obj: dict[str, Any], *pods: dict[str, Any], jobs: tuple[dict[str, Any], ...] = (),
          jobs_known: bool = True) -> Any:
    findings = diagnose(Snapshot(kind="RayCluster", obj=obj, now=NOW, pods=pods, operator=OPERATOR, jobs=jobs,
                                 jobs_known=jobs_known))
    assert [f.code for f in findings] == ["raycluster-deletion-waiting"]
    return findings[0]


def test_a_running_cleanup_job_is_named_with_the_wait_and_the_deadline() -> None:
    reason = "Deleting: waiting for the Redis clean-up Job ns/rc-redis-cleanup ..."
    finding = found(deleting(100, reason=reason), jobs=(job(active=1, startTime=stamp(90)),))
    assert finding.subject == "RayCluster ns/rc"
    assert finding.summary == (
        f"The deletion waits for the Redis clean-up Job ns/rc-redis-cleanup (running); finalizer {FIN} holds it. "
        "Waited 1m40s; the operator gives up at 2026-01-01T12:03:20Z (in 3m20s).")
    assert finding.evidence[:4] == (
        f"metadata.deletionTimestamp: 2026-01-01T11:58:20Z; finalizers: ['{FIN}']",
        "deadline 2026-01-01T12:03:20Z: deletion + 300s (the default)",
        "Job ns/rc-redis-cleanup: running",
        "Job status: active 1, started 2026-01-01T11:58:30Z",
    )
    assert f"status.reason: {reason}" in finding.evidence
    assert "kubectl logs job/rc-redis-cleanup -n ns" in finding.fix
    assert """--type=json -p '[{"op": "remove", "path": "/metadata/finalizers/0"}]'""" in finding.fix
    assert "storage namespace u-1" in finding.fix


def test_the_job_not_created_yet_while_the_pods_stop() -> None:
    head = pod("rc-head-x", role="head")
    head["metadata"]["deletionTimestamp"] = stamp(5)
    finding = found(deleting(10, timeout="60"), head)
    assert "(not created yet: 1 Ray pod(s) still stopping, the Job starts once the head is gone)" in finding.summary
    assert "the operator gives up at 2026-01-01T12:00:50Z (in 50s)" in finding.summary
    assert "deadline 2026-01-01T12:00:50Z: deletion + 60s (annotation ray.io/gcs-ft-deletion-timeout)" in (
        finding.evidence)
    assert "pod rc-head-x: being deleted" in finding.evidence
    assert "kubectl delete pod --force" in finding.fix
    assert "(not created yet)" in found(deleting(10)).summary


@pytest.mark.parametrize(("condition", "state"), [("Failed", "failed"), ("Complete", "complete")])
def test_a_finished_job_is_the_operators_to_act_on(condition: str, state: str) -> None:
    finding = found(deleting(), jobs=(job(condition),))
    assert f"({state})" in finding.summary
    assert f"Job condition {condition}=True (R): m" in finding.evidence
    assert "operator is running" in finding.fix


def test_past_the_deadline_the_operator_should_have_let_go() -> None:
    finding = found(deleting(400), jobs=(job(active=1),))
    assert "Waited 6m40s; the operator should have given up at 2026-01-01T11:58:20Z (1m40s ago)." in finding.summary
    assert "operator is running" in finding.fix


def test_an_unusable_timeout_is_the_default_and_says_so() -> None:
    finding = found(deleting(timeout="soon"), jobs=(job(),))
    assert "deadline 2026-01-01T12:03:20Z: deletion + 300s (the default)" in finding.evidence
    assert any("'soon' is not a positive number" in line for line in finding.evidence)


def test_jobs_that_may_not_be_read_are_unknown() -> None:
    assert "(unknown (Jobs could not be read))" in found(deleting(), jobs_known=False).summary


def test_the_finalizer_index_and_other_finalizers() -> None:
    finding = found(deleting(finalizers=("other.io/x", FIN)), jobs=(job(),))
    assert '"path": "/metadata/finalizers/1"' in finding.fix


def test_no_finding_without_the_finalizer_or_without_a_deletion() -> None:
    other = deleting(finalizers=("other.io/x",))
    assert diagnose(Snapshot(kind="RayCluster", obj=other, now=NOW, operator=OPERATOR)) == []
    live = cluster()
    live["metadata"]["finalizers"] = [FIN]
    assert diagnose(Snapshot(kind="RayCluster", obj=live, now=NOW, operator=OPERATOR)) == []


def test_duration() -> None:
    assert [duration(s) for s in (0, 45, 125, 3720, -3)] == ["0s", "45s", "2m05s", "1h02m", "0s"]


class JobClient:
    """`client.get` of Jobs, scripted: name -> the Job, or an HTTP status to fail with."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def get(self, kind: Any, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        from raykube.runtime.errors import ApiError

        self.asked.append(f"{kind.kind} {namespace}/{name}")
        answer = self.answers[name]
        if isinstance(answer, int):
            raise ApiError(answer, "Err", name)
        return answer  # type: ignore[no-any-return]


def test_collect_reads_the_cleanup_job_only_of_clusters_held_by_the_finalizer() -> None:
    import asyncio

    from raykube.doctor import collect

    live = cluster("live")
    client = JobClient({"rc-redis-cleanup": job()})
    jobs, known = asyncio.run(collect.cleanup_jobs(client, "ns", [live, deleting()]))  # type: ignore[arg-type]
    assert (jobs, known, client.asked) == ([job()], True, ["Job ns/rc-redis-cleanup"])
    assert asyncio.run(collect.cleanup_jobs(JobClient({"rc-redis-cleanup": 404}), "ns", [deleting()])) == (  # type: ignore[arg-type]
        [], True)
    assert asyncio.run(collect.cleanup_jobs(JobClient({"rc-redis-cleanup": 403}), "ns", [deleting()])) == (  # type: ignore[arg-type]
        [], False)
