"""Injectable time for the controller runtime.

Every piece of the runtime that waits or stamps a time takes a :class:`Clock` instead of calling
:mod:`time` or :func:`asyncio.sleep` directly (house habit 8; JobSet injects ``clock.Clock`` into its
reconciler for the same reason). The protocol has four parts:

* ``monotonic()`` for measuring intervals (queue delays, lease expiry, expectation timeouts);
* ``now()`` for wall-clock timestamps written to the API (Lease ``renewTime``, Event ``eventTime``);
* ``sleep(seconds)`` for loops that wait (informer backoff, leader retry);
* ``call_later(seconds, callback)`` for timers that must not need a task of their own (the work
  queue's ``add_after``).

:class:`FakeClock` implements the same protocol over a virtual time line that only moves when a test
calls :meth:`FakeClock.advance`, so timing tests run instantly and deterministically, in the spirit
of client-go's ``clock/testing.FakeClock``. It lives next to the real clock (not under ``tests/``) so
that every package's unit tests can share it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol


class TimerHandle(Protocol):
    """A scheduled callback that can still be cancelled."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """The time source used by every runtime component."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards; only differences are meaningful."""
        ...

    def now(self) -> datetime:
        """The current wall-clock time, timezone-aware, in UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait for ``seconds`` (returns at once when ``seconds <= 0``)."""
        ...

    def call_later(self, seconds: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` once after ``seconds``, on the running event loop."""
        ...


class RealClock:
    """The production clock: :func:`time.monotonic`, UTC wall time and the running event loop."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))

    def call_later(self, seconds: float, callback: Callable[[], None]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(max(seconds, 0.0), callback)


class _FakeTimer:
    """One pending callback on a :class:`FakeClock`."""

    def __init__(self, deadline: float, callback: Callable[[], None]) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A virtual clock for tests: time stands still until :meth:`advance` moves it.

    Parameters:
        start: the initial wall-clock time (``now()``); the monotonic reading starts at 0.
        auto_advance: make ``sleep`` move time forward by itself instead of waiting for
            :meth:`advance` (for code under test that only sleeps between retries).
    """

    def __init__(self, start: datetime | None = None, *, auto_advance: bool = False) -> None:
        self._start = start or datetime(2026, 1, 1, tzinfo=UTC)
        self.auto_advance = auto_advance
        self._elapsed = 0.0
        self._timers: list[tuple[float, int, _FakeTimer]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self._elapsed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0 or self.auto_advance:
            self.advance(max(seconds, 0.0))
            await asyncio.sleep(0)
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not done.done():
                done.set_result(None)

        timer = self.call_later(seconds, wake)
        try:
            await done
        finally:
            timer.cancel()

    def call_later(self, seconds: float, callback: Callable[[], None]) -> TimerHandle:
        timer = _FakeTimer(self._elapsed + max(seconds, 0.0), callback)
        heapq.heappush(self._timers, (timer.deadline, next(self._seq), timer))
        return timer

    @property
    def pending_timers(self) -> int:
        """How many callbacks and sleepers are waiting (lets a test check a task is parked)."""
        return sum(1 for _, _, timer in self._timers if not timer.cancelled)

    def advance(self, seconds: float) -> None:
        """Move time forward and fire, in deadline order, every timer that has come due.

        Woken sleepers resume only when the test next yields to the event loop
        (for example with ``await asyncio.sleep(0)``).
        """
        target = self._elapsed + seconds
        while self._timers and self._timers[0][0] <= target:
            deadline, _, timer = heapq.heappop(self._timers)
            self._elapsed = max(self._elapsed, deadline)
            if not timer.cancelled:
                timer.callback()
        self._elapsed = target


def stamp(moment: datetime) -> str:
    """A ``metav1.Time`` string: RFC 3339, whole seconds, UTC (status timestamps such as ``startTime``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any) -> datetime | None:
    """A ``metav1.Time`` string back as an aware datetime (``None`` when missing or unreadable)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def micro_time(moment: datetime) -> str:
    """Format a UTC time as a ``metav1.MicroTime`` string (``2026-01-01T00:00:00.000000Z``)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
