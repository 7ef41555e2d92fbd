"""Events about one object, held back for one reconcile pass (over the runtime's PendingEvents).

A reconciler records what happened with `normal`/`warning` (or `record` of an
:class:`~raykube.controllers.event.Event` value a pure step returned) and calls `emit()` after its status
write, so a watcher never sees an Event that the status contradicts. Reasons are enum members, never
literals. Aggregation and writing are the runtime recorder's job (`raykube.runtime.events`).

`reporting` wraps a reconciler so that no failure goes unexplained: when a pass raises, the Events it had
recorded (typically the Warning naming the failed create) are emitted anyway, and if none of them was a
Warning, one `ReconcileError` Warning names the exception. The exception is re-raised, so the controller
retries the key with its per-key backoff; identical Warnings fold into one Event with a count.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

from raykube import reasons
from raykube.controllers.event import Event, EventType, Reason
from raykube.runtime.controller import Result
from raykube.runtime.errors import ApiError, NotLeader, is_conflict, is_not_found
from raykube.runtime.events import EventRecorder, PendingEvents
from raykube.runtime.objects import Obj, ObjectKey

#: The ObjectEvents started during the current reconcile pass (set by `reporting`).
_PASS: ContextVar[list[ObjectEvents] | None] = ContextVar("raykube_pass_events", default=None)


@dataclass
class ObjectEvents:
    """Pending Events about `regarding`."""

    regarding: Obj
    pending: PendingEvents

    @classmethod
    def start(cls, recorder: EventRecorder, regarding: Obj) -> ObjectEvents:
        events = cls(regarding, recorder.deferred())
        if (current := _PASS.get()) is not None:
            current.append(events)
        return events

    @property
    def has_warning(self) -> bool:
        return any(item[1] == EventType.WARNING.value for item in self.pending.items)

    def record(self, event: Event) -> None:
        self.pending.event(self.regarding, event.type.value, event.reason.value, event.message, action=event.action)

    def normal(self, reason: Reason, action: str, note: str) -> None:
        self.record(Event(EventType.NORMAL, reason, note, action))

    def warning(self, reason: Reason, action: str, note: str) -> None:
        self.record(Event(EventType.WARNING, reason, note, action))

    def emit(self) -> None:
        self.pending.emit()


Reconcile = Callable[[ObjectKey], Awaitable[Result]]


def reporting(reconcile: Reconcile, *, lookup: Callable[[ObjectKey], Obj | None], recorder: EventRecorder) -> Reconcile:
    """`reconcile`, with every failure shown on the object as a Warning Event (then re-raised for backoff).

    A conflict (409: our cache was stale), a vanished object or a write fenced off after losing the lease is
    routine and gets no Event.
    """

    async def run(key: ObjectKey) -> Result:
        started: list[ObjectEvents] = []
        token = _PASS.set(started)
        try:
            return await reconcile(key)
        except Exception as exc:
            warned = any(events.has_warning for events in started)
            for events in started:
                events.emit()
            stale = isinstance(exc, ApiError) and (is_conflict(exc) or is_not_found(exc))
            routine = stale or isinstance(exc, NotLeader)
            obj = lookup(key)
            if obj is not None and not warned and not routine:
                recorder.event(
                    obj,
                    EventType.WARNING.value,
                    reasons.EventReason.RECONCILE_ERROR.value,
                    f"Reconcile failed, retrying with backoff: {describe(exc)}",
                )
            raise
        finally:
            _PASS.reset(token)

    return run


def describe(exc: BaseException) -> str:
    """One line about a failure: the API's message, or the exception's type and text."""
    if isinstance(exc, ApiError):
        return exc.message or str(exc)
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class SpecWarnings:
    """Sends the ``UnexpectedSpecValue`` Warnings of an object (`raykube.api.spec_warnings`) once per generation.

    A reconcile pass runs many times per generation; the Warning says something about the spec, so it is said
    when the spec (its generation, or the messages) changes, and again after an operator restart. Kept per key.
    The Warnings go straight to the recorder, not into the pass's held-back Events: they contradict no status,
    and a pass that fails must still get its own Warning (`reporting` adds one only if the pass recorded none).
    """

    def __init__(self, recorder: EventRecorder) -> None:
        self._recorder = recorder
        self._told: dict[ObjectKey, tuple[str, object, tuple[str, ...]]] = {}

    def emit(self, key: ObjectKey, obj: Obj, messages: list[str]) -> None:
        """A Warning per message about ``obj``, unless this generation of it already had them."""
        metadata = obj.get("metadata") or {}
        mark = (str(metadata.get("uid") or ""), metadata.get("generation"), tuple(messages))
        if not messages:
            self._told.pop(key, None)
            return
        if self._told.get(key) == mark:
            return
        self._told[key] = mark
        for message in messages:
            reason = reasons.EventReason.UNEXPECTED_SPEC_VALUE.value
            self._recorder.event(obj, EventType.WARNING.value, reason, message, action="Validate")

    def forget(self, key: ObjectKey) -> None:
        self._told.pop(key, None)
