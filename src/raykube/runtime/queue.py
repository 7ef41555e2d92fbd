"""A fair, stingy, rate-limited work queue with client-go semantics.

The contract (client-go ``util/workqueue/doc.go``), which the controller's correctness rests on:

* **Fair**: keys are processed in the order they were first added (FIFO), within a priority (below).
* **Stingy**: a key added several times before a worker takes it is processed once (the *dirty* set).
* **Exclusive**: a key is never handed to two workers at once (the *processing* set).
* **Re-processed**: a key added while a worker holds it is parked in *dirty* and queued again
  when the worker calls :meth:`WorkQueue.done`.

Delays (:meth:`WorkQueue.add_after`) are timers on the injected clock; a key waiting on two timers
keeps only the earlier one, as client-go's delaying queue does. :class:`RateLimitingQueue` adds
``add_rate_limited`` / ``forget`` / ``num_requeues`` on top of a
:class:`~raykube.runtime.ratelimit.RateLimiter`.

Priorities (as controller-runtime's priority queue): ``add(key, priority=p)`` queues the key in lane ``p``;
higher lanes are served first, and a queued key added again with a higher priority moves up. Unlike a strict
priority queue, no lane starves: while a lower lane waits, every ``fair_every``-th key handed out is the one that
has waited longest, whatever its lane. raykube puts the passes its own pods' events ask for (a cluster that is
under way) ahead of brand-new clusters, so that 1,000 clusters created at once do not leave the first ones
waiting behind every other's first pass before their `ready` is written (docs/benchmarks.md).

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
        fair_every: while keys of a lower priority wait, every ``fair_every``-th key handed out is the one that
            has waited longest (see the module's docstring).
    """

    def __init__(self, *, clock: Clock | None = None, metrics: QueueMetrics | None = None,
                 fair_every: int = 4) -> None:
        self._clock = clock or RealClock()
        self._metrics = metrics or _NoMetrics()
        self.fair_every = max(1, fair_every)
        # One FIFO per priority. A key that moves up leaves a stale entry behind: an entry counts only while
        # its ticket is the key's current one (no O(n) removal from the middle of a deque).
        self._lanes: dict[int, deque[tuple[T, int]]] = {}
        self._ticket: dict[T, int] = {}
        self._priority: dict[T, int] = {}
        self._tickets = 0
        self._favoured = 0  # keys handed out in a row from the top lane while a lower one waited
        self._after_done: dict[T, int] = {}  # priority of a key re-added while a worker held it
        self._timer_priority: dict[T, int] = {}
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
        return len(self._ticket)

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

    def add(self, item: T, priority: int = 0) -> None:
        """Queue ``item`` unless it is already queued (then it only moves up to ``priority`` if that is higher);
        if a worker holds it, queue it again after ``done``."""
        if self._shutting_down:
            return
        if item in self._dirty:
            if item in self._processing:
                self._after_done[item] = max(priority, self._after_done.get(item, priority))
            elif priority > self._priority.get(item, priority):
                self._enter_lane(item, priority)  # moves up; its place in the lower lane goes stale
            return
        self._dirty.add(item)
        if item in self._processing:
            self._after_done[item] = priority
            return
        self._push(item, priority)

    def add_after(self, item: T, delay: float, priority: int = 0) -> None:
        """Add ``item`` (at ``priority``) once ``delay`` seconds have passed; a pending earlier timer for it wins
        (and takes the higher of the two priorities)."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item, priority)
            return
        ready_at = self._clock.monotonic() + delay
        pending = self._waiting.get(item)
        if pending is not None:
            if pending[0] <= ready_at:
                self._raise_timer(item, priority)
                return
            pending[1].cancel()
        self._burst_start.pop(item, None)
        self._set_timer(item, ready_at, delay, priority)

    def add_debounced(self, item: T, quiet: float, at_most: float, priority: int = 0) -> None:
        """Add ``item`` once ``quiet`` seconds passed without another call for it, and at the latest ``at_most``
        seconds after the first call of the burst: a lone event waits only ``quiet``, a burst of events costs one
        pass per ``at_most``. A pending ``add_after`` timer that is due sooner is kept."""
        if self._shutting_down:
            return
        now = self._clock.monotonic()
        pending = self._waiting.get(item)
        if pending is not None and item not in self._burst_start:
            if pending[0] <= now + quiet:
                self._raise_timer(item, priority)
                return  # an add_after timer comes first: its pass sees this event too
            pending[1].cancel()
            pending = None
        first = self._burst_start.setdefault(item, now)
        ready_at = min(now + quiet, first + at_most)
        if pending is not None:
            if pending[0] >= ready_at:
                self._raise_timer(item, priority)
                return  # the burst's deadline already holds the timer
            pending[1].cancel()
        self._set_timer(item, ready_at, ready_at - now, priority)

    def _set_timer(self, item: T, ready_at: float, delay: float, priority: int) -> None:
        handle = self._clock.call_later(delay, lambda: self._fire(item))
        self._waiting[item] = (ready_at, handle)
        self._raise_timer(item, priority)

    def _raise_timer(self, item: T, priority: int) -> None:
        self._timer_priority[item] = max(priority, self._timer_priority.get(item, priority))

    async def get(self) -> T:
        """Wait for the next key and mark it processing; the caller must call :meth:`done` with it."""
        while not self._ticket:
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
        item = self._pop()
        self._dirty.discard(item)
        self._processing.add(item)
        now = self._clock.monotonic()
        self._started_at[item] = now
        self._metrics.taken(len(self._ticket), now - self._added_at.pop(item, now))
        return item

    def _head(self, priority: int) -> T | None:
        """The first live key of lane ``priority`` (stale entries before it dropped), or None."""
        lane = self._lanes[priority]
        while lane:
            item, ticket = lane[0]
            if self._ticket.get(item) == ticket:
                return item
            lane.popleft()
        return None

    def _pop(self) -> T:
        """The next key: the top lane's first, except that every ``fair_every``-th take while a lower lane
        waits goes to the key that has waited longest. Only called while a key is queued."""
        heads = [(p, h) for p in sorted(self._lanes, reverse=True) if (h := self._head(p)) is not None]
        if len(heads) > 1 and self._favoured >= self.fair_every - 1:
            priority, item = min(heads, key=lambda ph: self._added_at.get(ph[1], 0.0))
            self._favoured = 0
        else:
            priority, item = heads[0]
            self._favoured = self._favoured + 1 if len(heads) > 1 else 0
        self._lanes[priority].popleft()
        del self._ticket[item]
        del self._priority[item]
        return item

    def done(self, item: T) -> None:
        """Release ``item``; if it was added while processing, it goes back to the end of the queue."""
        self._processing.discard(item)
        started = self._started_at.pop(item, None)
        if started is not None:
            self._metrics.finished(self._clock.monotonic() - started)
        priority = self._after_done.pop(item, 0)
        if item in self._dirty and not self._shutting_down:
            self._push(item, priority)

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
        self._timer_priority.clear()
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _fire(self, item: T) -> None:
        self._waiting.pop(item, None)
        self._burst_start.pop(item, None)
        self.add(item, self._timer_priority.pop(item, 0))

    def _push(self, item: T, priority: int) -> None:
        self._enter_lane(item, priority)
        self._added_at[item] = self._clock.monotonic()
        self._metrics.added(len(self._ticket))
        self._wake_one()

    def _enter_lane(self, item: T, priority: int) -> None:
        self._tickets += 1
        self._lanes.setdefault(priority, deque()).append((item, self._tickets))
        self._ticket[item] = self._tickets
        self._priority[item] = priority

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
