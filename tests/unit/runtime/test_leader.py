"""Lease leader election against an in-memory Lease endpoint and a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from raykube.runtime.clock import FakeClock
from raykube.runtime.leader import LeaderElectionConfig, LeaderElector, LeadershipLost

from .fakes import FakeLeaseApi


def elector(api: FakeLeaseApi, clock: FakeClock, identity: str) -> LeaderElector:
    return LeaderElector(api, LeaderElectionConfig("raykube", "ray-system", identity=identity), clock=clock)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_first_candidate_creates_the_lease_and_leads() -> None:
    api, clock = FakeLeaseApi(), FakeClock()
    a = elector(api, clock, "a")
    assert await a.try_acquire_or_renew()
    assert api.holder("raykube") == "a"
    assert api.leases["raykube"]["spec"]["leaseTransitions"] == 0


async def test_held_lease_is_not_taken_until_it_has_been_stale_for_the_lease_duration() -> None:
    api, clock = FakeLeaseApi(), FakeClock()
    a, b = elector(api, clock, "a"), elector(api, clock, "b")
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    clock.advance(14.9)
    assert not await b.try_acquire_or_renew()
    clock.advance(0.1)
    assert await b.try_acquire_or_renew()
    assert api.holder("raykube") == "b"
    assert api.leases["raykube"]["spec"]["leaseTransitions"] == 1


async def test_renewals_keep_other_candidates_out() -> None:
    api, clock = FakeLeaseApi(), FakeClock()
    a, b = elector(api, clock, "a"), elector(api, clock, "b")
    await a.try_acquire_or_renew()
    for _ in range(10):
        assert not await b.try_acquire_or_renew()
        clock.advance(10)
        assert await a.try_acquire_or_renew()
    assert api.holder("raykube") == "a"


async def test_stale_write_loses_the_race() -> None:
    api, clock = FakeLeaseApi(), FakeClock()
    a = elector(api, clock, "a")
    await a.try_acquire_or_renew()
    stale = await api.get(None, "raykube")  # type: ignore[arg-type]
    await a.try_acquire_or_renew()
    with pytest.raises(Exception, match="Conflict"):
        await api.replace(None, stale)  # type: ignore[arg-type]


async def test_run_leads_until_the_work_ends_then_releases_for_a_fast_handover() -> None:
    api, clock = FakeLeaseApi(), FakeClock()
    a, b = elector(api, clock, "a"), elector(api, clock, "b")
    done = asyncio.Event()
    ran: list[str] = []

    async def work() -> None:
        ran.append("a")
        await done.wait()

    task = asyncio.create_task(a.run(work))
    await settle()
    assert a.is_leader and ran == ["a"]
    done.set()
    await asyncio.wait_for(task, 1)
    assert not a.is_leader and api.holder("raykube") == ""
    assert await b.try_acquire_or_renew()  # no need to wait out the 15 s lease


async def test_the_leader_renews_with_one_put_and_reads_the_lease_only_when_that_put_conflicts() -> None:
    api, clock = FakeLeaseApi(), FakeClock()
    a = elector(api, clock, "a")
    done = asyncio.Event()

    async def work() -> None:
        await done.wait()

    task = asyncio.create_task(a.run(work))
    await settle()
    assert a.is_leader
    api.calls.clear()
    for _ in range(3):
        clock.advance(2.0)
        await settle()
    assert api.calls == ["replace", "replace", "replace"]  # client-go's fast path: no GET per renewal
    renewed = api.leases["raykube"]["spec"]["renewTime"]

    stolen = await api.get(None, "raykube")  # type: ignore[arg-type]
    stolen["spec"]["holderIdentity"] = "b"
    await api.replace(None, stolen)  # type: ignore[arg-type]
    api.calls.clear()
    clock.advance(2.0)
    await settle()
    assert api.calls[:2] == ["replace", "get"]  # the stale PUT is refused; the lease is read and b holds it
    assert api.holder("raykube") == "b" and api.leases["raykube"]["spec"]["renewTime"] == renewed
    done.set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_cancelling_run_cancels_the_work_and_releases() -> None:
    api, clock = FakeLeaseApi(), FakeClock()
    a = elector(api, clock, "a")
    cancelled = asyncio.Event()

    async def work() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    task = asyncio.create_task(a.run(work))
    await settle()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled.is_set() and api.holder("raykube") == ""


async def test_leader_that_cannot_renew_within_the_deadline_stops_leading() -> None:
    api, clock = FakeLeaseApi(), FakeClock()
    a = elector(api, clock, "a")
    cancelled = asyncio.Event()

    async def work() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    task = asyncio.create_task(a.run(work))
    await settle()
    api.failing = True
    for _ in range(5):  # five retry periods of 2 s reach the 10 s renew deadline
        clock.advance(2.0)
        await settle()
    with pytest.raises(LeadershipLost):
        await asyncio.wait_for(task, 1)
    assert cancelled.is_set() and not a.is_leader


async def test_waiting_candidate_takes_over_after_the_leader_vanishes() -> None:
    api, clock = FakeLeaseApi(), FakeClock()
    a, b = elector(api, clock, "a"), elector(api, clock, "b")
    await a.try_acquire_or_renew()  # a then crashes without releasing
    started = asyncio.Event()

    async def work() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(b.run(work))
    for _ in range(10):
        clock.advance(2.4)
        await settle()
    assert started.is_set() and api.holder("raykube") == "b"
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_config_rejects_a_renew_deadline_longer_than_the_lease() -> None:
    with pytest.raises(ValueError):
        LeaderElectionConfig("x", "ns", lease_duration=10, renew_deadline=15)


async def _forever() -> None:
    await asyncio.Event().wait()


async def test_the_lease_is_held_only_while_renewed_within_the_deadline() -> None:
    # Found with a frozen leader (SIGSTOP, then SIGCONT after a successor took over): its in-flight
    # reconciles created pods on stale data. Writes are fenced by holds_lease, which goes False by the clock
    # alone, before the renew loop has run again.
    api, clock = FakeLeaseApi(), FakeClock()
    a = elector(api, clock, "a")
    assert not a.holds_lease()
    task = asyncio.create_task(a.run(_forever))
    await settle()
    assert a.holds_lease()
    clock.advance(10.0)  # frozen for the renew deadline: no renewal ran
    assert not a.holds_lease()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
