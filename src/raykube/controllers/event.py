"""The Event value a pure plan or status step returns: type, reason (an enum member, never a literal), message.

Pure: a state function or a status diff says *what* to report; :class:`raykube.controllers.events.ObjectEvents`
holds the values for one pass and hands them to the runtime's recorder after the status write.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from raykube import reasons


class EventType(StrEnum):
    """``core/v1`` Event types."""

    NORMAL = "Normal"
    WARNING = "Warning"


#: What an Event's reason may be: KubeRay's event reasons, (RayJob) the failure reason it copies verbatim, or
#: (RayService) the Ready condition's reason, which KubeRay's RayService events carry.
Reason = reasons.EventReason | reasons.JobFailedReason | reasons.RayServiceConditionReason


@dataclass(frozen=True)
class Event:
    """One Event about the object being reconciled."""

    type: EventType
    reason: Reason
    message: str
    action: str = "Reconcile"

    @classmethod
    def normal(cls, reason: Reason, message: str, action: str = "Reconcile") -> Event:
        return cls(EventType.NORMAL, reason, message, action)

    @classmethod
    def warning(cls, reason: Reason, message: str, action: str = "Reconcile") -> Event:
        return cls(EventType.WARNING, reason, message, action)
