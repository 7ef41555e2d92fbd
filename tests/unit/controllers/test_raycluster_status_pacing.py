"""A status change that is only progress (pods turning ready, addresses) waits up to STATUS_PROGRESS_HOLD for the
next change (STATUS_PROVISIONING_HOLD before the cluster is first ready), so one burst costs one status write; a
new state, condition or generation is written at once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import raykube.controllers.raycluster.reconciler as reconciler_module
from raykube import reasons
from raykube.api.meta import Condition
from raykube.api.raycluster import RayClusterStatus
from raykube.api.validation import raycluster_spec_errors
from raykube.controllers.kinds import POD, RAYCLUSTER
from raykube.controllers.kit import StatusPacer
from raykube.controllers.raycluster.reconciler import STATUS_PROGRESS_HOLD, STATUS_PROVISIONING_HOLD
from raykube.controllers.raycluster.status import ever_ready, progress_only
from raykube.runtime.objects import ObjectKey
from tests.unit.controllers.fixtures import make_cluster, raycluster_reconciler
from tests.unit.controllers.rayjob.fakeapi import FakeApi

T0 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
KEY = ObjectKey("ns", "rc")


class Now:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


def _cond(kind: str, status: str) -> Condition:
    return Condition(type=kind, status=status, reason=kind, message="", last_transition_time=T0)


def _status(**kwargs: Any) -> RayClusterStatus:
    base: dict[str, Any] = {"observed_generation": 1, "desired_worker_replicas": 2, "ready_worker_replicas": 0,
                            "conditions": [_cond("HeadPodReady", "False"), _cond("RayClusterProvisioned", "False")]}
    return RayClusterStatus(**{**base, **kwargs})


def test_the_pacer_holds_progress_for_its_window_and_never_anything_else() -> None:
    now = Now()
    pacer = StatusPacer(1.0, now)
    assert pacer.hold("a", progress_only=True) == 1.0
    now.advance(0.4)
    assert abs(pacer.hold("a", progress_only=True) - 0.6) < 1e-9  # the window runs from the first held change
    assert pacer.hold("b", progress_only=True) == 1.0  # per key
    now.advance(0.6)
    assert pacer.hold("a", progress_only=True) == 0.0  # due: written now
    assert pacer.hold("a", progress_only=True) == 1.0  # a new window after that write
    assert pacer.hold("a", progress_only=False) == 0.0  # anything but progress goes at once, with what was held
    assert pacer.hold("a", progress_only=True) == 1.0
    pacer.forget("a")
    assert pacer.hold("a", progress_only=True) == 1.0
    assert StatusPacer(0, now).hold("c", progress_only=True) == 0.0  # window 0: no pacing at all
    assert pacer.hold("d", progress_only=True, window=5.0) == 5.0  # a call's own window
    now.advance(2.0)
    assert pacer.hold("d", progress_only=True, window=5.0) == 3.0


def test_a_cluster_has_been_ready_once_its_state_was_ready() -> None:
    assert not ever_ready(_status())
    assert ever_ready(_status(state="ready"))
    assert ever_ready(_status(state="suspended", state_transition_times={"ready": T0, "suspended": T0}))


def test_progress_is_counts_addresses_and_head_pod_ready_only() -> None:
    old = _status()
    head_ready = _status(ready_worker_replicas=1, available_worker_replicas=1, endpoints={"client": "10001"},
                         conditions=[_cond("HeadPodReady", "True"), _cond("RayClusterProvisioned", "False")])
    assert progress_only(old, head_ready)
    assert not progress_only(None, old)  # the first status
    assert not progress_only(old, _status(state="ready"))
    assert not progress_only(old, _status(observed_generation=2))
    assert not progress_only(old, _status(desired_worker_replicas=3))
    assert not progress_only(old, _status(reason="x"))
    provisioned = [_cond("HeadPodReady", "True"), _cond("RayClusterProvisioned", "True")]
    assert not progress_only(old, _status(conditions=provisioned))
    assert not progress_only(old, _status(conditions=[*(old.conditions or []), _cond("ReplicaFailure", "True")]))


def _pod(name: str, node: str, owner: dict[str, Any], *, ready: bool) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": "Running" if ready else "Pending"}
    if ready:
        status["podIP"] = "10.0.0.1"
        status["conditions"] = [{"type": "Ready", "status": "True"}]
        status["containerStatuses"] = [{"name": "ray-head" if node == "head" else "ray-worker", "ready": True,
                                        "state": {"running": {}}}]
    group = {reasons.LABEL_GROUP: "headgroup"} if node == "head" else {reasons.LABEL_GROUP: "workers"}
    return {"metadata": {"name": name, "namespace": "ns", "ownerReferences": [owner],
                         "labels": {reasons.LABEL_CLUSTER: "rc", reasons.LABEL_NODE_TYPE: node, **group}},
            "spec": {}, "status": status}


async def test_the_head_turning_ready_is_held_and_written_with_the_next_pass_after_the_window() -> None:
    api = FakeApi()
    stored = api.put(RAYCLUSTER, make_cluster("rc").namespace("ns").worker_group("workers", replicas=1).json())
    owner = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "name": "rc", "uid": stored["metadata"]["uid"],
             "controller": True}
    now = Now()
    reconciler = raycluster_reconciler(api, now=now)

    async def status_writes() -> int:
        api.writes.clear()
        result = await reconciler.reconcile(KEY)
        held.append(result.requeue_after)
        return sum(1 for w in api.writes if w == ("replace/status", "RayCluster", "rc"))

    held: list[float | None] = []
    assert await status_writes() == 1  # the first status: at once (the pass also creates the pods)
    pods = api.informers.pods.store.list()
    head = next(p for p in pods if p["metadata"]["labels"][reasons.LABEL_NODE_TYPE] == "head")
    api.put(POD, _pod(head["metadata"]["name"], "head", owner, ready=True))
    assert await status_writes() == 0  # HeadPodReady alone is progress: held, long while not yet ready
    assert held[-1] == STATUS_PROVISIONING_HOLD
    now.advance(STATUS_PROVISIONING_HOLD / 2)
    assert await status_writes() == 0
    now.advance(STATUS_PROVISIONING_HOLD / 2)
    assert await status_writes() == 1  # due: written
    cluster = api.obj(RAYCLUSTER, "rc")
    assert cluster is not None
    conditions = {c["type"]: c["status"] for c in cluster["status"]["conditions"]}
    assert conditions["HeadPodReady"] == "True"
    worker = next(p for p in pods if p["metadata"]["labels"][reasons.LABEL_NODE_TYPE] == "worker")
    api.put(POD, _pod(worker["metadata"]["name"], "worker", owner, ready=True))
    assert await status_writes() == 1  # `ready`: a new state, at once
    api.put(POD, _pod(worker["metadata"]["name"], "worker", owner, ready=False))
    assert await status_writes() == 0  # progress of a cluster that has been ready: the short hold
    assert held[-1] == STATUS_PROGRESS_HOLD


async def test_the_spec_validation_is_remembered_per_generation_and_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeApi()
    api.put(RAYCLUSTER, make_cluster("rc").namespace("ns").worker_group("workers", replicas=1).json())
    reconciler = raycluster_reconciler(api, now=Now())
    calls: list[str] = []

    def counting(*args: Any, **kwargs: Any) -> list[str]:
        calls.append("spec")
        return raycluster_spec_errors(*args, **kwargs)

    monkeypatch.setattr(reconciler_module, "raycluster_spec_errors", counting)
    await reconciler.reconcile(KEY)
    await reconciler.reconcile(KEY)
    assert calls == ["spec"]  # the second pass (same generation and metadata) reuses the answer
    stored = api.obj(RAYCLUSTER, "rc")
    assert stored is not None
    # an annotation that makes the spec invalid (KubeRay: GCS FT options and the legacy annotation together)
    stored["metadata"]["annotations"] = {"ray.io/ft-enabled": "true"}
    stored["spec"]["gcsFaultToleranceOptions"] = {"redisAddress": "redis:6379"}
    api.put(RAYCLUSTER, stored)
    await reconciler.reconcile(KEY)
    assert calls == ["spec", "spec"]
    invalid = api.obj(RAYCLUSTER, "rc")
    assert invalid is not None
    reasons_now = {c["type"]: c.get("reason") for c in invalid["status"]["conditions"]}
    assert reasons_now.get("ReplicaFailure") == "InvalidRayClusterSpec"  # the new answer, not the remembered one
