"""Controller result semantics (controller-runtime reconcileHandler) and wiring."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from raykube.runtime.client import ObjectList, WatchEvent
from raykube.runtime.clock import FakeClock
from raykube.runtime.controller import Controller, Result, TerminalError
from raykube.runtime.informer import Informer
from raykube.runtime.kinds import POD, ResourceKind
from raykube.runtime.metrics import RuntimeMetrics
from raykube.runtime.objects import ObjectKey
from raykube.runtime.predicates import ANNOTATIONS_CHANGED, GENERATION_CHANGED, LABELS_CHANGED, AnyOf
from raykube.runtime.ratelimit import ItemExponentialBackoff

from .fakes import ScriptedWatchSource, obj

KEY = ObjectKey("ns", "rc")
RAYCLUSTER = ResourceKind("ray.io", "v1", "RayCluster", "rayclusters")


class Script:
    """A reconciler that returns (or raises) the next scripted outcome and records its keys."""

    def __init__(self, *outcomes: Result | Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.keys: list[ObjectKey] = []

    async def __call__(self, key: ObjectKey) -> Result | None:
        self.keys.append(key)
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def make(reconcile: Script, clock: FakeClock, registry: CollectorRegistry | None = None) -> Controller:
    return Controller(
        "raycluster",
        reconcile,
        clock=clock,
        rate_limiter=ItemExponentialBackoff(1.0, 60.0),
        metrics=RuntimeMetrics(registry or CollectorRegistry()),
    )


def total(registry: CollectorRegistry, result: str) -> float:
    value = registry.get_sample_value(
        "controller_runtime_reconcile_total", {"controller": "raycluster", "result": result}
    )
    return value or 0.0


async def test_success_forgets_the_key_and_does_not_requeue() -> None:
    clock, registry = FakeClock(), CollectorRegistry()
    ctrl = make(Script(RuntimeError("x"), None), clock, registry)
    ctrl.queue.add(KEY)
    await ctrl.process_next()
    clock.advance(1.0)
    await ctrl.process_next()
    assert ctrl.queue.num_requeues(KEY) == 0
    clock.advance(3600)
    assert len(ctrl.queue) == 0 and ctrl.queue.waiting == 0
    assert total(registry, "success") == 1 and total(registry, "error") == 1


async def test_error_requeues_with_growing_backoff() -> None:
    clock, registry = FakeClock(), CollectorRegistry()
    ctrl = make(Script(RuntimeError("a"), RuntimeError("b")), clock, registry)
    ctrl.queue.add(KEY)
    await ctrl.process_next()
    clock.advance(0.99)
    assert len(ctrl.queue) == 0
    clock.advance(0.01)
    await ctrl.process_next()
    clock.advance(1.99)
    assert len(ctrl.queue) == 0
    clock.advance(0.01)
    assert len(ctrl.queue) == 1
    assert registry.get_sample_value("controller_runtime_reconcile_errors_total", {"controller": "raycluster"}) == 2


async def test_terminal_error_is_counted_but_never_retried() -> None:
    clock, registry = FakeClock(), CollectorRegistry()
    ctrl = make(Script(TerminalError("invalid spec")), clock, registry)
    ctrl.queue.add(KEY)
    await ctrl.process_next()
    clock.advance(3600)
    assert len(ctrl.queue) == 0 and ctrl.queue.waiting == 0
    assert (
        registry.get_sample_value("controller_runtime_terminal_reconcile_errors_total", {"controller": "raycluster"})
        == 1
    )
    assert total(registry, "error") == 1


async def test_requeue_after_forgets_backoff_and_comes_back_after_the_delay() -> None:
    clock, registry = FakeClock(), CollectorRegistry()
    ctrl = make(Script(RuntimeError("x"), Result(requeue_after=30)), clock, registry)
    ctrl.queue.add(KEY)
    await ctrl.process_next()
    clock.advance(1.0)
    await ctrl.process_next()
    assert ctrl.queue.num_requeues(KEY) == 0
    clock.advance(29.9)
    assert len(ctrl.queue) == 0
    clock.advance(0.1)
    assert len(ctrl.queue) == 1
    assert total(registry, "requeue_after") == 1


async def test_zero_requeue_after_counts_as_plain_success() -> None:
    clock, registry = FakeClock(), CollectorRegistry()
    ctrl = make(Script(Result(requeue_after=0)), clock, registry)
    ctrl.queue.add(KEY)
    await ctrl.process_next()
    assert ctrl.queue.waiting == 0 and total(registry, "success") == 1


async def test_one_key_is_never_reconciled_by_two_workers_at_once() -> None:
    running: set[ObjectKey] = set()
    overlaps = 0
    calls = 0
    release = asyncio.Event()

    async def reconcile(key: ObjectKey) -> Result:
        nonlocal overlaps, calls
        calls += 1
        overlaps += key in running
        running.add(key)
        await release.wait()
        running.discard(key)
        return Result()

    ctrl = Controller("raycluster", reconcile, workers=4, clock=FakeClock())
    task = asyncio.create_task(ctrl.run())
    ctrl.queue.add(KEY)
    await asyncio.sleep(0.01)
    ctrl.queue.add(KEY)  # arrives while the first pass runs
    ctrl.queue.add(ObjectKey("ns", "other"))
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.sleep(0.01)
    ctrl.stop()
    await asyncio.wait_for(task, 1)
    assert overlaps == 0 and calls == 3


async def test_stop_lets_the_in_flight_reconcile_finish() -> None:
    finished = asyncio.Event()
    started = asyncio.Event()

    async def reconcile(key: ObjectKey) -> None:
        started.set()
        await asyncio.sleep(0.01)
        finished.set()

    ctrl = Controller("raycluster", reconcile, clock=FakeClock())
    task = asyncio.create_task(ctrl.run())
    ctrl.queue.add(KEY)
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished.is_set()


async def run_informer(informer: Informer, source: ScriptedWatchSource) -> asyncio.Task[None]:
    task = asyncio.create_task(informer.run())
    await asyncio.wait_for(source.idle.wait(), 2)
    return task


def owned_pod(name: str, owner: str, *, kind: str = "RayCluster", controller: bool = True) -> dict[str, Any]:
    ref = {"apiVersion": "ray.io/v1", "kind": kind, "name": owner, "uid": "u", "controller": controller}
    return obj(name, ownerReferences=[ref])


async def test_owns_enqueues_only_the_controller_owner_of_the_right_kind() -> None:
    pods = [
        owned_pod("a", "rc1"),
        owned_pod("b", "rc2", controller=False),
        owned_pod("c", "job", kind="RayJob"),
        obj("d"),
    ]
    source = ScriptedWatchSource([ObjectList(pods, "1")], [])
    informer = Informer(source, POD)
    ctrl = Controller("raycluster", Script(), clock=FakeClock())
    ctrl.owns(informer, owner_kind="RayCluster", owner_group="ray.io")
    task = await run_informer(informer, source)
    assert len(ctrl.queue) == 1 and await ctrl.queue.get() == ObjectKey("ns", "rc1")
    task.cancel()


async def test_for_with_predicates_ignores_status_only_updates() -> None:
    old = obj("rc", "1", generation=1)
    status_write = obj("rc", "2", generation=1)
    relabel = obj("rc", "3", generation=1, labels={"x": "y"})
    source = ScriptedWatchSource(
        [ObjectList([old], "1")],
        [[WatchEvent("MODIFIED", status_write), WatchEvent("MODIFIED", relabel)]],
    )
    informer = Informer(source, RAYCLUSTER)
    seen: list[str] = []
    ctrl = Controller("raycluster", Script(), clock=FakeClock())
    ctrl.for_(informer, AnyOf(GENERATION_CHANGED, LABELS_CHANGED, ANNOTATIONS_CHANGED))
    ctrl.queue.add = lambda item, priority=0: seen.append(str(item))  # type: ignore[method-assign]
    task = await run_informer(informer, source)
    assert seen == ["ns/rc", "ns/rc"]  # the initial add and the label change, not the status write
    task.cancel()


async def test_watches_maps_events_to_arbitrary_keys() -> None:
    source = ScriptedWatchSource([ObjectList([obj("svc")], "1")], [])
    informer = Informer(source, POD)
    ctrl = Controller("raycluster", Script(), clock=FakeClock())
    ctrl.watches(informer, lambda o: [ObjectKey("ns", "a"), ObjectKey("ns", "b")])
    task = await run_informer(informer, source)
    assert [await ctrl.queue.get(), await ctrl.queue.get()] == [ObjectKey("ns", "a"), ObjectKey("ns", "b")]
    task.cancel()


async def test_owns_with_batch_turns_a_burst_of_events_into_one_delayed_enqueue() -> None:
    pods = [owned_pod(f"p{i}", "rc1") for i in range(5)] + [owned_pod("q", "rc2")]
    source = ScriptedWatchSource([ObjectList(pods, "1")], [])
    informer = Informer(source, POD)
    clock = FakeClock()
    ctrl = Controller("raycluster", Script(), clock=clock)
    ctrl.owns(informer, owner_kind="RayCluster", owner_group="ray.io", batch=0.5)
    task = await run_informer(informer, source)
    assert len(ctrl.queue) == 0 and ctrl.queue.waiting == 2, "one timer per owner, nothing queued yet"
    clock.advance(0.49)
    assert len(ctrl.queue) == 0
    clock.advance(0.01)
    assert sorted([await ctrl.queue.get(), await ctrl.queue.get()]) == [ObjectKey("ns", "rc1"), ObjectKey("ns", "rc2")]
    assert len(ctrl.queue) == 0 and ctrl.queue.waiting == 0
    task.cancel()


async def test_owns_with_batch_and_quiet_enqueues_once_the_owners_events_pause() -> None:
    source = ScriptedWatchSource([ObjectList([owned_pod(f"p{i}", "rc1") for i in range(5)], "1")], [])
    informer = Informer(source, POD)
    clock = FakeClock()
    ctrl = Controller("raycluster", Script(), clock=clock)
    ctrl.owns(informer, owner_kind="RayCluster", owner_group="ray.io", batch=0.5, quiet=0.1)
    task = await run_informer(informer, source)
    assert len(ctrl.queue) == 0 and ctrl.queue.waiting == 1
    clock.advance(0.1)
    assert [await ctrl.queue.get()] == [ObjectKey("ns", "rc1")]  # after the pause, not the whole 0.5 s window
    task.cancel()


async def test_owns_with_a_priority_queues_the_owner_ahead_of_keys_queued_otherwise() -> None:
    source = ScriptedWatchSource([ObjectList([owned_pod("p0", "under-way")], "1")], [])
    informer = Informer(source, POD)
    clock = FakeClock()
    ctrl = Controller("raycluster", Script(), clock=clock)
    ctrl.owns(informer, owner_kind="RayCluster", owner_group="ray.io", batch=0.5, quiet=0.1, priority=1)
    ctrl.queue.add(ObjectKey("ns", "new-1"))
    ctrl.queue.add(ObjectKey("ns", "new-2"))
    task = await run_informer(informer, source)
    clock.advance(0.1)
    assert await ctrl.queue.get() == ObjectKey("ns", "under-way")  # queued last, handed out first
    task.cancel()

