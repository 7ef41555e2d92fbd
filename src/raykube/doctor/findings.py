"""What the doctor reports: one :class:`Finding` per problem, with evidence quoted from the API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One problem.

    Parameters:
        code: a stable identifier (``pod-unschedulable-resources``, ``image-pull-failed``, ...).
        subject: what it is about (``pod ns/name``, ``RayJob ns/name``).
        summary: the problem in plain words.
        evidence: lines quoted from the API (conditions, Events, container states).
        fix: what to do about it.
    """

    code: str
    subject: str
    summary: str
    evidence: tuple[str, ...] = field(default_factory=tuple)
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["evidence"] = list(self.evidence)
        return data
