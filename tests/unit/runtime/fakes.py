"""Test doubles for the runtime's unit tests (pure unit tests only; integration tests use a real API server)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Sequence
from typing import Any

from raykube.runtime.client import ObjectList, WatchEvent
from raykube.runtime.errors import ApiError
from raykube.runtime.kinds import KindLike
from raykube.runtime.objects import Obj


def obj(name: str, rv: str = "1", *, namespace: str = "ns", **metadata: Any) -> Obj:
    """A minimal object named ``namespace/name`` at resourceVersion ``rv``."""
    return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": rv, **metadata}}


class ScriptedWatchSource:
    """Answers lists and watches from scripts, then parks the watch until the test cancels it.

    ``lists`` are returned in order (an exception instance is raised instead). Each entry of
    ``watches`` is one watch call: events to stream, optionally ending in an exception to raise.
    """

    def __init__(self, lists: Sequence[ObjectList | Exception], watches: Sequence[Sequence[WatchEvent | Exception]]):
        self.lists: list[ObjectList | Exception] = [*lists]
        self.watches: list[list[WatchEvent | Exception]] = [[*w] for w in watches]
        self.list_calls = 0
        self.watch_versions: list[str | None] = []
        self.watch_params: list[dict[str, Any]] = []
        self.idle = asyncio.Event()

    async def list(self, kind: KindLike, **params: Any) -> ObjectList:
        self.list_calls += 1
        result = self.lists.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    async def watch(self, kind: KindLike, **params: Any) -> AsyncIterator[WatchEvent]:
        self.watch_versions.append(params.get("resource_version"))
        self.watch_params.append(params)
        if not self.watches:
            self.idle.set()
            await asyncio.Event().wait()
        for item in self.watches.pop(0):
            if isinstance(item, Exception):
                raise item
            yield item


class FakeLeaseApi:
    """An in-memory Lease endpoint with resourceVersion checks (409 on a stale PUT)."""

    def __init__(self) -> None:
        self.leases: dict[str, Obj] = {}
        self.rv = 0
        self.failing = False
        self.calls: list[str] = []  # "get", "create", "replace", in order

    def _check(self) -> None:
        if self.failing:
            raise ConnectionError("api down")

    def _stamp(self, lease: Obj) -> Obj:
        self.rv += 1
        stored = copy.deepcopy(lease)
        stored["metadata"]["resourceVersion"] = str(self.rv)
        self.leases[stored["metadata"]["name"]] = stored
        return copy.deepcopy(stored)

    async def get(self, kind: KindLike, name: str, *, namespace: str | None = None) -> Obj:
        self._check()
        self.calls.append("get")
        if name not in self.leases:
            raise ApiError(404, "NotFound")
        return copy.deepcopy(self.leases[name])

    async def create(self, kind: KindLike, lease: Any, *, namespace: str | None = None) -> Obj:
        self._check()
        self.calls.append("create")
        if lease["metadata"]["name"] in self.leases:
            raise ApiError(409, "AlreadyExists")
        return self._stamp(lease)

    async def replace(self, kind: KindLike, lease: Any, *, subresource: str | None = None) -> Obj:
        self._check()
        self.calls.append("replace")
        current = self.leases[lease["metadata"]["name"]]
        if lease["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict")
        return self._stamp(lease)

    def holder(self, name: str) -> str:
        return str(self.leases[name]["spec"]["holderIdentity"])
