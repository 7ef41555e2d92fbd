"""Event aggregation, series updates and deferred emission."""

from __future__ import annotations

import re
from typing import Any

import pytest

from raykube.runtime.clock import FakeClock
from raykube.runtime.errors import ApiError
from raykube.runtime.events import WARNING, EventRecorder, event_name, truncate_note
from raykube.runtime.kinds import KindLike
from raykube.runtime.objects import Obj

CLUSTER = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "rc", "namespace": "ns", "uid": "u1"}}


class Sink:
    def __init__(self) -> None:
        self.created: list[Obj] = []
        self.patches: list[tuple[str, Any]] = []
        self.fail = False
        self.error: Exception = ConnectionError("down")

    async def create(self, kind: KindLike, obj: Any, *, namespace: str | None = None) -> Obj:
        if self.fail:
            raise self.error
        self.created.append(obj)
        return obj  # type: ignore[no-any-return]

    async def patch(self, kind: KindLike, name: str, patch: Any, *, namespace: str | None = None) -> Obj:
        self.patches.append((name, patch))
        return {}


def make() -> tuple[Sink, FakeClock, EventRecorder]:
    sink, clock = Sink(), FakeClock()
    return sink, clock, EventRecorder(sink, controller="raycluster-controller", instance="i", clock=clock)


async def test_event_is_written_as_an_events_k8s_io_event_about_the_object() -> None:
    sink, _, rec = make()
    rec.event(CLUSTER, WARNING, "FailedToCreateWorkerPod", "quota exceeded", action="CreatePod")
    await rec.flush()
    (event,) = sink.created
    assert event["apiVersion"] == "events.k8s.io/v1"
    assert event["reportingController"] == "raycluster-controller"
    assert event["regarding"] == {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "namespace": "ns",
        "name": "rc",
        "uid": "u1",
    }
    assert (event["type"], event["reason"], event["action"]) == (WARNING, "FailedToCreateWorkerPod", "CreatePod")
    assert "series" not in event


async def test_hot_loop_of_identical_events_becomes_one_event_with_a_count() -> None:
    sink, _, rec = make()
    for _ in range(1000):
        rec.event(CLUSTER, WARNING, "Failed", "same note")
    await rec.flush()
    assert len(sink.created) == 1 and sink.created[0]["series"]["count"] == 1000


async def test_repeats_after_the_first_write_are_patched_at_most_once_per_interval() -> None:
    sink, clock, rec = make()
    rec.event(CLUSTER, WARNING, "Failed", "n")
    await rec.flush()
    for _ in range(50):
        rec.event(CLUSTER, WARNING, "Failed", "n")
        clock.advance(1)
        await rec.flush()
    assert len(sink.created) == 1
    assert [p["series"]["count"] for _, p in sink.patches] == [31]
    clock.advance(30)
    await rec.flush()
    assert [p["series"]["count"] for _, p in sink.patches] == [31, 51]


async def test_different_notes_are_different_events() -> None:
    sink, _, rec = make()
    rec.event(CLUSTER, WARNING, "Failed", "a")
    rec.event(CLUSTER, WARNING, "Failed", "b")
    await rec.flush()
    assert len(sink.created) == 2


async def test_event_after_a_quiet_window_starts_a_new_event() -> None:
    sink, clock, rec = make()
    rec.event(CLUSTER, WARNING, "Failed", "n")
    await rec.flush()
    clock.advance(601)
    await rec.flush()
    rec.event(CLUSTER, WARNING, "Failed", "n")
    await rec.flush()
    assert len(sink.created) == 2 and sink.patches == []


async def test_deferred_events_are_written_only_when_emitted() -> None:
    sink, _, rec = make()
    batch = rec.deferred()
    batch.event(CLUSTER, WARNING, "Failed", "n")
    await rec.flush()
    assert sink.created == []
    batch.emit()
    await rec.flush()
    assert len(sink.created) == 1


async def test_discarded_deferred_events_are_never_written() -> None:
    sink, _, rec = make()
    batch = rec.deferred()
    batch.event(CLUSTER, WARNING, "Failed", "n")
    batch.discard()
    batch.emit()
    await rec.flush()
    assert sink.created == []


async def test_failed_write_is_retried_then_dropped() -> None:
    sink, _, rec = make()
    sink.fail = True
    rec.event(CLUSTER, WARNING, "Failed", "n")
    for _ in range(3):
        await rec.flush()
    sink.fail = False
    await rec.flush()
    assert sink.created == []


async def test_a_write_refused_because_the_namespace_is_being_deleted_is_dropped_at_once() -> None:
    sink, _, rec = make()
    sink.fail = True
    message = "unable to create new content in namespace ns because it is being terminated"
    # The API server's Status body, as read back from a real one (StatusCause.Type is "reason" in JSON).
    cause = {"reason": "NamespaceTerminating", "message": "namespace ns is being terminated",
             "field": "metadata.namespace"}
    sink.error = ApiError(403, "Forbidden", message, {"details": {"causes": [cause]}})
    rec.event(CLUSTER, WARNING, "Failed", "n")
    await rec.flush()
    sink.fail = False
    await rec.flush()
    assert sink.created == [], "not retried"


async def test_other_forbidden_writes_are_retried() -> None:
    sink, _, rec = make()
    sink.fail = True
    sink.error = ApiError(403, "Forbidden", "events is forbidden: User cannot create resource")
    rec.event(CLUSTER, WARNING, "Failed", "n")
    await rec.flush()
    sink.fail = False
    await rec.flush()
    assert len(sink.created) == 1


async def test_a_note_is_cut_to_1024_bytes_of_utf8_never_inside_a_character() -> None:
    # Found as a hostile user: 1,024 characters of multi-byte text are more bytes than the API server accepts.
    sink, _, rec = make()
    rec.event(CLUSTER, WARNING, "InvalidRayClusterSpec", "é" * 2000)
    await rec.flush()
    note = sink.created[0]["note"]
    assert len(note.encode()) <= 1024 and note == "é" * 512


def test_truncation_keeps_short_notes_and_drops_a_split_character() -> None:
    assert truncate_note("plain") == "plain"
    assert truncate_note("a" + "€" * 400) == "a" + "€" * 341  # 1 + 341*3 = 1024 bytes
    assert truncate_note("€€", limit=4) == "€"


_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


async def test_an_object_with_a_253_character_name_still_gets_its_event() -> None:
    # The longest valid object name: client-go's "<name>.<timestamp>" would be refused by the API server.
    long_name = ("a" * 62 + ".") * 3 + "b" * 64
    assert len(long_name) == 253
    sink, _, rec = make()
    cluster = {**CLUSTER, "metadata": {**CLUSTER["metadata"], "name": long_name}}  # type: ignore[dict-item]
    rec.event(cluster, WARNING, "InvalidRayClusterSpec", "name too long")
    await rec.flush()
    (event,) = sink.created
    name = event["metadata"]["name"]
    assert len(name) <= 253 and _DNS1123_SUBDOMAIN.match(name), name
    assert event["regarding"]["name"] == long_name, "the Event still names the whole object"


@pytest.mark.parametrize("cut_at", ["-", "."])
def test_an_event_name_never_ends_a_label_with_punctuation(cut_at: str) -> None:
    # A name whose cut falls right after a "-" or "." would give "x-.<suffix>" or "x..<suffix>".
    regarding = "a" * 235 + cut_at + "b" * 17
    name = event_name(regarding, "0123456789abcdef")
    assert len(name) <= 253 and _DNS1123_SUBDOMAIN.match(name), name
    assert name == "a" * 235 + ".0123456789abcdef"


def test_short_names_keep_the_usual_event_name() -> None:
    assert event_name("rc", "0123456789abcdef") == "rc.0123456789abcdef"


async def test_a_flush_writes_up_to_in_flight_events_at_once() -> None:
    import asyncio

    class SlowSink(Sink):
        def __init__(self) -> None:
            super().__init__()
            self.in_flight = self.most = 0
            self.release = asyncio.Event()

        async def create(self, kind: KindLike, obj: Any, *, namespace: str | None = None) -> Obj:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            await self.release.wait()
            self.in_flight -= 1
            return await super().create(kind, obj, namespace=namespace)

    sink = SlowSink()
    rec = EventRecorder(sink, controller="raycluster-controller", instance="i", clock=FakeClock(), in_flight=4)
    for i in range(10):
        rec.event(CLUSTER, WARNING, "CreatedWorkerPod", f"Created worker Pod ns/rc-w-{i}", action="CreatePod")
    flushing = asyncio.create_task(rec.flush())
    for _ in range(5):
        await asyncio.sleep(0)
    assert sink.in_flight == 4  # four at once, not one after another
    sink.release.set()
    await flushing
    assert sink.most == 4 and len(sink.created) == 10
    rec.event(CLUSTER, WARNING, "CreatedWorkerPod", "Created worker Pod ns/rc-w-0", action="CreatePod")
    await rec.flush()  # a repeat inside the window is a series update, not a new Event
    assert len(sink.created) == 10 and len(sink.patches) == 0  # (the series interval has not passed yet)
