"""Manager start-up order, leader gating and shutdown."""

from __future__ import annotations

import asyncio

import pytest

from raykube.runtime.client import ObjectList
from raykube.runtime.clock import FakeClock
from raykube.runtime.controller import Controller
from raykube.runtime.informer import Informer
from raykube.runtime.kinds import POD
from raykube.runtime.leader import LeaderElectionConfig, LeaderElector
from raykube.runtime.manager import CacheSyncTimeout, Manager
from raykube.runtime.objects import ObjectKey

from .fakes import FakeLeaseApi, ScriptedWatchSource, obj


async def wait_until(condition: object, timeout: float = 2.0) -> None:
    async def poll() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.001)

    await asyncio.wait_for(poll(), timeout)


def pods_manager(
    reconciled: list[ObjectKey], elector: LeaderElector | None = None
) -> tuple[Manager, ScriptedWatchSource]:
    source = ScriptedWatchSource([ObjectList([obj("a"), obj("b")], "1")], [])
    manager = Manager(source, leader_elector=elector)

    async def reconcile(key: ObjectKey) -> None:
        assert manager.ready, "a controller must never run before the caches have synced"
        reconciled.append(key)

    ctrl = Controller("pods", reconcile, clock=FakeClock())
    ctrl.for_(manager.informer(POD, label_selector="app=x"))
    manager.add_controller(ctrl)
    return manager, source


async def test_controllers_start_after_caches_sync_and_stop_cleanly() -> None:
    reconciled: list[ObjectKey] = []
    manager, _ = pods_manager(reconciled)
    task = asyncio.create_task(manager.run())
    await wait_until(lambda: len(reconciled) == 2)
    manager.stop()
    await asyncio.wait_for(task, 2)
    assert sorted(reconciled) == [ObjectKey("ns", "a"), ObjectKey("ns", "b")]


async def test_informers_are_shared_per_kind_and_selector() -> None:
    manager = Manager(ScriptedWatchSource([], []))
    assert manager.informer(POD, label_selector="a=b") is manager.informer(POD, label_selector="a=b")
    assert manager.informer(POD) is not manager.informer(POD, label_selector="a=b")


async def test_cache_that_never_syncs_fails_start_up() -> None:
    source = ScriptedWatchSource([], [])

    async def never(*args: object, **kwargs: object) -> ObjectList:
        await asyncio.Event().wait()
        raise AssertionError

    source.list = never  # type: ignore[method-assign]
    manager = Manager(source, cache_sync_timeout=0.01)
    manager.informer(POD)
    with pytest.raises(CacheSyncTimeout):
        await asyncio.wait_for(manager.run(), 2)


async def test_controllers_wait_for_the_lease_and_it_is_released_on_stop() -> None:
    api, clock = FakeLeaseApi(), FakeClock()
    other = LeaderElector(api, LeaderElectionConfig("raykube", "ray-system", identity="other"), clock=clock)
    await other.try_acquire_or_renew()
    mine = LeaderElector(api, LeaderElectionConfig("raykube", "ray-system", identity="me"), clock=clock)
    reconciled: list[ObjectKey] = []
    manager, source = pods_manager(reconciled, mine)
    task = asyncio.create_task(manager.run())
    await asyncio.wait_for(source.idle.wait(), 2)
    await asyncio.sleep(0.01)
    assert manager.ready and reconciled == []  # caches warm, but not leading
    for _ in range(10):
        clock.advance(2.4)
        await asyncio.sleep(0.001)
    await wait_until(lambda: len(reconciled) == 2)
    assert api.holder("raykube") == "me"
    manager.stop()
    await asyncio.wait_for(task, 2)
    assert api.holder("raykube") == ""


async def test_runnables_run_only_while_leading() -> None:
    manager = Manager(ScriptedWatchSource([], []))
    ran = asyncio.Event()

    async def flusher() -> None:
        ran.set()
        await asyncio.Event().wait()

    manager.add_runnable(flusher)
    task = asyncio.create_task(manager.run())
    await asyncio.wait_for(ran.wait(), 2)
    manager.stop()
    await asyncio.wait_for(task, 2)


async def test_failing_controller_stops_the_manager_with_its_error() -> None:
    informer = Informer(ScriptedWatchSource([ObjectList([], "1")], []), POD)

    async def broken() -> None:
        raise RuntimeError("boom")

    manager = Manager()
    manager.add_informer(informer)
    manager.add_runnable(broken)
    with pytest.raises(RuntimeError, match="boom"):
        await asyncio.wait_for(manager.run(), 2)


async def test_a_lost_lease_stops_the_controllers_and_the_manager_leads_again_when_re_elected() -> None:
    # Found with API server outages: losing the lease (renewals failing for 10 s) made the process exit.
    api, clock = FakeLeaseApi(), FakeClock()
    mine = LeaderElector(api, LeaderElectionConfig("raykube", "ray-system", identity="me"), clock=clock)
    reconciled: list[ObjectKey] = []
    manager, _ = pods_manager(reconciled, mine)
    task = asyncio.create_task(manager.run())
    await wait_until(lambda: len(reconciled) == 2)
    api.failing = True  # the outage
    for _ in range(6):
        clock.advance(2.0)
        await asyncio.sleep(0.001)
    await wait_until(lambda: not mine.is_leader)
    assert not task.done()  # still running, as a candidate
    api.failing = False
    for _ in range(20):
        clock.advance(2.4)
        await asyncio.sleep(0.001)
        if len(reconciled) >= 4:
            break
    await wait_until(lambda: len(reconciled) >= 4)  # the new term starts with a full resync
    assert mine.is_leader
    manager.stop()
    await asyncio.wait_for(task, 2)
