"""List-then-watch informers feeding a :class:`~raykube.runtime.store.Store` and event handlers.

One :class:`Informer` mirrors one kind (optionally one namespace, one label or field selector,
applied by the API server) into memory, following client-go's Reflector:

1. **List** every object, replace the store with the result, note the list's resourceVersion and
   mark the informer synced.
2. **Watch** from that resourceVersion with ``allowWatchBookmarks`` and a randomised 5-10 minute
   server timeout. Every event (bookmarks included) advances the remembered resourceVersion, so a
   closed stream resumes where it stopped instead of relisting.
3. On **410 Gone** (the resourceVersion was compacted away) relist at once. On any other error
   back off exponentially (0.8 s doubling to 30 s, with jitter) and resume the watch from the last
   resourceVersion; a failed list is retried the same way.

Handlers receive plain objects. A relist can reveal that an object vanished while the watch was
down (client-go's ``DeletedFinalStateUnknown`` tombstone); the informer unwraps that case once,
here, and calls ``on_delete`` with the last state it knew, so no handler ever sees a tombstone.
Handlers run synchronously on the informer's task and must be quick (enqueue a key, count an
expectation); an exception in one is logged and does not stop the others.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from raykube.runtime.client import ObjectList, WatchEvent
from raykube.runtime.clock import Clock, RealClock
from raykube.runtime.errors import is_gone
from raykube.runtime.kinds import KindLike, ResourceKind
from raykube.runtime.objects import Obj, key_of, resource_version
from raykube.runtime.store import IndexFunc, Store, Transform

_log = logging.getLogger(__name__)


class WatchSource(Protocol):
    """The two API calls an informer makes (:class:`~raykube.runtime.client.KubeClient` has both)."""

    async def list(
        self,
        kind: KindLike,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> ObjectList: ...

    def watch(
        self,
        kind: KindLike,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        allow_bookmarks: bool = True,
        timeout_seconds: int | None = None,
    ) -> AsyncIterator[WatchEvent]: ...


@dataclass(frozen=True)
class EventHandler:
    """Callbacks for one consumer of an informer; any of them may be left out."""

    on_add: Callable[[Obj], None] | None = None
    on_update: Callable[[Obj, Obj], None] | None = None
    on_delete: Callable[[Obj], None] | None = None


def backoff_delay(failures: int, *, initial: float = 0.8, maximum: float = 30.0) -> float:
    """Delay before retry number ``failures`` (1-based): doubling from ``initial``, capped, ±10 % jitter."""
    base = min(initial * 2 ** min(failures - 1, 30), maximum)
    return float(base * (0.9 + 0.2 * random.random()))


class Informer:
    """Keeps a :class:`Store` in sync with the API server and fans events out to handlers.

    Parameters:
        source: where to list and watch (a ``KubeClient``).
        kind: what to mirror.
        namespace: one namespace, or ``None`` for all.
        label_selector: server-side label filter, e.g. ``"ray.io/node-type in (head,worker,redis-cleanup)"``.
        field_selector: server-side field filter.
        indexers: secondary indexes for the store.
        clock: time source for backoff.
        min_watch_timeout: lower bound of the randomised watch timeout, seconds.
    """

    def __init__(
        self,
        source: WatchSource,
        kind: KindLike,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        indexers: Mapping[str, IndexFunc] | None = None,
        clock: Clock | None = None,
        min_watch_timeout: int = 300,
    ) -> None:
        self._source = source
        self.kind = ResourceKind.of(kind)
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.store = Store(indexers)
        self._clock = clock or RealClock()
        self._min_watch_timeout = min_watch_timeout
        self._handlers: list[EventHandler] = []
        self._synced = asyncio.Event()
        self.resource_version = ""
        self.relists = 0

    @property
    def name(self) -> str:
        return f"{self.kind.plural}.{self.kind.group or 'core'}"

    @property
    def has_synced(self) -> bool:
        """Whether the first list has been stored."""
        return self._synced.is_set()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Wait until :attr:`has_synced` (``False`` if ``timeout`` seconds pass first)."""
        if self.has_synced:
            return True
        try:
            await asyncio.wait_for(self._synced.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def add_handler(self, handler: EventHandler) -> None:
        """Register a consumer; if the store is already filled, it first gets an add for every object."""
        self._handlers.append(handler)
        if handler.on_add is not None:
            for obj in self.store.list():
                self._call(handler.on_add, obj)

    def add_indexer(self, name: str, fn: IndexFunc) -> None:
        self.store.add_indexer(name, fn)

    def trim_with(self, transform: Transform) -> None:
        """Trim each object with ``transform`` before it is stored and handed to handlers (see ``Store``); set it
        before the informer runs."""
        self.store.transform = transform

    async def run(self) -> None:
        """List and watch until cancelled."""
        need_list = True
        failures = 0
        while True:
            try:
                if need_list:
                    await self._list()
                    need_list = False
                    failures = 0
                await self._watch()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_gone(exc):
                    _log.info("watch expired, relisting informer=%s rv=%s", self.name, self.resource_version)
                    need_list = True
                    continue
                failures += 1
                delay = backoff_delay(failures)
                _log.warning(
                    "list/watch failed informer=%s failures=%d retry_in=%.2f error=%r",
                    self.name,
                    failures,
                    delay,
                    exc,
                )
                await self._clock.sleep(delay)

    async def _list(self) -> None:
        result = await self._source.list(
            self.kind,
            namespace=self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        )
        diff = self.store.replace(result.items)
        self.resource_version = result.resource_version
        if self.has_synced:
            self.relists += 1
        self._synced.set()
        for obj in diff.deleted:  # vanished while we were not watching: the tombstone case
            self._dispatch_delete(obj)
        for obj in diff.added:
            self._dispatch_add(obj)
        for old, new in diff.updated:
            self._dispatch_update(old, new)

    async def _watch(self) -> None:
        timeout = int(self._min_watch_timeout * (1 + random.random()))
        events = self._source.watch(
            self.kind,
            namespace=self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            resource_version=self.resource_version,
            allow_bookmarks=True,
            timeout_seconds=timeout,
        )
        async for event in events:
            self._apply(event)

    def _apply(self, event: WatchEvent) -> None:
        obj = event.object
        if event.type in ("ADDED", "MODIFIED"):
            old = self.store.upsert(obj)
            if old is None:
                self._dispatch_add(obj)
            else:
                self._dispatch_update(old, obj)
        elif event.type == "DELETED":
            self.store.remove(key_of(obj))
            self._dispatch_delete(obj)
        elif event.type != "BOOKMARK":
            _log.warning("unknown watch event informer=%s type=%s", self.name, event.type)
        rv = resource_version(obj)
        if rv:
            self.resource_version = rv

    def _dispatch_add(self, obj: Obj) -> None:
        for handler in self._handlers:
            if handler.on_add is not None:
                self._call(handler.on_add, obj)

    def _dispatch_update(self, old: Obj, new: Obj) -> None:
        for handler in self._handlers:
            if handler.on_update is not None:
                self._call(handler.on_update, old, new)

    def _dispatch_delete(self, obj: Obj) -> None:
        for handler in self._handlers:
            if handler.on_delete is not None:
                self._call(handler.on_delete, obj)

    def _call(self, fn: Callable[..., None], *args: Obj) -> None:
        try:
            fn(*args)
        except Exception:
            _log.exception("event handler failed informer=%s", self.name)
