"""Background dashboard calls: cadence, wake-ups, per-attempt answers. The clock is fake; HTTP is a MockTransport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from raykube.controllers.rayjob.dashboard import DashboardProbes, Target
from raykube.ray.client import DashboardClient
from raykube.ray.errors import DashboardRequestFailed
from raykube.ray.models import JobSubmitRequest
from raykube.runtime.clock import FakeClock
from raykube.runtime.objects import ObjectKey

pytestmark = pytest.mark.timeout(10)
KEY = ObjectKey("ns", "rj")
TARGET = Target("http://head:8265", "rj-1", "rj-c1")


class Dashboard:
    """Answers GETs with ``status``; each answer waits until the test releases it."""

    def __init__(self) -> None:
        self.status = "RUNNING"
        self.gets = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.crash = False

    async def handler(self, request: httpx.Request) -> httpx.Response:
        await self.gate.wait()
        if self.crash:
            raise RuntimeError("not an HTTP failure")
        if request.method == "POST":
            return httpx.Response(200, json={"submission_id": "rj-1"})
        self.gets += 1
        return httpx.Response(200, json={"status": self.status, "submission_id": "rj-1"})


Setup = tuple[DashboardProbes, Dashboard, FakeClock, list[ObjectKey]]


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    dashboard = Dashboard()
    clock = FakeClock()
    woken: list[ObjectKey] = []
    async with DashboardClient(transport=httpx.MockTransport(dashboard.handler)) as client:
        probes = DashboardProbes(client, clock=clock, on_answer=woken.append)
        yield probes, dashboard, clock, woken
        await probes.close()


async def settle(probes: DashboardProbes) -> None:
    for _ in range(200):
        if probes.in_flight == 0:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("calls still in flight")


async def test_polls_are_spaced_from_the_start_of_the_last_call(setup: Setup) -> None:
    probes, dashboard, clock, _ = setup
    dashboard.gate.clear()
    probes.poll(KEY, TARGET, max_age=3)
    await asyncio.sleep(0.01)
    clock.advance(1.5)  # a slow dashboard: the answer comes 1.5 s after the call started
    dashboard.gate.set()
    await settle(probes)
    clock.advance(1.5)
    probes.poll(KEY, TARGET, max_age=3)  # 3 s after the call started: due, although the answer is 1.5 s old
    await settle(probes)
    assert dashboard.gets == 2
    probes.poll(KEY, TARGET, max_age=3)
    await settle(probes)
    assert dashboard.gets == 2  # not due again


async def test_only_news_wakes_the_rayjob(setup: Setup) -> None:
    probes, dashboard, clock, woken = setup
    for status in ("RUNNING", "RUNNING", "SUCCEEDED"):
        dashboard.status = status
        probes.poll(KEY, TARGET, max_age=3)
        await settle(probes)
        clock.advance(3)
    assert len(woken) == 2  # the first answer and the change to SUCCEEDED
    view = probes.view(KEY, TARGET)
    assert view.info is not None and view.info.details is not None
    assert view.info.details.status == "SUCCEEDED"


async def test_a_new_attempt_never_sees_the_last_attempts_answers(setup: Setup) -> None:
    probes, _, _, _ = setup
    probes.poll(KEY, TARGET, max_age=3)
    await settle(probes)
    retry = Target(TARGET.address, TARGET.job_id, "rj-c2")
    assert probes.view(KEY, retry).info is None
    probes.poll(KEY, retry, max_age=3)
    assert probes.view(KEY, TARGET).info is None  # the old attempt's answers are gone
    await settle(probes)
    probes.forget(KEY)
    assert probes.view(KEY, retry).info is None


async def test_a_submission_makes_the_next_poll_due_at_once(setup: Setup) -> None:
    probes, dashboard, clock, woken = setup
    probes.poll(KEY, TARGET, max_age=3)
    await settle(probes)
    clock.advance(0.5)
    probes.submit(KEY, TARGET, JobSubmitRequest(entrypoint="python x.py", submission_id="rj-1"))
    await settle(probes)
    assert len(woken) == 2  # the first answer, and every submit answer
    probes.poll(KEY, TARGET, max_age=3)
    await settle(probes)
    assert dashboard.gets == 2


async def test_a_call_that_crashes_counts_as_a_failed_answer(setup: Setup) -> None:
    probes, dashboard, _, woken = setup
    dashboard.crash = True
    probes.poll(KEY, TARGET, max_age=3)
    await settle(probes)
    view = probes.view(KEY, TARGET)
    assert view.info is not None and view.info.failed
    assert woken == [KEY]


async def test_a_job_id_too_long_for_a_url_is_a_typed_failed_answer_not_a_crash(setup: Setup) -> None:
    # Found by the chaos run: httpx.InvalidURL escaped the client and was logged with a traceback on every poll.
    probes, dashboard, _, woken = setup
    huge = Target("http://head:8265", "j" * 100 * 1024, "rj-c1")
    probes.poll(KEY, huge, max_age=3)
    probes.stop(KEY, huge)
    await settle(probes)
    view = probes.view(KEY, huge)
    for answer in (view.info, view.stop):
        assert answer is not None and isinstance(answer.error, DashboardRequestFailed), answer
    assert dashboard.gets == 0 and woken == [KEY, KEY]
