"""What RayJob's dashboard probes and RayService's Serve probes share: Ray calls that run in the background.

A reconcile never waits on a Ray dashboard: it starts a call as an asyncio task and reads the latest answer on
a later pass (`raykube.controllers.rayjob.dashboard`, `raykube.controllers.rayservice.serve`).
:class:`BackgroundProbes` holds what every such call needs: the client, the clock, the bound on calls in flight
across all objects of the kind (``concurrency``), the number of calls made (a metric) and ``on_answer``, the hook
that re-enqueues the object whose call brought news (wired to the controller's queue by ``operator/wiring.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypedDict, TypeVar

from raykube.runtime.clock import Clock, RealClock
from raykube.runtime.objects import ObjectKey

ClientT = TypeVar("ClientT")
T = TypeVar("T")


class ProbeOptions(TypedDict, total=False):
    """The keyword options of every :class:`BackgroundProbes` (a subclass passes them on unchanged)."""

    clock: Clock | None
    concurrency: int
    on_answer: Callable[[ObjectKey], None] | None


class BackgroundProbes(Generic[ClientT]):
    """Background calls with ``client``, at most ``concurrency`` at once; ``on_answer(key)`` after news."""

    def __init__(
        self,
        client: ClientT,
        *,
        clock: Clock | None = None,
        concurrency: int = 64,
        on_answer: Callable[[ObjectKey], None] | None = None,
    ) -> None:
        self._client = client
        self._clock = clock or RealClock()
        self._semaphore = asyncio.Semaphore(concurrency)
        self.on_answer = on_answer
        self.calls_made = 0

    async def _bounded(self, call: Coroutine[Any, Any, T]) -> T:
        """``call``'s result once a slot is free (counted as made); a call that fails or is cancelled is closed,
        so one cancelled before it started raises no "never awaited" warning."""
        try:
            async with self._semaphore:
                self.calls_made += 1
                return await call
        except BaseException:
            call.close()
            raise

    def _wake(self, key: ObjectKey) -> None:
        """Look at ``key`` again: its call brought news."""
        if self.on_answer is not None:
            self.on_answer(key)
