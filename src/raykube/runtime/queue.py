"""A fair, stingy, rate-limited work queue with client-go semantics.

The contract (client-go ``util/workqueue/doc.go``), which the controller's correctness rests on:

* **Fair**: keys are processed in the order they were first added (FIFO).
* **Stingy**: a key added several times before a worker takes it is processed once (the *dirty* set).
* **Exclusive**: a key is never handed to two workers at once (the *processing* set).
* **Re-processed**: a key added while a worker holds it is parked in *dirty* and queued again
  when the worker calls :meth:`WorkQueue.done`.

Delays (:meth:`WorkQueue.add_after`) are timers on the injected clock; a key waiting on two timers
keeps only the earlier one, as client-go's delaying queue does. :class:`RateLimitingQueue` adds
``add_rate_limited`` / ``forget`` / ``num_requeues`` on top of a
:class:`~raykube.runtime.ratelimit.RateLimiter`.

Every method except :meth:`WorkQueue.get` is synchronous, so informer event handlers can enqueue
without awaiting. :meth:`WorkQueue.get` parks the worker on a future; ``add`` wakes one parked
worker.

Shutdown differs from client-go on purpose: after :meth:`WorkQueue.shut_down`, ``get`` raises
:class:`ShutDown` at once instead of draining what is queued. Everything queued is re-derived from
the cluster after a restart (reconciliation is level-based), and a fast handover matters more.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar

from raykube.runtime.clock import Clock, RealClock, TimerHandle
from raykube.runtime.ratelimit import RateLimiter, default_controller_rate_limiter

T = TypeVar("T", bound=Hashable)


class ShutDown(Exception):
    """Raised by :meth:`WorkQueue.get` once the queue is shut down."""


class QueueMetrics(Protocol):
    """Hooks a queue calls so metrics stay out of the queue logic (client-go ``queueMetrics``)."""

    def added(self, depth: int) -> None:
        """A key entered the queue; ``depth`` is the new number of queued keys."""
        ...

    def taken(self, depth: int, waited: float) -> None:
        """A worker took a key that had waited ``waited`` seconds."""
        ...

    def finished(self, worked: float) -> None:
        """A worker called ``done`` after holding the key ``worked`` seconds."""
        ...

    def retried(self) -> None:
        """A key was re-added through the rate limiter."""
        ...


class _NoMetrics:
    def added(self, depth: int) -> None:
        pass

    def taken(self, depth: int, waited: float) -> None:
        pass

    def finished(self, worked: float) -> None:
        pass

    def retried(self) -> None:
        pass


class WorkQueue(Generic[T]):
    """FIFO + dirty set + processing set, with delayed adds.

    Parameters:
        clock: time source for delays and metrics.
        metrics: optional :class:`QueueMetrics` hooks.
    """

    def __init__(self, *, clock: Clock | None = None, metrics: QueueMetrics | None = None) -> None:
        self._clock = clock or RealClock()
        self._metrics = metrics or _NoMetrics()
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._added_at: dict[T, float] = {}
        self._started_at: dict[T, float] = {}
        self._waiting: dict[T, tuple[float, TimerHandle]] = {}
        self._burst_start: dict[T, float] = {}  # keys whose pending timer is an add_debounced one
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False

    def __len__(self) -> int:
        """The queue depth: keys ready to be handed out (not those processing or waiting on a timer)."""
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    @property
    def processing(self) -> frozenset[T]:
        """Keys currently held by a worker."""
        return frozenset(self._processing)

    @property
    def waiting(self) -> int:
        """How many keys wait on an ``add_after`` timer."""
        return len(self._waiting)

    def add(self, item: T) -> None:
        """Queue ``item`` unless it is already queued; if a worker holds it, queue it again after ``done``."""
        if self._shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        if item in self._processing:
            return
        self._push(item)

    def add_after(self, item: T, delay: float) -> None:
        """Add ``item`` once ``delay`` seconds have passed; a pending earlier timer for it wins."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        ready_at = self._clock.monotonic() + delay
        pending = self._waiting.get(item)
        if pending is not None:
            if pending[0] <= ready_at:
                return
            pending[1].cancel()
        self._burst_start.pop(item, None)
        self._set_timer(item, ready_at, delay)

    def add_debounced(self, item: T, quiet: float, at_most: float) -> None:
        """Add ``item`` once ``quiet`` seconds passed without another call for it, and at the latest ``at_most``
        seconds after the first call of the burst: a lone event waits only ``quiet``, a burst of events costs one
        pass per ``at_most``. A pending ``add_after`` timer that is due sooner is kept."""
        if self._shutting_down:
            return
        now = self._clock.monotonic()
        pending = self._waiting.get(item)
        if pending is not None and item not in self._burst_start:
            if pending[0] <= now + quiet:
                return  # an add_after timer comes first: its pass sees this event too
            pending[1].cancel()
            pending = None
        first = self._burst_start.setdefault(item, now)
        ready_at = min(now + quiet, first + at_most)
        if pending is not None:
            if pending[0] >= ready_at:
                return  # the burst's deadline already holds the timer
            pending[1].cancel()
        self._set_timer(item, ready_at, ready_at - now)

    def _set_timer(self, item: T, ready_at: float, delay: float) -> None:
        handle = self._clock.call_later(delay, lambda: self._fire(item))
        self._waiting[item] = (ready_at, handle)

    async def get(self) -> T:
        """Wait for the next key and mark it processing; the caller must call :meth:`done` with it."""
        while not self._queue:
            if self._shutting_down:
                raise ShutDown
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # pass the wake-up on to another worker
                raise
        item = self._queue.popleft()
        self._dirty.discard(item)
        self._processing.add(item)
        now = self._clock.monotonic()
        self._started_at[item] = now
        self._metrics.taken(len(self._queue), now - self._added_at.pop(item, now))
        return item

    def done(self, item: T) -> None:
        """Release ``item``; if it was added while processing, it goes back to the end of the queue."""
        self._processing.discard(item)
        started = self._started_at.pop(item, None)
        if started is not None:
            self._metrics.finished(self._clock.monotonic() - started)
        if item in self._dirty and not self._shutting_down:
            self._push(item)

    def restart(self) -> None:
        """Accept keys again after :meth:`shut_down` (a new leadership term)."""
        self._shutting_down = False

    def shut_down(self) -> None:
        """Stop accepting keys, drop pending timers and wake every parked worker with :class:`ShutDown`."""
        self._shutting_down = True
        for _, handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()
        self._burst_start.clear()
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _fire(self, item: T) -> None:
        self._waiting.pop(item, None)
        self._burst_start.pop(item, None)
        self.add(item)

    def _push(self, item: T) -> None:
        self._queue.append(item)
        self._added_at[item] = self._clock.monotonic()
        self._metrics.added(len(self._queue))
        self._wake_one()

    def _wake_one(self) -> None:
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class RateLimitingQueue(WorkQueue[T]):
    """A :class:`WorkQueue` whose failed keys come back after a rate-limited delay.

    Parameters:
        rate_limiter: defaults to :func:`~raykube.runtime.ratelimit.default_controller_rate_limiter`.
        clock: time source.
        metrics: optional :class:`QueueMetrics` hooks.
    """

    def __init__(
        self,
        rate_limiter: RateLimiter | None = None,
        *,
        clock: Clock | None = None,
        metrics: QueueMetrics | None = None,
    ) -> None:
        super().__init__(clock=clock, metrics=metrics)
        self.rate_limiter = rate_limiter or default_controller_rate_limiter(clock=clock)

    def add_rate_limited(self, item: T) -> None:
        """Re-add ``item`` after the delay the rate limiter assigns to its next failure."""
        if self.shutting_down:
            return
        self._metrics.retried()
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """Reset ``item``'s backoff; call after it was processed successfully."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        """How many consecutive failures of ``item`` the rate limiter tracks."""
        return self.rate_limiter.num_requeues(item)
