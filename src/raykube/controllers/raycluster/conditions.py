"""RayCluster conditions as typed values: the set a status pass edits, and the Events its flips are worth.

`ConditionSet` starts from the old status's conditions and keeps their order (a new type is appended, as
KubeRay's `meta.SetStatusCondition` does); `lastTransitionTime` moves only when a condition's status flips,
and a condition left untouched is carried over exactly as it was read. `transition_events` compares two
typed statuses; both are pure.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from raykube import reasons
from raykube.api.meta import FALSE, TRUE, Condition
from raykube.api.raycluster import RayClusterStatus
from raykube.controllers.event import Event
from raykube.runtime.objects import CONDITION_MESSAGE_LIMIT, truncate_utf8

C = reasons.RayClusterConditionType
E = reasons.EventReason
R = reasons.RayClusterConditionReason
#: metav1.Condition's reason syntax; anything else would make the API server refuse the whole status.
_REASON_SYNTAX = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")


class ConditionSet:
    """The old conditions plus this pass's changes, by type."""

    def __init__(self, old: list[Condition] | None, now: dt.datetime) -> None:
        self._by_type = {c.type: c for c in old or []}
        self._now = now

    def get(self, kind: str) -> bool:
        """The condition is there and True."""
        found = self._by_type.get(kind)
        return found is not None and found.is_true

    def set(self, kind: str, status: bool, reason: str, message: str = "") -> None:
        """Write the condition whole; its transition time is now only if its status changed."""
        text = TRUE if status else FALSE
        old = self._by_type.get(kind)
        if not _REASON_SYNTAX.match(reason):
            reason = R.UNKNOWN
        changed = old is None or old.status != text
        self._by_type[kind] = Condition(
            type=kind,
            status=text,
            reason=reason,
            message=truncate_utf8(message, CONDITION_MESSAGE_LIMIT),
            last_transition_time=self._now if old is None or changed else old.last_transition_time,
        )

    def remove(self, kind: str) -> None:
        self._by_type.pop(kind, None)

    def as_list(self) -> list[Condition]:
        return list(self._by_type.values())


#: Condition flips worth an Event: (condition type, new status) -> the Event. RayClusterProvisioned turning True
#: gets none, as in KubeRay: every cluster passes it once, and an Event there would be one more write per
#: cluster than KubeRay makes (docs/benchmarks.md, API writes per cluster); the condition itself says it.
_TRANSITION_EVENTS: dict[tuple[str, str], Event] = {
    (C.SUSPENDING, TRUE): Event.normal(E.RAYCLUSTER_SUSPENDING, "Suspending: deleting all Ray pods"),
    (C.SUSPENDED, TRUE): Event.normal(E.RAYCLUSTER_SUSPENDED, "Suspended: all Ray pods are gone"),
    (C.SUSPENDED, FALSE): Event.normal(E.RAYCLUSTER_RESUMED, "Resumed: recreating the Ray pods"),
    (C.HEAD_POD_READY, FALSE): Event.warning(E.HEAD_POD_NOT_READY, "The head pod is not ready"),
}


def transition_events(old: RayClusterStatus | None, new: RayClusterStatus) -> list[Event]:
    """Events for conditions that flipped between two statuses; pure."""
    before = {c.type: c.status for c in (old.conditions if old else None) or []}
    events: list[Event] = []
    for condition in new.conditions or []:
        kind, status = condition.type, condition.status
        if before.get(kind) == status:
            continue
        if kind == C.HEAD_POD_READY and before.get(kind) != TRUE:
            continue  # only a head that *was* ready and stopped being so is news
        if kind == C.SUSPENDED and status == FALSE and before.get(kind) is None:
            continue
        found = _TRANSITION_EVENTS.get((kind, status))
        if found:
            detail = condition.reason if kind == C.HEAD_POD_READY else None
            events.append(replace(found, message=f"{found.message} ({detail})") if detail else found)
    return events
