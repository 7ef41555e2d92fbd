"""What the RayJob state functions know about the dashboard: frozen values, no I/O.

:class:`Target` names a Ray job on a dashboard for one attempt, :class:`Answer` is one finished call and
:class:`Probe` the latest answers for one target. ``dashboard.py`` makes the calls in the background and
hands out these values; the pure modules (``states``, ``follow``, ``snapshot``, ``actions``) import only this.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from raykube.ray.errors import DashboardError, JobNotFound
from raykube.ray.models import JobDetails


@dataclass(frozen=True)
class Target:
    """Which Ray job, on which dashboard, for which attempt (the cluster name changes on every retry)."""

    address: str
    job_id: str
    cluster: str


@dataclass(frozen=True)
class Answer:
    """One finished call: what the dashboard said (``details`` or ``stopped``) or the typed ``error``."""

    target: Target
    at: dt.datetime
    details: JobDetails | None = None
    error: DashboardError | None = None

    @property
    def not_found(self) -> bool:
        return isinstance(self.error, JobNotFound)

    @property
    def failed(self) -> bool:
        """The call failed for another reason than "no such job"."""
        return self.error is not None and not self.not_found

    def news_after(self, previous: Answer | None) -> bool:
        """Whether this answer could change a decision made on ``previous``."""
        if previous is None or previous.target != self.target:
            return True
        if type(self.error) is not type(previous.error):
            return True
        mine, theirs = self.details, previous.details
        if mine is None or theirs is None:
            return mine is not theirs
        return (mine.status, mine.message, mine.start_time, mine.end_time) != (
            theirs.status,
            theirs.message,
            theirs.start_time,
            theirs.end_time,
        )


@dataclass(frozen=True)
class Probe:
    """What a reconcile may know about the dashboard, for one target."""

    info: Answer | None = None
    info_pending_since: dt.datetime | None = None
    submit: Answer | None = None
    submit_pending: bool = False
    stop: Answer | None = None
    stop_pending_since: dt.datetime | None = None

    EMPTY: ClassVar[Probe]


Probe.EMPTY = Probe()
