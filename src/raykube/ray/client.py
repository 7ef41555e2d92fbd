"""An async client of the Ray dashboard's Jobs API, shared by every RayJob.

One :class:`DashboardClient` serves every dashboard the operator talks to: the httpx client (and so its
connection pool, with keep-alive per host) is built once, in ``__init__``, and each call names the
dashboard it goes to. Tests inject an ``httpx`` transport (``httpx.MockTransport`` or the stand-in server
in :mod:`raykube.ray.standin`), as lightkube's client allows.

Every call is bounded twice: httpx's per-phase timeouts (connect, read, write, pool wait) and one overall
deadline around the whole call (``asyncio.timeout``), so a dashboard that accepts the connection and then
dribbles bytes still costs at most ``timeout`` seconds. KubeRay's default is 2 s for a direct connection
(``RayHTTPClientDirectTimeoutSeconds``); so is ours.

Failures are typed (:mod:`raykube.ray.errors`): 404 is :class:`JobNotFound`, no answer is
:class:`DashboardUnreachable`, an error answer is :class:`DashboardServerError`, and any other httpx error (a
URL httpx refuses, such as one over its 64 KiB limit; an undecodable body) is :class:`DashboardRequestFailed`.
No httpx exception leaves this module, so a caller that handles :class:`DashboardError` handles every failure.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any, Final, Self, TypeVar

import httpx
import pydantic

from raykube.ray.errors import (
    DashboardRequestFailed,
    DashboardServerError,
    DashboardUnreachable,
    JobNotFound,
    SubmissionIdTaken,
)
from raykube.ray.models import (
    JobDetails,
    JobList,
    JobLogsResponse,
    JobStopResponse,
    JobSubmitRequest,
    JobSubmitResponse,
)

#: KubeRay's RayHTTPClientDirectTimeoutSeconds.
DEFAULT_TIMEOUT: Final = 2.0
#: Connections kept across all dashboards.
DEFAULT_MAX_CONNECTIONS: Final = 100
_SUBMISSION_ID_TAKEN: Final = "Please use a different submission_id"
M = TypeVar("M", bound=pydantic.BaseModel)


def _package_path(uri: str) -> str:
    """``gcs://_ray_pkg_<hash>.zip`` -> ``/api/packages/gcs/_ray_pkg_<hash>.zip``."""
    protocol, _, name = uri.partition("://")
    return f"/api/packages/{protocol}/{name}"


def base_url(address: str) -> str:
    """``host:port`` (as in ``status.dashboardURL``) or a full URL, as ``http://host:port`` without a trailing slash."""
    address = address.strip().rstrip("/")
    return address if "://" in address else f"http://{address}"


class DashboardClient:
    """Calls the Jobs API of any Ray dashboard.

    Parameters:
        transport: the httpx transport; ``None`` for real HTTP.
        timeout: the overall budget of one call, seconds (also each httpx phase).
        max_connections: size of the shared connection pool.
        headers: sent with every request (for example an auth token).
        user_agent: the ``User-Agent`` header.
    """

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        headers: Mapping[str, str] | None = None,
        user_agent: str = "raykube",
    ) -> None:
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"User-Agent": user_agent, **(headers or {})},
            follow_redirects=False,
            trust_env=False,
        )

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the Jobs API ----------------------------------------------------------------------------

    async def get_job(self, address: str, job_id: str, *, timeout: float | None = None) -> JobDetails:
        """The job's details (:class:`JobNotFound` when the dashboard does not know ``job_id``)."""
        body = await self._call("GET", address, f"/api/jobs/{job_id}", timeout=timeout)
        return self._parse(address, JobDetails, body)

    async def submit_job(
        self, address: str, request: JobSubmitRequest, *, timeout: float | None = None
    ) -> JobSubmitResponse:
        """Submit a job (:class:`SubmissionIdTaken` when its submission id exists already)."""
        body = await self._call("POST", address, "/api/jobs/", payload=request.to_json(), timeout=timeout)
        return self._parse(address, JobSubmitResponse, body)

    async def stop_job(self, address: str, job_id: str, *, timeout: float | None = None) -> bool:
        """Ask Ray to stop the job; whether it was still running."""
        body = await self._call("POST", address, f"/api/jobs/{job_id}/stop", timeout=timeout)
        return self._parse(address, JobStopResponse, body).stopped

    async def job_logs(self, address: str, job_id: str, *, timeout: float | None = None) -> str:
        """The driver's whole log so far."""
        body = await self._call("GET", address, f"/api/jobs/{job_id}/logs", timeout=timeout)
        return self._parse(address, JobLogsResponse, body).logs

    async def package_exists(self, address: str, uri: str, *, timeout: float | None = None) -> bool:
        """Whether the dashboard holds the runtime-env package ``gcs://<name>``."""
        try:
            await self._call("GET", address, _package_path(uri), timeout=timeout, expect_json=False)
        except JobNotFound:
            return False
        return True

    async def upload_package(self, address: str, uri: str, data: bytes, *, timeout: float | None = None) -> None:
        """Upload a zipped working directory as the package ``gcs://<name>`` (what Ray's job SDK does)."""
        await self._call("PUT", address, _package_path(uri), content=data, timeout=timeout, expect_json=False)

    async def list_jobs(self, address: str, *, timeout: float | None = None) -> list[JobDetails]:
        """Every job the dashboard knows."""
        body = await self._call("GET", address, "/api/jobs/", timeout=timeout)
        return self._parse(address, JobList, {"jobs": body}).jobs

    # -- plumbing --------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        address: str,
        path: str,
        *,
        payload: dict[str, Any] | None = None,
        content: bytes | None = None,
        timeout: float | None = None,
        expect_json: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        url = base_url(address)
        budget = self.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(budget):
                response = await self._http.request(
                    method, url + path, json=payload, content=content, timeout=httpx.Timeout(budget),
                    headers=headers,
                )
        except TimeoutError as exc:
            raise DashboardUnreachable(url, f"no answer within {budget:g}s", timed_out=True) from exc
        except httpx.TimeoutException as exc:
            raise DashboardUnreachable(url, f"timed out: {exc!r}", timed_out=True) from exc
        except httpx.TransportError as exc:
            raise DashboardUnreachable(url, f"cannot connect: {exc!r}") from exc
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            # InvalidURL is no HTTPError. The path is left out of the detail: it is what may be huge.
            detail = f"{method} request failed: {type(exc).__name__}: {str(exc)[:200]}"
            raise DashboardRequestFailed(url, detail) from exc
        return self._decode(url, method, path, response, expect_json)

    @staticmethod
    def _decode(url: str, method: str, path: str, response: httpx.Response, expect_json: bool = True) -> Any:
        text = response.text
        if response.status_code == 404:
            raise JobNotFound(url, f"{method} {path}: {text[:200] or 'not found'}")
        if response.status_code >= 400:
            cls = SubmissionIdTaken if _SUBMISSION_ID_TAKEN in text else DashboardServerError
            raise cls(url, f"{method} {path}: HTTP {response.status_code}: {text[:500]}",
                      status_code=response.status_code)
        if not expect_json:
            return text
        try:
            return json.loads(text)
        except ValueError as exc:
            raise DashboardServerError(
                url, f"{method} {path}: not JSON: {text[:200]!r}", status_code=response.status_code
            ) from exc

    @staticmethod
    def _parse(url: str, model: type[M], body: Any) -> M:
        try:
            return model.model_validate(body)
        except pydantic.ValidationError as exc:
            raise DashboardServerError(url, f"unexpected answer: {exc.errors()[:2]}", status_code=200) from exc
