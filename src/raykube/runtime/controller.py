"""Controllers: a rate-limited queue of keys, N workers, and controller-runtime's result semantics.

A reconciler is one async callable, ``reconcile(key) -> Result``; it receives an
:class:`~raykube.runtime.objects.ObjectKey`, never the event, and reads the state it needs
(reconciliation is level-based: a deleted Pod is noticed because it is missing, not because a
delete event arrived). What happens to the key afterwards lives in one function,
:meth:`Controller._reconcile_handler`, and copies controller-runtime's ``reconcileHandler``:

=============================  =========================================  ====================
reconcile outcome              queue                                      ``result`` label
=============================  =========================================  ====================
raises ``TerminalError``       nothing: logged, counted, never retried    ``error``
raises anything else           ``add_rate_limited`` (per-key backoff)     ``error``
``Result(requeue_after=d>0)``  ``forget``, then ``add_after(d)``          ``requeue_after``
``Result()`` / ``None``        ``forget``                                 ``success``
=============================  =========================================  ====================

(controller-runtime also ignores a RequeueAfter returned together with an error; in Python an
exception carries no result, so that case cannot arise.) There is deliberately no
``requeue=True``: return an explicit delay when waiting on something outside the cluster.

Wiring reads like the builder: ``Controller("raycluster", r.reconcile).for_(clusters,
GENERATION_CHANGED).owns(pods, owner_kind="RayCluster", owner_group="ray.io")``. ``for_``
enqueues the object's own key, ``owns`` only the key of the *controller* owner named in
``ownerReferences``, ``watches`` whatever a map function returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import httpx2

from raykube.runtime import logs
from raykube.runtime.clock import Clock, RealClock
from raykube.runtime.errors import ApiError, NotLeader
from raykube.runtime.informer import EventHandler, Informer
from raykube.runtime.metrics import RuntimeMetrics
from raykube.runtime.objects import Obj, ObjectKey, controller_ref, key_of
from raykube.runtime.predicates import Predicate
from raykube.runtime.queue import RateLimitingQueue, ShutDown
from raykube.runtime.ratelimit import RateLimiter, default_controller_rate_limiter


@dataclass(frozen=True)
class Result:
    """What a successful reconcile asks for: nothing, or another pass after ``requeue_after`` seconds."""

    requeue_after: float | None = None


class TerminalError(Exception):
    """A failure that retrying cannot fix (invalid spec...): logged and counted, the key is not re-added."""


ReconcileFn = Callable[[ObjectKey], Awaitable[Result | None]]
MapFn = Callable[[Obj], Iterable[ObjectKey]]


class Controller:
    """Feeds keys from informers through a rate-limited queue to ``workers`` concurrent reconciles.

    Parameters:
        name: controller name, used in metrics and logs (``raycluster``).
        reconcile: the reconciler.
        workers: concurrent reconciles (controller-runtime ``MaxConcurrentReconciles``, default 1).
        rate_limiter: failure backoff; defaults to client-go's controller rate limiter.
        clock: time source.
        metrics: where to count; a private registry when omitted.
        shutdown_timeout: how long ``run`` waits for in-flight reconciles after it is stopped.
    """

    def __init__(
        self,
        name: str,
        reconcile: ReconcileFn,
        *,
        workers: int = 1,
        rate_limiter: RateLimiter | None = None,
        clock: Clock | None = None,
        metrics: RuntimeMetrics | None = None,
        shutdown_timeout: float = 30.0,
    ) -> None:
        self.name = name
        self._reconcile = reconcile
        self.workers = workers
        self._clock = clock or RealClock()
        self.metrics = metrics or RuntimeMetrics()
        self.queue: RateLimitingQueue[ObjectKey] = RateLimitingQueue(
            rate_limiter or default_controller_rate_limiter(clock=self._clock),
            clock=self._clock,
            metrics=self.metrics.queue(name),
        )
        self.shutdown_timeout = shutdown_timeout
        self.informers: list[Informer] = []
        self._sources: list[tuple[Informer, Callable[[Obj], None]]] = []
        self._log = logs.get_logger("raykube.controller", controller=name)

    # -- wiring ----------------------------------------------------------------------------------

    def for_(self, informer: Informer, *predicates: Predicate) -> Controller:
        """Reconcile the objects of ``informer`` themselves."""
        return self.watches(informer, lambda obj: (key_of(obj),), *predicates)

    def owns(
        self, informer: Informer, *, owner_kind: str, owner_group: str, predicates: Iterable[Predicate] = (),
        batch: float = 0.0, quiet: float = 0.0, priority: int = 0,
    ) -> Controller:
        """Reconcile the controller owner (``kind`` in API group ``owner_group``) of ``informer``'s objects.

        ``batch`` > 0: an event enqueues its owner that many seconds later, and further events of the same
        owner within that window ride along (one pass, one status write, for a burst of pod updates). With
        ``quiet`` > 0 as well, the owner is enqueued as soon as its events pause for ``quiet`` seconds, and
        ``batch`` seconds after the burst began at the latest (`WorkQueue.add_debounced`). ``priority``: the
        queue lane of the owners enqueued this way (`WorkQueue`: higher first, no lane starves)."""

        def owner_key(obj: Obj) -> Iterable[ObjectKey]:
            ref = controller_ref(obj)
            if ref is None or ref.get("kind") != owner_kind:
                return ()
            if str(ref.get("apiVersion", "")).rpartition("/")[0] != owner_group:
                return ()
            return (ObjectKey(key_of(obj).namespace, str(ref.get("name", ""))),)

        return self.watches(informer, owner_key, *predicates, batch=batch, quiet=quiet, priority=priority)

    def _adder(self, batch: float, quiet: float, priority: int) -> Callable[[ObjectKey], None]:
        """How an event's key enters the queue: at once, or batched (see :meth:`owns`)."""
        if batch > 0 and quiet > 0:
            return lambda key: self.queue.add_debounced(key, quiet, batch, priority)
        if batch > 0:  # a pending timer for the key absorbs the event
            return lambda key: self.queue.add_after(key, batch, priority)
        return lambda key: self.queue.add(key, priority)

    def watches(self, informer: Informer, map_fn: MapFn, *predicates: Predicate, batch: float = 0.0,
                quiet: float = 0.0, priority: int = 0) -> Controller:
        """Reconcile the keys ``map_fn`` returns for each (filtered) event of ``informer`` (``batch``, ``quiet``,
        ``priority``: see :meth:`owns`)."""

        add = self._adder(batch, quiet, priority)

        def enqueue(obj: Obj) -> None:
            for key in map_fn(obj):
                add(key)

        def on_add(obj: Obj) -> None:
            if all(p.create(obj) for p in predicates):
                enqueue(obj)

        def on_update(old: Obj, new: Obj) -> None:
            if all(p.update(old, new) for p in predicates):
                enqueue(new)
                if set(map_fn(old)) != set(map_fn(new)):  # e.g. the controller owner changed
                    enqueue(old)

        def on_delete(obj: Obj) -> None:
            if all(p.delete(obj) for p in predicates):
                enqueue(obj)

        informer.add_handler(EventHandler(on_add, on_update, on_delete))
        self._sources.append((informer, enqueue))
        if informer not in self.informers:
            self.informers.append(informer)
        return self

    # -- running ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Run the workers until :meth:`stop` or cancellation, then let in-flight reconciles finish."""
        self.metrics.max_concurrent.labels(self.name).set(self.workers)
        self._log.info("Starting workers", workers=self.workers)
        tasks = [asyncio.create_task(self._worker(), name=f"{self.name}-worker-{i}") for i in range(self.workers)]
        try:
            await asyncio.wait(tasks)
        finally:
            self.queue.shut_down()
            _, pending = await asyncio.wait(tasks, timeout=self.shutdown_timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._log.info("All workers finished")

    def restart(self) -> None:
        """Before a (new) run: accept keys again and enqueue every cached object (a full resync)."""
        self.queue.restart()
        for informer, enqueue in self._sources:
            for obj in informer.store.list():
                enqueue(obj)

    def stop(self) -> None:
        """Stop handing out keys; :meth:`run` returns once in-flight reconciles are done."""
        self.queue.shut_down()

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                await self._reconcile_handler(key)
            finally:
                self.queue.done(key)

    async def process_next(self) -> None:
        """Take one key and reconcile it (what a worker does once; for tests)."""
        key = await self.queue.get()
        try:
            await self._reconcile_handler(key)
        finally:
            self.queue.done(key)

    async def _reconcile_handler(self, key: ObjectKey) -> None:
        log = self._log.bind(key=str(key))
        active = self.metrics.active_workers.labels(self.name)
        active.inc()
        started = self._clock.monotonic()
        outcome = "error"
        try:
            result = await self._reconcile(key) or Result()
        except asyncio.CancelledError:
            raise
        except TerminalError as exc:
            self.metrics.terminal_errors.labels(self.name).inc()
            self.metrics.reconcile_errors.labels(self.name).inc()
            log.error("Reconciler error (terminal, not retried)", error=str(exc), exc_info=exc)
        except Exception as exc:
            self.queue.add_rate_limited(key)
            self.metrics.reconcile_errors.labels(self.name).inc()
            # An API answer, a refused (fenced) write or a connection failure is one line; only a bug gets a traceback.
            expected = isinstance(exc, ApiError | NotLeader | httpx2.TransportError | OSError)
            log.error(
                "Reconciler error",
                error=f"{type(exc).__name__}: {exc}",
                requeues=self.queue.num_requeues(key),
                exc_info=None if expected else exc,
            )
        else:
            self.queue.forget(key)
            if result.requeue_after is not None and result.requeue_after > 0:
                self.queue.add_after(key, result.requeue_after)
                outcome = "requeue_after"
            else:
                outcome = "success"
            log.debug("Reconcile done", result=outcome, requeue_after=result.requeue_after)
        finally:
            active.dec()
            self.metrics.reconcile_time.labels(self.name).observe(self._clock.monotonic() - started)
        self.metrics.reconcile_total.labels(self.name, outcome).inc()
