"""The inputs and outputs of one decision: a frozen :class:`Snapshot` in, a :class:`Step` out.

A state function sees the RayJob (typed, as the API server defaulted it), its current status (typed), the
cached RayCluster, submitter Job, head pod and ``<rayjob>-head-svc``, the latest dashboard answers, the
time, the settings, and two random name suffixes drawn by the reconciler (so the functions stay pure and
a test can pin them). It returns the status fields to change (a typed `StatusChanges`), the actions to take,
when to look again, and Events to emit after the status write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from raykube import reasons
from raykube.api.defaults import effective_submission_mode
from raykube.api.rayjob import RayJob, RayJobStatus
from raykube.builders.settings import OperatorSettings
from raykube.controllers.event import Event
from raykube.controllers.rayjob.actions import Action
from raykube.controllers.rayjob.changes import NO_CHANGES, StatusChanges
from raykube.controllers.rayjob.probe import Probe, Target
from raykube.controllers.rayjob.settings import RayJobSettings
from raykube.runtime.objects import Obj


@dataclass(frozen=True)
class Snapshot:
    """Everything one decision about one RayJob may look at."""

    job: RayJob
    status: RayJobStatus
    now: dt.datetime
    settings: RayJobSettings
    operator: OperatorSettings = field(default_factory=OperatorSettings)
    finalizers: tuple[str, ...] = ()
    cluster: Obj | None = None
    submitter: Obj | None = None
    head_pod: Obj | None = None
    job_service: Obj | None = None
    target: Target | None = None
    probe: Probe = Probe.EMPTY
    suffixes: tuple[str, str] = ("aaaaa", "bbbbb")

    @property
    def mode(self) -> str:
        return effective_submission_mode(self.job.spec)

    @property
    def cluster_selected(self) -> bool:
        """The job runs on an existing cluster (``clusterSelector``), which it never creates or deletes."""
        return bool(self.job.spec.cluster_selector)

    @property
    def job_status(self) -> str:
        return self.status.job_status or ""

    @property
    def deployment_status(self) -> str:
        return self.status.job_deployment_status or ""


@dataclass(frozen=True)
class Step:
    """A state function's decision.

    Attributes:
        changes: status fields to set or remove (:class:`~raykube.controllers.rayjob.changes.StatusChanges`).
        actions: what to do, in order, before the status write.
        requeue_after: look again after this many seconds (``None``: only when something changes).
        events: Events to emit once the status is written.
    """

    changes: StatusChanges = NO_CHANGES
    actions: tuple[Action, ...] = ()
    requeue_after: float | None = None
    events: tuple[Event, ...] = ()

    def but(
        self, *, changes: StatusChanges = NO_CHANGES, actions: Iterable[Action] = (), events: Iterable[Event] = ()
    ) -> Step:
        """A copy with ``changes`` made after this step's, ``actions`` and ``events`` appended."""
        actions, events = self.actions + tuple(actions), self.events + tuple(events)
        return Step(self.changes | changes, actions, self.requeue_after, events)


def is_job_terminal(job_status: str) -> bool:
    """SUCCEEDED, FAILED and STOPPED are final for Ray (KubeRay's ``IsJobTerminal``)."""
    return job_status in (reasons.JobStatus.SUCCEEDED, reasons.JobStatus.FAILED, reasons.JobStatus.STOPPED)


def fail(s: Snapshot, reason: reasons.JobFailedReason, message: str, changes: StatusChanges = NO_CHANGES) -> Step:
    """Enter Failed with ``reason`` and ``message`` (after ``changes``), and say so in a Warning Event."""
    failed = StatusChanges(job_deployment_status=reasons.JobDeploymentStatus.FAILED, reason=reason, message=message)
    return Step(changes | failed, (), s.settings.requeue_seconds, (Event.warning(reason, message),))
