"""Dashboard calls as background tasks: a slow or dead dashboard never holds a reconcile worker.

KubeRay calls the dashboard inside the reconcile (a GET every 3 s per running RayJob, 2 s timeout each), so
one dead dashboard stalls every other object queued behind it (kuberay#2646). Here a reconcile never waits
on HTTP. It *asks* (:meth:`DashboardProbes.poll`, :meth:`~DashboardProbes.submit`,
:meth:`~DashboardProbes.stop`) and *reads* (:meth:`~DashboardProbes.view`), both instant:

* an ask starts at most one task per RayJob and kind of call; the task waits for one of
  ``concurrency`` slots shared by all RayJobs, makes the call (bounded by the client's timeout), stores
  the answer and re-enqueues the RayJob key when the answer is news (a first answer, a different job
  state, a new kind of error; every submit and stop answer);
* answers are kept per RayJob for one :class:`Target` (dashboard address, submission id, cluster); a new
  target (a retry on a fresh cluster) drops the old answers and cancels their calls, so a state function
  can never mistake the last attempt's FAILED for this one's;
* :meth:`~DashboardProbes.forget` drops everything about a RayJob (deleted, finished, reset).

The state functions see a frozen :class:`Probe`: the latest answer of each kind and since when a call
has been pending, so "the dashboard has not answered for 300 s" is a fact they can compute from the clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Unpack

from raykube.controllers.probes import BackgroundProbes, ProbeOptions
from raykube.controllers.rayjob.probe import Answer, Probe, Target
from raykube.ray.client import DashboardClient
from raykube.ray.errors import DashboardError
from raykube.ray.models import JobSubmitRequest
from raykube.runtime import logs
from raykube.runtime.objects import ObjectKey

__all__ = ["Answer", "DashboardProbes", "Probe", "Target"]

_log = logs.get_logger("raykube.rayjob.dashboard")


@dataclass
class _Call:
    answer: Answer | None = None
    task: asyncio.Task[None] | None = None
    started: dt.datetime | None = None

    @property
    def pending(self) -> bool:
        return self.task is not None and not self.task.done()


@dataclass
class _Slot:
    target: Target
    calls: dict[str, _Call] = field(default_factory=lambda: {"info": _Call(), "submit": _Call(), "stop": _Call()})

    def cancel(self) -> None:
        for call in self.calls.values():
            if call.pending and call.task is not None:
                call.task.cancel()


class DashboardProbes(BackgroundProbes[DashboardClient]):
    """Background dashboard calls and their latest answers, per RayJob.

    Parameters:
        client: the shared dashboard client (its timeout bounds every call).
        clock: stamps answers and pending calls.
        concurrency: calls in flight at once, across all RayJobs.
        on_answer: called with the RayJob key when an answer is news (wired to the controller's queue).
    """

    def __init__(self, client: DashboardClient, **options: Unpack[ProbeOptions]) -> None:
        super().__init__(client, **options)
        self._slots: dict[ObjectKey, _Slot] = {}

    # -- reading -----------------------------------------------------------------------------------

    def view(self, key: ObjectKey, target: Target) -> Probe:
        """The latest answers about ``target`` (empty when the RayJob's known target is another one)."""
        slot = self._slots.get(key)
        if slot is None or slot.target != target:
            return Probe.EMPTY
        info, submit, stop = slot.calls["info"], slot.calls["submit"], slot.calls["stop"]
        return Probe(
            info=info.answer,
            info_pending_since=info.started if info.pending else None,
            submit=submit.answer,
            submit_pending=submit.pending,
            stop=stop.answer,
            stop_pending_since=stop.started if stop.pending else None,
        )

    @property
    def in_flight(self) -> int:
        return sum(1 for slot in self._slots.values() for call in slot.calls.values() if call.pending)

    # -- asking ------------------------------------------------------------------------------------

    def poll(self, key: ObjectKey, target: Target, *, max_age: float) -> None:
        """Fetch the job's details unless a call is pending or the last one started less than ``max_age`` ago.

        Age counts from when the last call *started*, with 10 % slack for timers that fire a little early,
        so a RayJob requeued every ``max_age`` seconds is polled every ``max_age`` seconds (not every
        second requeue) however long the dashboard takes to answer. A submission newer than the last
        answer makes the details stale at once.
        """
        slot = self._slot(key, target)
        call, submit = slot.calls["info"], slot.calls["submit"]
        if call.pending:
            return
        fresh = call.answer is not None and call.started is not None and (
            (self._clock.now() - call.started).total_seconds() < 0.9 * max_age
        )
        submitted_since = submit.answer is not None and call.answer is not None and submit.answer.at > call.answer.at
        if fresh and not submitted_since:
            return
        self._start(key, target, "info", self._fetch(target))

    def submit(self, key: ObjectKey, target: Target, request: JobSubmitRequest) -> None:
        """Submit the job (HTTPMode) unless a submission is already under way."""
        if not self._slot(key, target).calls["submit"].pending:
            self._start(key, target, "submit", self._submit(target, request))

    def stop(self, key: ObjectKey, target: Target) -> None:
        """Ask Ray to stop the job (the RayJob is being deleted) unless a stop is under way."""
        if not self._slot(key, target).calls["stop"].pending:
            self._start(key, target, "stop", self._stop(target))

    def forget(self, key: ObjectKey) -> None:
        """Drop every answer about the RayJob and cancel its calls."""
        slot = self._slots.pop(key, None)
        if slot is not None:
            slot.cancel()

    async def close(self) -> None:
        """Cancel every call in flight (operator shutdown)."""
        tasks = [c.task for s in self._slots.values() for c in s.calls.values() if c.pending and c.task]
        for slot in self._slots.values():
            slot.cancel()
        self._slots.clear()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- plumbing ----------------------------------------------------------------------------------

    def _slot(self, key: ObjectKey, target: Target) -> _Slot:
        slot = self._slots.get(key)
        if slot is None or slot.target != target:
            if slot is not None:
                slot.cancel()
            slot = _Slot(target)
            self._slots[key] = slot
        return slot

    def _start(self, key: ObjectKey, target: Target, kind: str, call: Coroutine[Any, Any, Answer]) -> None:
        slot = self._slots[key]
        state = slot.calls[kind]
        state.started = self._clock.now()
        state.task = asyncio.create_task(self._run(key, slot, kind, call), name=f"dashboard-{kind}-{key}")

    async def _run(self, key: ObjectKey, slot: _Slot, kind: str, call: Coroutine[Any, Any, Answer]) -> None:
        try:
            answer = await self._bounded(call)
        except Exception as exc:  # a bug (the client types every httpx failure): count it as a failed call
            _log.error("Dashboard call crashed", key=str(key), kind=kind, exc_info=exc)
            answer = Answer(slot.target, self._clock.now(), error=DashboardError(slot.target.address, repr(exc)))
        if self._slots.get(key) is not slot:
            return  # forgotten or retargeted meanwhile
        previous = slot.calls[kind].answer
        slot.calls[kind].answer = answer
        if kind != "info" or answer.news_after(previous):
            self._wake(key)

    async def _fetch(self, target: Target) -> Answer:
        try:
            details = await self._client.get_job(target.address, target.job_id)
        except DashboardError as err:
            return Answer(target, self._clock.now(), error=err)
        return Answer(target, self._clock.now(), details=details)

    async def _submit(self, target: Target, request: JobSubmitRequest) -> Answer:
        try:
            await self._client.submit_job(target.address, request)
        except DashboardError as err:
            return Answer(target, self._clock.now(), error=err)
        return Answer(target, self._clock.now())

    async def _stop(self, target: Target) -> Answer:
        try:
            await self._client.stop_job(target.address, target.job_id)
        except DashboardError as err:
            return Answer(target, self._clock.now(), error=err)
        return Answer(target, self._clock.now())
