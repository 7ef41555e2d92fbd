"""A scale-up larger than the scheduler's queue allowance (plan.MAX_AWAITING_SCHEDULER) creates its workers as the
scheduler takes them, and says so once with a Normal WaitingForScheduler Event."""

from __future__ import annotations

from typing import Any

from raykube.controllers.kinds import POD, RAYCLUSTER
from raykube.controllers.raycluster.plan import MAX_AWAITING_SCHEDULER
from raykube.runtime.clock import FakeClock
from raykube.runtime.events import EventRecorder
from raykube.runtime.objects import ObjectKey
from tests.unit.controllers.fixtures import make_cluster, raycluster_reconciler
from tests.unit.controllers.rayjob.fakeapi import FakeApi

KEY = ObjectKey("ns", "rc")
# More than one allowance, fewer than two: the second pass after binding creates every remaining worker.
WORKERS = MAX_AWAITING_SCHEDULER + MAX_AWAITING_SCHEDULER // 2
HELD = WORKERS - (MAX_AWAITING_SCHEDULER - 1)  # the allowance holds the head and cap - 1 workers


async def test_workers_beyond_the_queue_allowance_wait_for_the_scheduler_with_one_event() -> None:
    api = FakeApi()
    api.put(RAYCLUSTER, make_cluster("rc").namespace("ns")
            .worker_group("workers", replicas=WORKERS, max_replicas=WORKERS).json())
    recorder = EventRecorder(api, controller="raycluster-controller", clock=FakeClock())
    reconciler = raycluster_reconciler(api, recorder=recorder)

    def pods() -> list[dict[str, Any]]:
        return api.informers.pods.store.list()

    async def waiting_events() -> int:
        await recorder.flush()
        return sum(1 for e in api.events if e["reason"] == "WaitingForScheduler")

    await reconciler.reconcile(KEY)
    assert len(pods()) == MAX_AWAITING_SCHEDULER  # the head and cap - 1 workers: the queue allowance
    assert await waiting_events() == 1
    await reconciler.reconcile(KEY)  # nothing scheduled yet: nothing more created, no second Event
    assert len(pods()) == MAX_AWAITING_SCHEDULER
    assert await waiting_events() == 1
    event = next(e for e in api.events if e["reason"] == "WaitingForScheduler")
    assert event["type"] == "Normal"
    assert event["note"] == (f"{MAX_AWAITING_SCHEDULER} of the cluster's pods wait for the scheduler; {HELD} more "
                             f"worker pods are created as these are scheduled (at most {MAX_AWAITING_SCHEDULER} "
                             "wait at once)")
    for pod in pods():  # the scheduler binds every pod
        api.put(POD, {**pod, "spec": {**pod["spec"], "nodeName": "node-1"}})
    await reconciler.reconcile(KEY)
    assert len(pods()) == 1 + WORKERS
    assert await waiting_events() == 1
