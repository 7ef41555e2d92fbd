"""The RayService actor's creation Events carry KubeRay's texts ("Created the RayCluster", "the service")."""

from __future__ import annotations

from typing import Any

import pytest

from raykube.controllers.rayservice import actions as a
from raykube.controllers.rayservice.act import ServiceActor
from raykube.runtime.errors import ApiError
from raykube.runtime.objects import ObjectKey


class _Client:
    def __init__(self, fail: ApiError | None = None) -> None:
        self.fail = fail

    async def create(self, kind: Any, body: Any, *, namespace: str) -> Any:
        if self.fail is not None:
            raise self.fail
        return body


class _Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def normal(self, reason: Any, action: str, note: str) -> None:
        self.seen.append(("Normal", str(reason), note))

    def warning(self, reason: Any, action: str, note: str) -> None:
        self.seen.append(("Warning", str(reason), note))


def _actor(client: _Client, events: _Events) -> ServiceActor:
    key = ObjectKey("ns", "svc")
    return ServiceActor(client, None, key=key, rayservice={"metadata": {"name": "svc"}}, events=events)  # type: ignore[arg-type]


async def test_created_cluster_and_service_events_use_kuberays_texts() -> None:
    events = _Events()
    actor = _actor(_Client(), events)
    await actor.carry_out((a.CreateCluster(body={"metadata": {"name": "svc-abcde"}}),
                           a.ApplyService(body={"metadata": {"name": "svc-head-svc"}}, existing=None)))
    assert [(t, n) for t, _, n in events.seen] == [("Normal", "Created the RayCluster ns/svc-abcde"),
                                                   ("Normal", "Created the service ns/svc-head-svc")]


async def test_failed_creates_use_kuberays_texts() -> None:
    events = _Events()
    actor = _actor(_Client(ApiError(403, "Forbidden", "quota")), events)
    with pytest.raises(ApiError):
        await actor.carry_out((a.CreateCluster(body={"metadata": {"name": "svc-abcde"}}),))
    with pytest.raises(ApiError):
        await actor.carry_out((a.ApplyService(body={"metadata": {"name": "svc-head-svc"}}, existing=None),))
    assert [n for _, _, n in events.seen] == ["Failed to create the RayCluster ns/svc-abcde: quota",
                                              "Failed to create the service ns/svc-head-svc, quota"]
