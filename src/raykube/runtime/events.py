"""An Event recorder (events.k8s.io/v1) that cannot flood the API server.

Controllers call :meth:`EventRecorder.event` synchronously; nothing is sent there. Identical
events (same object, type, reason, action and note) are folded into one record whose count goes
up, and :meth:`EventRecorder.flush` (run every second by :meth:`EventRecorder.run`) writes what
changed: a new record becomes one ``Event`` (``series.count`` set when it was already repeated),
and a repeated one is PATCHed at most once per ``series_interval`` (30 s) with its new
``series.count`` and ``lastObservedTime``. A reconcile loop emitting the same Warning a thousand
times a minute thus costs about two API calls a minute. After ``window`` seconds (10 min) of
silence a record is forgotten and the next occurrence starts a new Event.

Events are written as KubeRay writes them: ``reportingController`` is the controller name
(``raycluster-controller``), ``regarding`` points at the object, ``note`` is cut to the API's
1 kB limit (bytes of UTF-8, not characters).

:meth:`EventRecorder.deferred` returns a :class:`PendingEvents` batch for JobSet's habit: queue the
events of a reconcile pass and :meth:`PendingEvents.emit` them only after the status write
succeeded, so Events never announce something the status does not show.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from raykube.runtime import logs
from raykube.runtime.clock import Clock, RealClock, micro_time
from raykube.runtime.errors import is_namespace_terminating
from raykube.runtime.kinds import EVENT, KindLike
from raykube.runtime.objects import Obj, meta, truncate_utf8

_log = logs.get_logger("raykube.events")
NORMAL = "Normal"
WARNING = "Warning"
_NOTE_LIMIT = 1024
_NAME_LIMIT = 253  # an Event's name is a DNS-1123 subdomain
_NAME_SUFFIX = 16  # hex characters after the object's name


def event_name(regarding: str, suffix: str) -> str:
    """``<object name>.<suffix>``, the object's name cut so the whole stays a valid DNS-1123 subdomain.

    client-go appends a timestamp to the full name, so an object with a valid 253-character name gets no Event
    at all (the API server refuses the name): exactly the object whose name is being rejected. The cut never
    leaves a ``-`` or ``.`` before the separating dot.
    """
    prefix = regarding[: _NAME_LIMIT - 1 - len(suffix)].rstrip("-.")
    return f"{prefix}.{suffix}" if prefix else suffix


def truncate_note(note: str, limit: int = _NOTE_LIMIT) -> str:
    """``note`` cut to at most ``limit`` bytes of UTF-8 (the API server counts bytes), never inside a character."""
    return truncate_utf8(note, limit)


class EventSink(Protocol):
    """Where events go (:class:`~raykube.runtime.client.KubeClient` has both calls)."""

    async def create(self, kind: KindLike, obj: Any, *, namespace: str | None = None) -> Obj: ...

    async def patch(self, kind: KindLike, name: str, patch: Any, *, namespace: str | None = None) -> Obj: ...


@dataclass(frozen=True)
class _Key:
    regarding: tuple[str, str, str, str, str]  # apiVersion, kind, namespace, name, uid
    type: str
    reason: str
    action: str
    note: str


@dataclass
class _Record:
    first_seen: float
    last_seen: float
    last_observed: str
    count: int = 1
    name: str | None = None
    written_count: int = 0
    last_written: float = float("-inf")
    failures: int = 0


@dataclass
class PendingEvents:
    """Events of one reconcile pass, held back until :meth:`emit` (after the status write)."""

    recorder: EventRecorder
    items: list[tuple[Obj, str, str, str, str]] = field(default_factory=list)

    def event(self, regarding: Obj, type_: str, reason: str, note: str, *, action: str = "Reconcile") -> None:
        self.items.append((regarding, type_, reason, note, action))

    def emit(self) -> None:
        """Hand every held event to the recorder."""
        for regarding, type_, reason, note, action in self.items:
            self.recorder.event(regarding, type_, reason, note, action=action)
        self.items.clear()

    def discard(self) -> None:
        self.items.clear()


class EventRecorder:
    """Aggregates and writes Events.

    Parameters:
        sink: the API client.
        controller: ``reportingController`` (``raycluster-controller``).
        instance: ``reportingInstance``; the host name by default.
        clock: time source.
        series_interval: minimum seconds between two writes of one repeated event.
        window: seconds of silence after which an event record is forgotten.
        in_flight: Event writes sent at once by one flush. One at a time (client-go's broadcaster) drained a
            backlog of 5,000 Events, the pods of 1,000 clusters, at 15 per second: the last ones arrived 6 minutes
            late (docs/benchmarks.md, steady state).
    """

    def __init__(
        self,
        sink: EventSink,
        *,
        controller: str,
        instance: str | None = None,
        clock: Clock | None = None,
        series_interval: float = 30.0,
        window: float = 600.0,
        in_flight: int = 16,
    ) -> None:
        self._sink = sink
        self.in_flight = in_flight
        self.controller = controller
        self.instance = instance or socket.gethostname()
        self._clock = clock or RealClock()
        self.series_interval = series_interval
        self.window = window
        self._records: dict[_Key, _Record] = {}

    def event(self, regarding: Obj, type_: str, reason: str, note: str, *, action: str = "Reconcile") -> None:
        """Record an event about ``regarding`` (``NORMAL`` or ``WARNING``); it is written on the next flush."""
        m = meta(regarding)
        ref = (
            str(regarding.get("apiVersion", "")),
            str(regarding.get("kind", "")),
            str(m.get("namespace") or ""),
            str(m.get("name") or ""),
            str(m.get("uid") or ""),
        )
        key = _Key(ref, type_, reason, action, truncate_note(note))
        now, stamp = self._clock.monotonic(), micro_time(self._clock.now())
        record = self._records.get(key)
        if record is None or now - record.last_seen > self.window:
            self._records[key] = _Record(now, now, stamp)
            return
        record.count += 1
        record.last_seen, record.last_observed = now, stamp

    def deferred(self) -> PendingEvents:
        """A batch to fill during a reconcile and emit after the status write."""
        return PendingEvents(self)

    async def flush(self) -> None:
        """Write new records and due series updates (``in_flight`` at a time); forget records silent for longer
        than the window."""
        now = self._clock.monotonic()
        due: list[tuple[_Key, _Record]] = []
        for key, record in list(self._records.items()):
            if record.written_count == record.count:
                if now - record.last_seen > self.window:
                    del self._records[key]
                continue
            if record.name is not None and now - record.last_written < self.series_interval:
                continue
            due.append((key, record))
        for start in range(0, len(due), self.in_flight):
            batch = due[start:start + self.in_flight]
            await asyncio.gather(*(self._flush_one(key, record, now) for key, record in batch))

    async def _flush_one(self, key: _Key, record: _Record, now: float) -> None:
        count = record.count  # what this write reports; more may be recorded while it is in flight
        try:
            await self._write(key, record)
        except Exception as exc:
            if is_namespace_terminating(exc):  # as client-go's recorder: never retried, not worth a warning
                _log.debug("Event dropped: its namespace is being deleted", reason=key.reason)
                self._records.pop(key, None)
                return
            record.failures += 1
            _log.warning("Could not write event", reason=key.reason, error=str(exc), failures=record.failures)
            if record.failures >= 3:
                self._records.pop(key, None)
            return
        record.written_count, record.last_written, record.failures = count, now, 0

    async def run(self, interval: float = 1.0) -> None:
        """Flush every ``interval`` seconds until cancelled, then flush once more."""
        try:
            while True:
                await self._clock.sleep(interval)
                await self.flush()
        finally:
            await self.flush()

    async def _write(self, key: _Key, record: _Record) -> None:
        api_version, kind, namespace, name, uid = key.regarding
        event_namespace = namespace or "default"
        series = {"count": record.count, "lastObservedTime": record.last_observed}
        if record.name is not None:
            await self._sink.patch(EVENT, record.name, {"series": series}, namespace=event_namespace)
            return
        event: Obj = {
            "apiVersion": EVENT.api_version,
            "kind": EVENT.kind,
            "metadata": {"name": event_name(name, uuid.uuid4().hex[:_NAME_SUFFIX]), "namespace": event_namespace},
            "eventTime": micro_time(self._clock.now()),
            "reportingController": self.controller,
            "reportingInstance": self.instance,
            "action": key.action,
            "reason": key.reason,
            "type": key.type,
            "note": key.note,
            "regarding": {"apiVersion": api_version, "kind": kind, "namespace": namespace, "name": name, "uid": uid},
        }
        if record.count > 1:
            event["series"] = series
        created = await self._sink.create(EVENT, event, namespace=event_namespace)
        record.name = str(meta(created).get("name") or event["metadata"]["name"])
