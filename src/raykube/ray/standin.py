"""A stand-in Ray dashboard: the Jobs API over real HTTP on loopback, with scripted answers.

Tests, benchmarks and local development on fake nodes have no Ray behind a RayCluster, yet the RayJob
state machine needs exact dashboard answers. :class:`StandInDashboard` serves them: plain asyncio, HTTP/1.1
with keep-alive, no framework. Each job follows a :class:`JobScript` chosen by the longest matching
submission-id prefix (RayJob submission ids are ``<rayjob>-<suffix>``, so a prefix names one RayJob):

* a job exists once it is submitted (``POST /api/jobs/``) or, with ``auto_create`` (the default), as soon
  as it is first asked about — what a K8sJobMode submitter pod would have done, had it run;
* it is ``PENDING`` for ``pending_for`` seconds, ``RUNNING`` for ``run_for`` more (``None``: until
  stopped), then ``final`` with ``message``;
* ``latency`` delays every answer about it, ``hang`` never answers (the caller's timeout must fire), and
  ``status_code`` answers every call about it with that HTTP error.

Routes: ``GET /api/jobs/``, ``GET /api/jobs/<id>``, ``POST /api/jobs/``, ``POST /api/jobs/<id>/stop``,
``GET /api/jobs/<id>/logs``, ``DELETE /api/jobs/<id>``, ``GET|PUT /api/packages/<protocol>/<name>``,
``GET /api/version``, ``GET /api/gcs_healthz``, and Ray Serve's ``PUT|GET /api/serve/applications/`` and
``GET /-/healthz`` (:mod:`raykube.ray.standin_serve`, scripted per cluster through :attr:`StandInDashboard.serve`).
Every request is recorded in :attr:`StandInDashboard.calls`.

Run it alone with ``python -m raykube.ray.standin --port 8265``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from raykube.ray.models import RayJobState
from raykube.ray.standin_serve import HANG, ServeInstances

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error",
            503: "Service Unavailable"}


@dataclass(frozen=True)
class JobScript:
    """How one job behaves (see the module docstring)."""

    auto_create: bool = True
    pending_for: float = 0.0
    run_for: float | None = 1.0
    final: RayJobState = RayJobState.SUCCEEDED
    message: str = ""
    latency: float = 0.0
    hang: bool = False
    status_code: int | None = None
    logs: str = "hello from the stand-in dashboard\n"


@dataclass
class StandInJob:
    """One job the stand-in knows."""

    submission_id: str
    entrypoint: str
    created: float
    script: JobScript
    submitted: bool
    request: dict[str, Any] = field(default_factory=dict)
    forced: tuple[RayJobState, str] | None = None

    def state(self, now: float) -> tuple[RayJobState, str]:
        if self.forced is not None:
            return self.forced
        age = now - self.created
        if age < self.script.pending_for:
            return RayJobState.PENDING, "Job has not started yet."
        if self.script.run_for is None or age < self.script.pending_for + self.script.run_for:
            return RayJobState.RUNNING, "Job is currently running."
        return self.script.final, self.script.message or _final_message(self.script.final)


def _final_message(state: RayJobState) -> str:
    return {RayJobState.SUCCEEDED: "Job finished successfully.", RayJobState.FAILED: "Job entrypoint command failed.",
            RayJobState.STOPPED: "Job was intentionally stopped."}.get(state, "")


class StandInDashboard:
    """The stand-in server.

    Parameters:
        default: the script of jobs no prefix matches.
        clock: seconds on a monotonic clock (jobs age by it).
        epoch_ms: wall-clock milliseconds, for ``start_time``/``end_time``.
    """

    def __init__(
        self,
        default: JobScript | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        epoch_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.default = default or JobScript()
        self._scripts: dict[str, JobScript] = {}
        self._clock = clock
        self._epoch_ms = epoch_ms
        self.jobs: dict[str, StandInJob] = {}
        self.calls: list[tuple[str, str]] = []
        self.packages: dict[str, bytes] = {}
        self.serve = ServeInstances(clock)
        self.hosts: list[tuple[str, str, str]] = []
        self._server: asyncio.Server | None = None
        self._closing: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.url = ""

    # -- scripting ---------------------------------------------------------------------------------

    def script(self, prefix: str, script: JobScript) -> None:
        """Jobs whose submission id starts with ``prefix`` follow ``script`` (longest prefix wins)."""
        self._scripts[prefix] = script
        for job in self.jobs.values():
            if self._script_for(job.submission_id) is script:
                job.script = script

    def force(self, submission_id: str, state: RayJobState, message: str = "") -> None:
        """Pin a known job to ``state`` from now on."""
        self.jobs[submission_id].forced = (state, message or _final_message(state))

    def _script_for(self, submission_id: str) -> JobScript:
        matches = [p for p in self._scripts if submission_id.startswith(p)]
        return self._scripts[max(matches, key=len)] if matches else self.default

    def calls_for(self, submission_id: str) -> list[tuple[str, str]]:
        return [c for c in self.calls if submission_id in c[1]]

    # -- serving -----------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0: any free port); the base URL."""
        self._closing = asyncio.Event()
        self._server = await asyncio.start_server(self._serve, host, port)
        bound = self._server.sockets[0].getsockname()
        self.url = f"http://{bound[0]}:{bound[1]}"
        return self.url

    async def close(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    def start_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve from a thread of its own (for synchronous tests); the base URL."""
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self.start(host, port))
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.close())
            loop.close()

        self._thread = threading.Thread(target=run, name="standin-dashboard", daemon=True)
        self._thread.start()
        started.wait(10)
        return self.url

    def stop_thread(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                method, path, body, keep_alive, host = request
                self.calls.append((method, path))
                self.hosts.append((method, path, host))
                answer = await self._answer(method, path, body, host)
                if answer is None:  # hang: hold the connection until the client gives up
                    return
                status, payload = answer
                _write_response(writer, status, payload, keep_alive)
                await writer.drain()
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    async def _answer(self, method: str, path: str, body: bytes, host: str = "") -> tuple[int, Any] | None:
        route = path.split("?", 1)[0].rstrip("/")
        serve = self.serve.answer(method, route, host, body)
        if serve is HANG:
            assert self._closing is not None
            await self._closing.wait()
            return None
        if serve is not None:
            return serve
        parts = route.split("/")  # "", "api", "jobs", <id>, <verb>
        if route == "/api/version":
            return 200, {"version": "standin", "ray_version": "2.60.0", "ray_commit": "standin"}
        if route == "/api/gcs_healthz":
            return 200, "success"
        if route.startswith("/api/packages/"):
            return self._package(method, route, body)
        if parts[:3] != ["", "api", "jobs"]:
            return 404, "not found"
        if len(parts) == 3:
            return await self._jobs(method, body)
        submission_id = parts[3]
        script = self.jobs[submission_id].script if submission_id in self.jobs else self._script_for(submission_id)
        if not await self._delay(script):
            return None
        if script.status_code is not None:
            return script.status_code, f"scripted error {script.status_code}"
        job = self._lookup(submission_id, script)
        if job is None:
            return 404, f"Job {submission_id} does not exist"
        verb = parts[4] if len(parts) > 4 else ""
        return self._job_route(method, verb, job)

    async def _jobs(self, method: str, body: bytes) -> tuple[int, Any] | None:
        """``/api/jobs``: list the jobs, or submit one."""
        if method == "GET":
            return 200, [self._details(j) for j in self.jobs.values()]
        if method == "POST":
            return await self._submit(body)
        return 405, "method not allowed"

    def _package(self, method: str, route: str, body: bytes) -> tuple[int, Any]:
        name = route.removeprefix("/api/packages/")
        if method == "PUT":
            self.packages[name] = body
            return 200, {"result": True}
        if method == "GET":
            return (200, {"result": True}) if name in self.packages else (404, f"package {name} not found")
        return 405, "method not allowed"

    def _job_route(self, method: str, verb: str, job: StandInJob) -> tuple[int, Any]:
        if method == "GET" and verb == "":
            return 200, self._details(job)
        if method == "GET" and verb == "logs":
            return 200, {"logs": job.script.logs}
        if method == "POST" and verb == "stop":
            state, _ = job.state(self._clock())
            if state.is_terminal:
                return 200, {"stopped": False}
            job.forced = (RayJobState.STOPPED, _final_message(RayJobState.STOPPED))
            return 200, {"stopped": True}
        if method == "DELETE" and verb == "":
            del self.jobs[job.submission_id]
            return 200, {"deleted": True}
        return 405, "method not allowed"

    async def _submit(self, body: bytes) -> tuple[int, Any] | None:
        try:
            request = json.loads(body or b"{}")
            entrypoint = str(request["entrypoint"])
        except (ValueError, KeyError):
            return 400, "entrypoint is required"
        submission_id = str(request.get("submission_id") or f"raysubmit_{len(self.jobs):08d}")
        script = self._script_for(submission_id)
        if not await self._delay(script):
            return None
        if script.status_code is not None:
            return script.status_code, f"scripted error {script.status_code}"
        if submission_id in self.jobs:
            return 500, (f"Job with submission_id {submission_id} already exists. "
                         "Please use a different submission_id.")
        self.jobs[submission_id] = StandInJob(submission_id, entrypoint, self._clock(), script, True, request)
        return 200, {"job_id": submission_id, "submission_id": submission_id}

    def _lookup(self, submission_id: str, script: JobScript) -> StandInJob | None:
        job = self.jobs.get(submission_id)
        if job is None and script.auto_create:
            job = StandInJob(submission_id, "(submitted elsewhere)", self._clock(), script, False)
            self.jobs[submission_id] = job
        return job

    async def _delay(self, script: JobScript) -> bool:
        """Wait out the script's latency; False when the script hangs (or the server closes)."""
        assert self._closing is not None
        if script.hang:
            await self._closing.wait()
            return False
        if script.latency > 0:
            try:
                await asyncio.wait_for(self._closing.wait(), script.latency)
                return False
            except TimeoutError:
                pass
        return True

    def _details(self, job: StandInJob) -> dict[str, Any]:
        now = self._clock()
        state, message = job.state(now)
        started = self._epoch_ms() - int((now - job.created) * 1000)
        details: dict[str, Any] = {
            "type": "SUBMISSION",
            "job_id": job.submission_id,
            "submission_id": job.submission_id,
            "status": state.value,
            "entrypoint": job.entrypoint,
            "message": message,
            "start_time": started,
            "end_time": self._epoch_ms() if state.is_terminal else None,
            "metadata": job.request.get("metadata") or {},
            "runtime_env": job.request.get("runtime_env") or {},
        }
        if state is RayJobState.FAILED:
            details["driver_exit_code"] = 1
        return details


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes, bool, str] | None:
    line = await reader.readline()
    if not line:
        return None
    try:
        method, path, version = line.decode("latin-1").split()
    except ValueError:
        return None
    headers: dict[str, str] = {}
    while True:
        header = await reader.readline()
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    body = await reader.readexactly(length) if length else b""
    keep_alive = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
    return method, path, body, keep_alive, headers.get("host", "")


def _write_response(writer: asyncio.StreamWriter, status: int, payload: Any, keep_alive: bool) -> None:
    if isinstance(payload, str):
        data, content_type = payload.encode(), "text/plain"
    else:
        data, content_type = json.dumps(payload).encode(), "application/json"
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(data)}\r\nConnection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    writer.write(head.encode() + data)


def with_script(base: JobScript, **changes: Any) -> JobScript:
    """A copy of ``base`` with ``changes`` (a convenience for tests)."""
    return replace(base, **changes)


def main() -> None:
    parser = argparse.ArgumentParser(description="A stand-in Ray dashboard (Jobs API) for development.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8265)
    parser.add_argument("--run-for", type=float, default=5.0, help="seconds each job runs")
    parser.add_argument("--final", default="SUCCEEDED", choices=[s.value for s in RayJobState if s.is_terminal])
    args = parser.parse_args()

    async def serve() -> None:
        standin = StandInDashboard(JobScript(run_for=args.run_for, final=RayJobState(args.final)))
        print(f"stand-in dashboard at {await standin.start(args.host, args.port)}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
