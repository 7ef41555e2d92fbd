"""The manager: start caches, wait for them, then (as leader) run controllers; stop cleanly.

Start-up follows controller-runtime's ``pkg/manager/internal.go``:

1. every informer starts listing and watching at once, leader or not, so a replica that later
   wins the election begins with warm caches;
2. the manager waits until every informer has synced (``cache_sync_timeout``, 2 minutes by
   default, then :class:`CacheSyncTimeout`), because a controller reading a half-filled cache
   would see missing children and create them again;
3. controllers and leader-only runnables (the event recorder's flusher, for instance) start, under
   the :class:`~raykube.runtime.leader.LeaderElector` when one is configured.

Shutdown (:meth:`Manager.stop`, or cancelling :meth:`Manager.run`) runs in reverse: controllers
stop taking keys and finish in-flight reconciles, the lease is released so a successor takes over
within a retry period, then the informers stop.

Losing the lease (a renewal failing for the renew deadline: an API server outage, a frozen process) stops
the controllers at once, and the manager goes back to being a candidate with its caches still running: when
it wins the lease again, every controller starts over from a full resync. controller-runtime exits the
process instead; staying up means an outage costs one log line, not a restart with a traceback. Writes are
fenced meanwhile (:class:`~raykube.runtime.client.WriteFence`): none is sent without a fresh lease.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from raykube.runtime import logs
from raykube.runtime.controller import Controller
from raykube.runtime.informer import Informer, WatchSource
from raykube.runtime.kinds import KindLike, ResourceKind
from raykube.runtime.leader import LeaderElector, LeadershipLost
from raykube.runtime.store import IndexFunc, Transform

_log = logs.get_logger("raykube.manager")
Runnable = Callable[[], Coroutine[Any, Any, None]]


class CacheSyncTimeout(Exception):
    """Some informers did not finish their first list in time."""


class Manager:
    """Owns informers, controllers and leader-only runnables.

    Parameters:
        source: the API client informers list and watch through (``KubeClient``).
        leader_elector: run controllers only while holding this lease; ``None`` runs them at once.
        cache_sync_timeout: seconds to wait for the first list of every informer.
    """

    def __init__(
        self,
        source: WatchSource | None = None,
        *,
        leader_elector: LeaderElector | None = None,
        cache_sync_timeout: float = 120.0,
    ) -> None:
        self._source = source
        self.leader_elector = leader_elector
        self.cache_sync_timeout = cache_sync_timeout
        self.informers: list[Informer] = []
        self.controllers: list[Controller] = []
        self._runnables: list[Runnable] = []
        self._shared: dict[tuple[ResourceKind, str | None, str | None, str | None], Informer] = {}
        self._stop = asyncio.Event()

    def informer(
        self,
        kind: KindLike,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        indexers: Mapping[str, IndexFunc] | None = None,
        transform: Transform | None = None,
    ) -> Informer:
        """The shared informer for this kind and filter, created on first use (indexers are added to it; the
        ``transform`` is the one given when it is created)."""
        rk = ResourceKind.of(kind)
        key = (rk, namespace, label_selector, field_selector)
        informer = self._shared.get(key)
        if informer is None:
            if self._source is None:
                raise ValueError("Manager has no source to create informers from")
            informer = Informer(
                self._source, rk, namespace=namespace, label_selector=label_selector, field_selector=field_selector
            )
            if transform is not None:
                informer.trim_with(transform)
            self._shared[key] = informer
            self.add_informer(informer)
        for name, fn in (indexers or {}).items():
            informer.add_indexer(name, fn)
        return informer

    def add_informer(self, informer: Informer) -> None:
        if informer not in self.informers:
            self.informers.append(informer)

    def add_controller(self, controller: Controller) -> None:
        """Run ``controller`` as leader; the informers it is wired to are started too."""
        self.controllers.append(controller)
        for informer in controller.informers:
            self.add_informer(informer)

    def add_runnable(self, runnable: Runnable) -> None:
        """Run ``runnable()`` alongside the controllers (only while leading)."""
        self._runnables.append(runnable)

    @property
    def ready(self) -> bool:
        """Whether every informer has synced (a readiness probe)."""
        return all(informer.has_synced for informer in self.informers)

    def stop(self) -> None:
        """Ask :meth:`run` to shut down gracefully."""
        self._stop.set()

    async def run(self) -> None:
        """Run until :meth:`stop`, cancellation, a failing controller or a lost lease."""
        informer_tasks = [asyncio.create_task(i.run(), name=f"informer-{i.name}") for i in self.informers]
        main: asyncio.Task[None] | None = None
        try:
            await self._wait_for_caches()
            if self.leader_elector is not None:
                main = asyncio.create_task(self._lead_while_elected(self.leader_elector))
            else:
                main = asyncio.create_task(self._lead())
            stopper = asyncio.create_task(self._stop.wait())
            await asyncio.wait([main, stopper], return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if main.done():
                main.result()
        finally:
            _log.info("Stopping")
            await _cancel_and_wait([main] if main is not None else [])
            await _cancel_and_wait(informer_tasks)
            _log.info("Stopped")

    async def _wait_for_caches(self) -> None:
        results = await asyncio.gather(*(i.wait_for_sync(self.cache_sync_timeout) for i in self.informers))
        missing = [i.name for i, ok in zip(self.informers, results, strict=True) if not ok]
        if missing:
            raise CacheSyncTimeout(f"informers not synced after {self.cache_sync_timeout}s: {missing}")
        _log.info("Caches synced", informers=len(self.informers))

    async def _lead_while_elected(self, elector: LeaderElector) -> None:
        """Lead whenever elected; a lost lease means candidate again, never the end of the process."""
        while True:
            try:
                await elector.run(self._lead)
                return
            except LeadershipLost as lost:
                _log.warning("Lost leadership; controllers stopped, waiting for the lease again", error=str(lost))

    async def _lead(self) -> None:
        for controller in self.controllers:
            controller.restart()  # a former term shut its queue down; start from a full resync
        tasks = [asyncio.create_task(c.run(), name=f"controller-{c.name}") for c in self.controllers]
        tasks += [asyncio.create_task(r()) for r in self._runnables]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            await _cancel_and_wait(tasks)


async def _cancel_and_wait(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` and wait until each has finished its own cleanup."""
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):
            _log.error("Task failed during shutdown", error=repr(result))
