"""Events about one object, held back for one reconcile pass (over the runtime's PendingEvents).

A reconciler records what happened with `normal`/`warning` (or `record` of an
:class:`~raykube.controllers.event.Event` value a pure step returned) and calls `emit()` after its status
write, so a watcher never sees an Event that the status contradicts. Reasons are enum members, never
literals. Aggregation and writing are the runtime recorder's job (`raykube.runtime.events`).
"""

from __future__ import annotations

from dataclasses import dataclass

from raykube.controllers.event import Event, EventType, Reason
from raykube.runtime.events import EventRecorder, PendingEvents
from raykube.runtime.objects import Obj


@dataclass
class ObjectEvents:
    """Pending Events about `regarding`."""

    regarding: Obj
    pending: PendingEvents

    @classmethod
    def start(cls, recorder: EventRecorder, regarding: Obj) -> ObjectEvents:
        return cls(regarding, recorder.deferred())

    def record(self, event: Event) -> None:
        self.pending.event(self.regarding, event.type.value, event.reason.value, event.message, action=event.action)

    def normal(self, reason: Reason, action: str, note: str) -> None:
        self.record(Event(EventType.NORMAL, reason, note, action))

    def warning(self, reason: Reason, action: str, note: str) -> None:
        self.record(Event(EventType.WARNING, reason, note, action))

    def emit(self) -> None:
        self.pending.emit()
