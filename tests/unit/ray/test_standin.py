"""The stand-in dashboard over real loopback HTTP, driven through the real client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from raykube.ray.client import DashboardClient
from raykube.ray.errors import DashboardServerError, DashboardUnreachable, JobNotFound, SubmissionIdTaken
from raykube.ray.models import JobSubmitRequest, RayJobState
from raykube.ray.standin import JobScript, StandInDashboard

pytestmark = pytest.mark.timeout(10)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def standin() -> AsyncIterator[tuple[StandInDashboard, Clock]]:
    clock = Clock()
    server = StandInDashboard(JobScript(pending_for=1, run_for=2), clock=clock)
    await server.start()
    try:
        yield server, clock
    finally:
        await server.close()


async def test_a_job_walks_through_its_script(standin: tuple[StandInDashboard, Clock]) -> None:
    server, clock = standin
    async with DashboardClient() as client:
        states = []
        for now in (0.0, 1.5, 3.5):
            clock.now = now
            states.append((await client.get_job(server.url, "rj-abcde")).status)
    assert states == [RayJobState.PENDING, RayJobState.RUNNING, RayJobState.SUCCEEDED]


async def test_submitted_jobs_exist_and_resubmission_is_refused(standin: tuple[StandInDashboard, Clock]) -> None:
    server, _ = standin
    server.script("http-", JobScript(auto_create=False))
    async with DashboardClient() as client:
        with pytest.raises(JobNotFound):
            await client.get_job(server.url, "http-1")
        await client.submit_job(server.url, JobSubmitRequest(entrypoint="python x.py", submission_id="http-1"))
        assert (await client.get_job(server.url, "http-1")).entrypoint == "python x.py"
        with pytest.raises(SubmissionIdTaken):
            await client.submit_job(server.url, JobSubmitRequest(entrypoint="python x.py", submission_id="http-1"))
    assert ("POST", "/api/jobs/") in server.calls


async def test_stop_and_scripted_failures(standin: tuple[StandInDashboard, Clock]) -> None:
    server, _ = standin
    server.script("broken-", JobScript(status_code=503))
    server.script("stuck-", JobScript(hang=True))
    async with DashboardClient(timeout=0.2) as client:
        assert await client.stop_job(server.url, "rj-1") is True
        assert (await client.get_job(server.url, "rj-1")).status is RayJobState.STOPPED
        with pytest.raises(DashboardServerError):
            await client.get_job(server.url, "broken-1")
        with pytest.raises(DashboardUnreachable):
            await client.get_job(server.url, "stuck-1")
