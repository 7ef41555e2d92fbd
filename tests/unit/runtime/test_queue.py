"""Work queue semantics (client-go workqueue/doc.go)."""

from __future__ import annotations

import asyncio

import pytest

from raykube.runtime.clock import FakeClock
from raykube.runtime.queue import RateLimitingQueue, ShutDown, WorkQueue
from raykube.runtime.ratelimit import ItemExponentialBackoff


async def test_keys_come_out_in_the_order_they_were_added() -> None:
    q: WorkQueue[str] = WorkQueue()
    for key in ("a", "b", "c"):
        q.add(key)
    assert [await q.get() for _ in range(3)] == ["a", "b", "c"]


async def test_key_added_twice_before_processing_is_processed_once() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    q.add("b")
    q.add("a")
    assert len(q) == 2
    assert await q.get() == "a"
    assert await q.get() == "b"
    assert len(q) == 0


async def test_key_being_processed_is_not_handed_to_a_second_worker() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    assert await q.get() == "a"
    q.add("a")
    second = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    assert not second.done()
    assert len(q) == 0
    q.done("a")
    assert await asyncio.wait_for(second, 1) == "a"


async def test_key_added_during_processing_is_processed_again() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    key = await q.get()
    q.add("a")
    q.add("a")
    q.done(key)
    assert len(q) == 1
    assert await q.get() == "a"
    q.done("a")
    assert len(q) == 0


async def test_done_without_re_add_does_not_requeue() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    q.done(await q.get())
    assert len(q) == 0


async def test_add_wakes_a_parked_worker() -> None:
    q: WorkQueue[str] = WorkQueue()
    worker = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add("a")
    assert await asyncio.wait_for(worker, 1) == "a"


async def test_add_after_waits_for_the_clock() -> None:
    clock = FakeClock()
    q: WorkQueue[str] = WorkQueue(clock=clock)
    q.add_after("a", 5.0)
    assert len(q) == 0 and q.waiting == 1
    clock.advance(4.9)
    assert len(q) == 0
    clock.advance(0.1)
    assert len(q) == 1 and q.waiting == 0


async def test_add_after_keeps_the_earlier_of_two_deadlines() -> None:
    clock = FakeClock()
    q: WorkQueue[str] = WorkQueue(clock=clock)
    q.add_after("a", 10.0)
    q.add_after("a", 2.0)
    q.add_after("a", 7.0)
    clock.advance(2.0)
    assert len(q) == 1
    assert await q.get() == "a"
    q.done("a")
    clock.advance(10.0)
    assert len(q) == 0


async def test_add_after_with_zero_delay_adds_at_once() -> None:
    q: WorkQueue[str] = WorkQueue(clock=FakeClock())
    q.add_after("a", 0)
    assert len(q) == 1


async def test_add_debounced_fires_after_a_pause_or_at_the_bursts_deadline() -> None:
    clock = FakeClock()
    q: WorkQueue[str] = WorkQueue(clock=clock)
    q.add_debounced("lone", 0.1, 0.5)
    clock.advance(0.1)
    assert len(q) == 1  # a lone event waits only the pause
    assert await q.get() == "lone"
    q.done("lone")
    for _ in range(10):  # a steady burst: an event every 0.08 s, never a pause of 0.1 s
        q.add_debounced("burst", 0.1, 0.5)
        clock.advance(0.08)
        if len(q):
            break
    assert clock.monotonic() == pytest.approx(0.1 + 0.56) and len(q) == 1  # fired at the deadline, 0.5 s in
    assert await q.get() == "burst"
    q.done("burst")
    q.add_debounced("burst", 0.1, 0.5)  # the next burst has a deadline of its own
    clock.advance(0.1)
    assert len(q) == 1


async def test_add_debounced_never_postpones_an_earlier_add_after() -> None:
    clock = FakeClock()
    q: WorkQueue[str] = WorkQueue(clock=clock)
    q.add_after("a", 0.05)
    q.add_debounced("a", 0.1, 0.5)
    clock.advance(0.05)
    assert len(q) == 1
    q2: WorkQueue[str] = WorkQueue(clock=clock)
    q2.add_after("b", 2.0)  # a requeue far off: the event's pass comes first
    q2.add_debounced("b", 0.1, 0.5)
    clock.advance(0.1)
    assert len(q2) == 1 and q2.waiting == 0


async def _take(q: WorkQueue[str], n: int) -> list[str]:
    out = []
    for _ in range(n):
        item = await q.get()
        q.done(item)
        out.append(item)
    return out


async def test_a_higher_priority_is_served_first_and_fifo_within_a_priority() -> None:
    q: WorkQueue[str] = WorkQueue(clock=FakeClock(), fair_every=100)
    for item in ("new-1", "new-2"):
        q.add(item)
    q.add("under-way-1", priority=1)
    q.add("under-way-2", priority=1)
    assert len(q) == 4
    assert await _take(q, 4) == ["under-way-1", "under-way-2", "new-1", "new-2"]
    assert len(q) == 0


async def test_a_queued_key_added_with_a_higher_priority_moves_up_once() -> None:
    q: WorkQueue[str] = WorkQueue(clock=FakeClock(), fair_every=100)
    for item in ("a", "b", "c"):
        q.add(item)
    q.add("c", priority=1)
    q.add("c", priority=0)  # a lower priority never moves it back down
    assert len(q) == 3  # still queued once
    assert await _take(q, 3) == ["c", "a", "b"]  # its stale place in the lower lane is skipped
    assert len(q) == 0
    q.add("c")  # queued again later: a new place at the end of its lane
    q.add("d")
    assert await _take(q, 2) == ["c", "d"]


async def test_no_lane_starves_every_fourth_key_is_the_longest_waiting() -> None:
    clock = FakeClock()
    q: WorkQueue[str] = WorkQueue(clock=clock)  # fair_every=4
    q.add("new")
    for i in range(8):
        clock.advance(0.01)
        q.add(f"busy-{i}", priority=1)
    taken = await _take(q, 9)
    assert taken.index("new") == 3  # three from the busy lane, then the key waiting longest
    assert taken[:3] == ["busy-0", "busy-1", "busy-2"] and taken[4:] == [f"busy-{i}" for i in range(3, 8)]


async def test_priority_survives_processing_and_timers() -> None:
    clock = FakeClock()
    q: WorkQueue[str] = WorkQueue(clock=clock, fair_every=100)
    q.add("held")
    assert await q.get() == "held"
    q.add("held", priority=1)  # re-added while a worker holds it: comes back with its priority
    q.add("other")
    q.done("held")
    assert await _take(q, 2) == ["held", "other"]
    q.add("plain")
    q.add_debounced("pods", 0.1, 0.5, priority=1)
    q.add_after("late", 0.05)
    q.add_debounced("late", 0.1, 0.5, priority=1)  # absorbed by the earlier timer, which takes the priority
    clock.advance(0.1)
    assert await _take(q, 3) == ["late", "pods", "plain"]


async def test_shut_down_wakes_parked_workers_and_refuses_new_keys() -> None:
    clock = FakeClock()
    q: WorkQueue[str] = WorkQueue(clock=clock)
    worker = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add_after("b", 1.0)
    q.shut_down()
    with pytest.raises(ShutDown):
        await asyncio.wait_for(worker, 1)
    q.add("a")
    clock.advance(2.0)
    assert len(q) == 0
    with pytest.raises(ShutDown):
        await q.get()


async def test_cancelled_worker_passes_its_wake_up_to_another() -> None:
    q: WorkQueue[str] = WorkQueue()
    first = asyncio.create_task(q.get())
    second = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add("a")
    first.cancel()
    await asyncio.sleep(0)
    assert await asyncio.wait_for(second, 1) == "a"


async def test_add_rate_limited_backs_off_exponentially_until_forget() -> None:
    clock = FakeClock()
    q: RateLimitingQueue[str] = RateLimitingQueue(ItemExponentialBackoff(1.0, 100.0), clock=clock)
    q.add_rate_limited("a")
    q.add_rate_limited("a")  # earlier timer (1 s) wins over the new one (2 s)
    assert q.num_requeues("a") == 2
    clock.advance(1.0)
    assert len(q) == 1
    q.done(await q.get())
    q.add_rate_limited("a")  # third failure: 4 s
    clock.advance(3.9)
    assert len(q) == 0
    clock.advance(0.1)
    assert len(q) == 1
    q.forget("a")
    assert q.num_requeues("a") == 0
