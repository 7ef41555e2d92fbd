"""A deletion held by the GCS FT Redis clean-up finalizer, pass by pass through the reconciler: what it deletes
and creates, and the one status write per pass whose ``reason`` says what the deletion waits for."""

from __future__ import annotations

import datetime as dt
from typing import Any

from raykube import reasons
from raykube.controllers.kinds import JOB, POD, RAYCLUSTER
from raykube.controllers.raycluster.reconciler import RayClusterReconciler
from raykube.runtime.objects import ObjectKey
from tests.unit.controllers.fixtures import make_cluster, raycluster_reconciler
from tests.unit.controllers.rayjob.fakeapi import FakeApi

FIN = reasons.FINALIZER_GCS_FT_REDIS_CLEANUP
KEY = ObjectKey("ns", "rc")
DELETED_AT = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)  # FakeApi's deletionTimestamp


def _setup() -> tuple[FakeApi, RayClusterReconciler]:
    api = FakeApi()
    body = make_cluster("rc").namespace("ns").json()
    body["metadata"]["finalizers"] = [FIN]
    body["metadata"]["annotations"] = {reasons.ANNOTATION_GCS_FT_DELETION_TIMEOUT: "120"}
    body["spec"]["gcsFaultToleranceOptions"] = {"redisAddress": "redis:6379"}
    body["status"] = {"state": "ready", "readyWorkerReplicas": 1}
    stored = api.put(RAYCLUSTER, body)
    owner = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "name": "rc", "uid": stored["metadata"]["uid"],
             "controller": True}
    for name, node in (("rc-head-x", "head"), ("rc-w-1", "worker")):
        api.put(POD, {"metadata": {"name": name, "namespace": "ns", "ownerReferences": [owner],
                                   "labels": {reasons.LABEL_CLUSTER: "rc", reasons.LABEL_NODE_TYPE: node}}})
    reconciler = raycluster_reconciler(api, now=lambda: DELETED_AT + dt.timedelta(seconds=5))
    return api, reconciler


def _status(api: FakeApi) -> dict[str, Any]:
    cluster = api.obj(RAYCLUSTER, "rc")
    assert cluster is not None
    return cluster["status"]  # type: ignore[no-any-return]


async def _pass(api: FakeApi, reconciler: RayClusterReconciler) -> list[tuple[str, str, str]]:
    api.writes.clear()
    await reconciler.reconcile(KEY)
    return [w for w in api.writes if w[1] != "Event"]


async def test_the_waiting_deletion_says_why_in_the_status_once_per_step() -> None:
    api, reconciler = _setup()
    await api.delete(RAYCLUSTER, "rc", namespace="ns")

    writes = await _pass(api, reconciler)  # the pods go first
    assert writes == [("delete", "Pod", "rc-head-x"), ("delete", "Pod", "rc-w-1"),
                      ("replace/status", "RayCluster", "rc")]
    reason = _status(api)["reason"]
    assert reason.startswith("Deleting: waiting for the Ray pods to stop before the Redis clean-up Job "
                             "ns/rc-redis-cleanup can remove the cluster's keys from Redis "
                             "(deletion began 2026-01-01T12:00:00Z).")
    assert "has not finished by 2026-01-01T12:02:00Z (ray.io/gcs-ft-deletion-timeout=120s)" in reason
    assert _status(api)["state"] == "ready" and _status(api)["readyWorkerReplicas"] == 1  # the rest is left alone

    writes = await _pass(api, reconciler)  # no head left: the Job, and the status names it
    assert writes == [("create", "Job", "rc-redis-cleanup"), ("replace/status", "RayCluster", "rc")]
    assert _status(api)["reason"].startswith(
        "Deleting: waiting for the Redis clean-up Job ns/rc-redis-cleanup to remove the cluster's keys from Redis")

    assert await _pass(api, reconciler) == []  # the Job runs: nothing new to say, nothing written

    job = api.obj(JOB, "rc-redis-cleanup")
    assert job is not None
    api.put(JOB, {**job, "status": {"conditions": [{"type": "Complete", "status": "True"}]}})
    writes = await _pass(api, reconciler)  # done: the finalizer goes, and with it the cluster; no status write
    assert writes == [("replace", "RayCluster", "rc")]
    assert api.obj(RAYCLUSTER, "rc") is None
