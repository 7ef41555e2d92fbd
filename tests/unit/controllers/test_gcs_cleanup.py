"""The GCS FT Redis clean-up finalizer's decisions (KubeRay §2.9), step by step."""

from __future__ import annotations

import datetime as dt
from typing import Any

from raykube import reasons
from raykube.controllers.raycluster.gcs_cleanup import Step, decide, deletion_deadline, deletion_timeout

FIN = reasons.FINALIZER_GCS_FT_REDIS_CLEANUP
T0 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def _cluster(*, finalizer: bool = True, deleting: bool = True, timeout: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "rc", "namespace": "ns", "uid": "u-1"}
    if finalizer:
        meta["finalizers"] = [FIN]
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T12:00:00Z"
    if timeout is not None:
        meta["annotations"] = {reasons.ANNOTATION_GCS_FT_DELETION_TIMEOUT: timeout}
    return {"metadata": meta, "spec": {}}


def _pod(name: str, node: str = "head", *, terminating: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {reasons.LABEL_NODE_TYPE: node}}
    if terminating:
        meta["deletionTimestamp"] = "2026-01-01T12:00:01Z"
    return {"metadata": meta}


def _job(condition: str | None) -> dict[str, Any]:
    conditions = [{"type": condition, "status": "True"}] if condition else []
    return {"metadata": {"name": "rc-redis-cleanup"}, "status": {"conditions": conditions}}


def _decide(obj: dict[str, Any], *, pods: list[dict[str, Any]] | None = None, job: dict[str, Any] | None = None,
            now: dt.datetime = T0 + dt.timedelta(seconds=5), redis: bool = True, enabled: bool = True) -> Any:
    return decide(obj, redis_ft=redis, cleanup_enabled=enabled, ray_pods=pods or [], job=job, now=now)


def test_finalizer_added_to_a_live_redis_cluster_and_the_pass_goes_on() -> None:
    decision = _decide(_cluster(finalizer=False, deleting=False))
    assert decision.step == Step.ADD_FINALIZER and not decision.stop


def test_no_finalizer_when_cleanup_is_switched_off_or_not_redis() -> None:
    assert _decide(_cluster(finalizer=False, deleting=False), enabled=False).step == Step.NOTHING
    assert _decide(_cluster(finalizer=False, deleting=False), redis=False).step == Step.NOTHING


def test_a_finalizer_nobody_will_act_on_is_removed_with_an_event() -> None:
    for redis, enabled, words in ((False, True, "not enabled"), (True, False, "ENABLE_GCS_FT_REDIS_CLEANUP=false")):
        decision = _decide(_cluster(), redis=redis, enabled=enabled)
        assert decision.step == Step.REMOVE_FINALIZER and decision.stop
        assert words in decision.events[0].message


def test_deletion_deletes_live_pods_first_then_waits_for_the_head() -> None:
    pods = [_pod("rc-head-x"), _pod("rc-w-1", "worker"), _pod("rc-w-2", "worker", terminating=True)]
    decision = _decide(_cluster(), pods=pods)
    assert decision.step == Step.DELETE_PODS and decision.pods == ("rc-head-x", "rc-w-1")
    waiting = _decide(_cluster(), pods=[_pod("rc-head-x", terminating=True)])
    assert waiting.step == Step.WAIT_FOR_PODS and waiting.requeue_after == 10.0


def test_job_created_once_no_head_is_left_even_with_terminating_workers() -> None:
    decision = _decide(_cluster(), pods=[_pod("rc-w-2", "worker", terminating=True)])
    assert decision.step == Step.CREATE_JOB
    event = decision.events[0]
    assert event.reason == reasons.EventReason.CREATED_REDIS_CLEANUP_JOB
    assert "2026-01-01T12:05:00Z" in event.message  # the deadline: deletion + 300 s


def test_finalizer_goes_when_the_job_succeeds_or_fails() -> None:
    assert _decide(_cluster(), job=_job(None)).step == Step.WAIT_FOR_JOB
    done = _decide(_cluster(), job=_job("Complete"))
    assert done.step == Step.REMOVE_FINALIZER and not done.events
    failed = _decide(_cluster(), job=_job("Failed"))
    assert failed.step == Step.REMOVE_FINALIZER
    assert failed.events[0].reason == reasons.EventReason.REDIS_CLEANUP_JOB_FAILED
    assert failed.events[0].type.value == "Warning" and "u-1" in failed.events[0].message


def test_timeout_force_removes_the_finalizer_with_a_warning() -> None:
    obj = _cluster(timeout="30")
    assert _decide(obj, job=_job(None), now=T0 + dt.timedelta(seconds=29)).step == Step.WAIT_FOR_JOB
    late = _decide(obj, job=_job(None), pods=[_pod("rc-head-x")], now=T0 + dt.timedelta(seconds=30))
    assert late.step == Step.REMOVE_FINALIZER
    assert late.events[0].reason == reasons.EventReason.FORCE_DELETED_STUCK_CLUSTER
    assert late.events[0].type.value == "Warning"


def test_requeue_never_overshoots_the_deadline() -> None:
    decision = _decide(_cluster(timeout="7"), job=_job(None), now=T0 + dt.timedelta(seconds=5))
    assert decision.requeue_after == 2.0


def test_deletion_timeout_annotation() -> None:
    assert deletion_timeout({}) == (300, None)
    assert deletion_timeout({reasons.ANNOTATION_GCS_FT_DELETION_TIMEOUT: "12"}) == (12, None)
    value, complaint = deletion_timeout({reasons.ANNOTATION_GCS_FT_DELETION_TIMEOUT: "soon"})
    assert value == 300 and complaint is not None and "soon" in complaint


def test_cluster_without_finalizer_being_deleted_stops_the_pass() -> None:
    decision = _decide(_cluster(finalizer=False))
    assert decision.step == Step.NOTHING and decision.stop


def test_the_status_reason_says_what_the_deletion_waits_for_and_until_when() -> None:
    pods = _decide(_cluster(timeout="60"), pods=[_pod("rc-head-x")])
    assert pods.reason == (
        "Deleting: waiting for the Ray pods to stop before the Redis clean-up Job ns/rc-redis-cleanup can remove "
        "the cluster's keys from Redis (deletion began 2026-01-01T12:00:00Z). The finalizer "
        f"{FIN} is removed when the Job completes; if it fails, or has not finished by 2026-01-01T12:01:00Z "
        "(ray.io/gcs-ft-deletion-timeout=60s), it is removed anyway with a Warning Event (RedisCleanupJobFailed "
        "or ForceDeletedStuckCluster) and the keys may remain in Redis"
    )
    assert _decide(_cluster(timeout="60"), pods=[_pod("rc-head-x", terminating=True)]).reason == pods.reason
    created = _decide(_cluster())
    assert created.step == Step.CREATE_JOB and created.reason is not None
    assert created.reason.startswith(
        "Deleting: waiting for the Redis clean-up Job ns/rc-redis-cleanup to remove the cluster's keys from Redis "
        "(deletion began 2026-01-01T12:00:00Z)"
    )
    assert "has not finished by 2026-01-01T12:05:00Z (ray.io/gcs-ft-deletion-timeout=300s)" in created.reason
    # The same text every pass while the Job runs: the status is written when the step changes, not each pass.
    later = _decide(_cluster(), job=_job(None), now=T0 + dt.timedelta(seconds=200))
    assert later.step == Step.WAIT_FOR_JOB and later.reason == created.reason


def test_no_status_reason_once_the_finalizer_goes_or_when_not_deleting() -> None:
    assert _decide(_cluster(), job=_job("Complete")).reason is None
    assert _decide(_cluster(), job=_job("Failed")).reason is None
    assert _decide(_cluster(timeout="1"), job=_job(None)).reason is None  # timed out: removed now
    assert _decide(_cluster(deleting=False)).reason is None
    assert _decide(_cluster(), enabled=False).reason is None


def test_deletion_deadline_is_the_deletion_time_plus_the_timeout() -> None:
    deadline = deletion_deadline(_cluster(timeout="45"), T0 + dt.timedelta(seconds=9))
    assert (deadline.started, deadline.timeout, deadline.at) == (T0, 45, T0 + dt.timedelta(seconds=45))
    bad = deletion_deadline(_cluster(timeout="0"), T0)
    assert bad.timeout == 300 and bad.complaint is not None
    assert deletion_deadline(_cluster(deleting=False), T0).started == T0  # no stamp: now stands in
