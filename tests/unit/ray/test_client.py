"""The dashboard client: typed answers and typed failures, through httpx's MockTransport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest

from raykube.ray.client import DEFAULT_TIMEOUT, DashboardClient, base_url
from raykube.ray.errors import (
    DashboardRequestFailed,
    DashboardServerError,
    DashboardUnreachable,
    JobNotFound,
    SubmissionIdTaken,
)
from raykube.ray.models import JobSubmitRequest, RayJobState

pytestmark = pytest.mark.timeout(10)

DETAILS = {
    "type": "SUBMISSION", "job_id": "02000000", "submission_id": "job-abcde", "status": "RUNNING",
    "entrypoint": "python main.py", "message": "Job is currently running.", "start_time": 1767225600000,
    "end_time": None, "metadata": {}, "runtime_env": {}, "driver_agent_http_address": "http://10.0.0.1:52365",
    "some_newer_field": {"ignored": True},
}


def client_for(
    handler: Callable[[httpx.Request], httpx.Response], *, timeout: float = DEFAULT_TIMEOUT
) -> DashboardClient:
    return DashboardClient(transport=httpx.MockTransport(handler), timeout=timeout)


def test_base_url_accepts_status_dashboard_url_and_full_urls() -> None:
    assert base_url("rj-abcde-head-svc.ns.svc.cluster.local:8265") == "http://rj-abcde-head-svc.ns.svc.cluster.local:8265"
    assert base_url("http://127.0.0.1:8265/") == "http://127.0.0.1:8265"


async def test_get_job_parses_details_and_ignores_unknown_fields() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        return httpx.Response(200, json=DETAILS)

    async with client_for(handler) as client:
        details = await client.get_job("head:8265", "job-abcde")
    assert seen == ["GET http://head:8265/api/jobs/job-abcde"]
    assert details.status is RayJobState.RUNNING
    assert details.started_at is not None and details.started_at.year == 2026
    assert details.ended_at is None


async def test_unknown_job_is_job_not_found() -> None:
    async with client_for(lambda r: httpx.Response(404, text="Job job-x does not exist")) as client:
        with pytest.raises(JobNotFound):
            await client.get_job("head:8265", "job-x")


async def test_submit_sends_only_the_fields_that_are_set() -> None:
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"job_id": "job-abcde", "submission_id": "job-abcde"})

    request = JobSubmitRequest(entrypoint="python main.py", submission_id="job-abcde", entrypoint_num_cpus=1.5)
    async with client_for(handler) as client:
        answer = await client.submit_job("head:8265", request)
    assert answer.submission_id == "job-abcde"
    assert bodies == [{"entrypoint": "python main.py", "submission_id": "job-abcde", "entrypoint_num_cpus": 1.5}]


async def test_a_taken_submission_id_is_its_own_error() -> None:
    text = "Job with submission_id job-abcde already exists. Please use a different submission_id."
    async with client_for(lambda r: httpx.Response(500, text=text)) as client:
        with pytest.raises(SubmissionIdTaken) as caught:
            await client.submit_job("head:8265", JobSubmitRequest(entrypoint="x", submission_id="job-abcde"))
    assert caught.value.status_code == 500


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        pytest.param(httpx.Response(500, text="boom"), DashboardServerError, id="server-error"),
        pytest.param(httpx.Response(503, text="starting"), DashboardServerError, id="unavailable"),
        pytest.param(httpx.Response(200, text="<html>"), DashboardServerError, id="not-json"),
        pytest.param(httpx.Response(200, json={"status": "WEIRD"}), DashboardServerError, id="bad-status"),
    ],
)
async def test_error_answers_are_server_errors(response: httpx.Response, expected: type[Exception]) -> None:
    async with client_for(lambda r: response) as client:
        with pytest.raises(expected):
            await client.get_job("head:8265", "job-x")


async def test_connection_failure_is_unreachable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with client_for(handler) as client:
        with pytest.raises(DashboardUnreachable) as caught:
            await client.get_job("head:8265", "job-x")
    assert not caught.value.timed_out


@pytest.mark.parametrize("call", ["get", "stop", "logs"])
async def test_a_url_httpx_refuses_is_a_typed_error_without_the_url(call: str) -> None:
    """A 100 KiB job id made httpx raise InvalidURL (no HTTPError) out of every background call."""
    job_id = "x" * 100 * 1024
    calls = {"get": DashboardClient.get_job, "stop": DashboardClient.stop_job, "logs": DashboardClient.job_logs}
    async with client_for(lambda r: httpx.Response(200, json=DETAILS)) as client:
        with pytest.raises(DashboardRequestFailed) as caught:
            await calls[call](client, "head:8265", job_id)
    assert "InvalidURL" in str(caught.value)
    assert len(str(caught.value)) < 400


async def test_an_undecodable_answer_is_a_typed_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.DecodingError("bad gzip", request=request)

    async with client_for(handler) as client:
        with pytest.raises(DashboardRequestFailed):
            await client.get_job("head:8265", "job-x")


async def test_a_dashboard_that_never_answers_costs_at_most_the_timeout() -> None:
    class Hanging(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    loop = asyncio.get_running_loop()
    async with DashboardClient(transport=Hanging(), timeout=0.05) as client:
        started = loop.time()
        with pytest.raises(DashboardUnreachable) as caught:
            await client.get_job("head:8265", "job-x")
    assert caught.value.timed_out
    assert loop.time() - started < 1.0


async def test_stop_logs_and_list() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/stop"):
            return httpx.Response(200, json={"stopped": True})
        if path.endswith("/logs"):
            return httpx.Response(200, json={"logs": "line 1\nline 2\n"})
        return httpx.Response(200, json=[DETAILS])

    async with client_for(handler) as client:
        assert await client.stop_job("head:8265", "job-abcde") is True
        assert await client.job_logs("head:8265", "job-abcde") == "line 1\nline 2\n"
        jobs = await client.list_jobs("head:8265")
    assert [j.submission_id for j in jobs] == ["job-abcde"]
