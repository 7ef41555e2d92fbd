"""Informer list/watch/relist logic against a scripted watch source."""

from __future__ import annotations

import asyncio

import pytest

from raykube.runtime.client import ObjectList, WatchEvent
from raykube.runtime.clock import FakeClock
from raykube.runtime.errors import ApiError
from raykube.runtime.informer import EventHandler, Informer
from raykube.runtime.kinds import POD
from raykube.runtime.objects import Obj, ObjectKey

from .fakes import ScriptedWatchSource, obj


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []

    def handler(self) -> EventHandler:
        return EventHandler(
            on_add=lambda o: self.events.append(f"add {o['metadata']['name']}"),
            on_update=lambda old, new: self.events.append(
                f"update {new['metadata']['name']} {old['metadata']['resourceVersion']}->"
                f"{new['metadata']['resourceVersion']}"
            ),
            on_delete=lambda o: self.events.append(
                f"delete {o['metadata']['name']} {o['metadata']['resourceVersion']}"
            ),
        )


async def run_until_idle(informer: Informer, source: ScriptedWatchSource) -> asyncio.Task[None]:
    task = asyncio.create_task(informer.run())
    await asyncio.wait_for(source.idle.wait(), 2)
    return task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_list_fills_the_store_marks_synced_and_watches_from_the_list_version() -> None:
    source = ScriptedWatchSource([ObjectList([obj("a"), obj("b")], "10")], [])
    informer = Informer(source, POD, label_selector="ray.io/node-type in (head,worker,redis-cleanup)")
    rec = Recorder()
    informer.add_handler(rec.handler())
    task = await run_until_idle(informer, source)
    assert informer.has_synced and await informer.wait_for_sync(0)
    assert rec.events == ["add a", "add b"]
    assert source.watch_versions == ["10"]
    assert source.watch_params[0]["allow_bookmarks"] is True
    assert source.watch_params[0]["label_selector"] == "ray.io/node-type in (head,worker,redis-cleanup)"
    await stop(task)


async def test_watch_events_update_the_store_and_call_handlers() -> None:
    events = [
        WatchEvent("ADDED", obj("b", "11")),
        WatchEvent("MODIFIED", obj("a", "12")),
        WatchEvent("DELETED", obj("b", "13")),
    ]
    source = ScriptedWatchSource([ObjectList([obj("a", "1")], "10")], [events])
    informer = Informer(source, POD)
    rec = Recorder()
    informer.add_handler(rec.handler())
    task = await run_until_idle(informer, source)
    assert rec.events == ["add a", "add b", "update a 1->12", "delete b 13"]
    assert informer.store.keys() == [ObjectKey("ns", "a")]
    await stop(task)


async def test_closed_watch_resumes_from_the_last_bookmark() -> None:
    bookmark = WatchEvent("BOOKMARK", {"kind": "Pod", "metadata": {"resourceVersion": "50"}})
    source = ScriptedWatchSource([ObjectList([], "10")], [[WatchEvent("ADDED", obj("a", "20")), bookmark]])
    informer = Informer(source, POD)
    rec = Recorder()
    informer.add_handler(rec.handler())
    task = await run_until_idle(informer, source)
    assert source.watch_versions == ["10", "50"]
    assert source.list_calls == 1
    assert rec.events == ["add a"]
    await stop(task)


async def test_gone_relists_and_reports_objects_deleted_while_not_watching() -> None:
    gone = ApiError(410, "Expired", "too old resource version")
    source = ScriptedWatchSource(
        [ObjectList([obj("a", "1"), obj("b", "1")], "10"), ObjectList([obj("a", "30")], "31")],
        [[WatchEvent("MODIFIED", obj("b", "20")), gone]],
    )
    informer = Informer(source, POD)
    rec = Recorder()
    informer.add_handler(rec.handler())
    task = await run_until_idle(informer, source)
    assert source.list_calls == 2 and informer.relists == 1
    assert source.watch_versions == ["10", "31"]
    assert rec.events == ["add a", "add b", "update b 1->20", "delete b 20", "update a 1->30"]
    await stop(task)


async def test_watch_error_backs_off_then_resumes_without_relisting() -> None:
    clock = FakeClock()
    source = ScriptedWatchSource(
        [ObjectList([], "10")], [[WatchEvent("ADDED", obj("a", "15")), ApiError(500, "InternalError")]]
    )
    informer = Informer(source, POD, clock=clock)
    task = asyncio.create_task(informer.run())
    for _ in range(10):
        await asyncio.sleep(0)
    assert clock.pending_timers == 1 and source.watch_versions == ["10"]
    clock.advance(1.0)  # first backoff is 0.8 s ± 10 %
    await asyncio.wait_for(source.idle.wait(), 2)
    assert source.watch_versions == ["10", "15"] and source.list_calls == 1
    await stop(task)


async def test_failed_list_is_retried_with_backoff_before_sync() -> None:
    clock = FakeClock()
    source = ScriptedWatchSource([ConnectionError("refused"), ObjectList([obj("a")], "3")], [])
    informer = Informer(source, POD, clock=clock)
    task = asyncio.create_task(informer.run())
    for _ in range(10):
        await asyncio.sleep(0)
    assert not informer.has_synced
    assert not await informer.wait_for_sync(0.01)
    clock.advance(1.0)
    await asyncio.wait_for(source.idle.wait(), 2)
    assert informer.has_synced and source.list_calls == 2
    await stop(task)


async def test_handler_added_after_sync_sees_existing_objects_as_adds() -> None:
    source = ScriptedWatchSource([ObjectList([obj("a")], "1")], [])
    informer = Informer(source, POD)
    task = await run_until_idle(informer, source)
    rec = Recorder()
    informer.add_handler(rec.handler())
    assert rec.events == ["add a"]
    await stop(task)


async def test_failing_handler_does_not_stop_other_handlers() -> None:
    def boom(o: Obj) -> None:
        raise RuntimeError("bug")

    source = ScriptedWatchSource([ObjectList([obj("a")], "1")], [])
    informer = Informer(source, POD)
    informer.add_handler(EventHandler(on_add=boom))
    rec = Recorder()
    informer.add_handler(rec.handler())
    task = await run_until_idle(informer, source)
    assert rec.events == ["add a"]
    await stop(task)
