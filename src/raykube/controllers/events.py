"""Events about one object, held back for one reconcile pass (over the runtime's PendingEvents).

A reconciler records what happened with `normal`/`warning` and calls `emit()` after its status write, so a
watcher never sees an Event that the status contradicts. Aggregation and writing are the runtime
recorder's job (`raykube.runtime.events`).
"""

from __future__ import annotations

from dataclasses import dataclass

from raykube.runtime.events import NORMAL, WARNING, EventRecorder, PendingEvents
from raykube.runtime.objects import Obj


@dataclass
class ObjectEvents:
    """Pending Events about `regarding`."""

    regarding: Obj
    pending: PendingEvents

    @classmethod
    def start(cls, recorder: EventRecorder, regarding: Obj) -> ObjectEvents:
        return cls(regarding, recorder.deferred())

    def normal(self, reason: str, action: str, note: str) -> None:
        self.pending.event(self.regarding, NORMAL, reason, note, action=action)

    def warning(self, reason: str, action: str, note: str) -> None:
        self.pending.event(self.regarding, WARNING, reason, note, action=action)

    def emit(self) -> None:
        self.pending.emit()
