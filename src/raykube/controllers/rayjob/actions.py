"""What a state function may ask for: plain values, carried out by :mod:`raykube.controllers.rayjob.act`.

API actions run in order before the status write and stop the pass at the first failure (the key is
retried with backoff; the status is not written, as in KubeRay). Dashboard actions only *start* background
calls (:mod:`raykube.controllers.rayjob.dashboard`) and never fail the pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from raykube.controllers.rayjob.probe import Target
from raykube.ray.models import JobSubmitRequest
from raykube.runtime.objects import Obj


@dataclass(frozen=True)
class AddFinalizer:
    """Add ``ray.io/rayjob-finalizer`` to the RayJob."""


@dataclass(frozen=True)
class RemoveFinalizer:
    """Remove ``ray.io/rayjob-finalizer`` from the RayJob (it may then disappear)."""


@dataclass(frozen=True)
class CreateCluster:
    body: Obj = field(hash=False)


@dataclass(frozen=True)
class DeleteCluster:
    name: str


@dataclass(frozen=True)
class SuspendWorkers:
    """DeleteWorkers: set ``suspend: true`` on every worker group of the cluster."""

    name: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class CreateSubmitter:
    body: Obj = field(hash=False)


@dataclass(frozen=True)
class DeleteSubmitter:
    name: str


@dataclass(frozen=True)
class ApplyJobService:
    """Create ``<rayjob>-head-svc``, or point its selector at the current cluster."""

    body: Obj = field(hash=False)
    existing: Obj | None = field(default=None, hash=False)


@dataclass(frozen=True)
class DeleteSelf:
    """Delete the RayJob (DeleteSelf rules, ``DELETE_RAYJOB_CR_AFTER_JOB_FINISHES``)."""


@dataclass(frozen=True)
class PollJob:
    target: Target


@dataclass(frozen=True)
class SubmitJob:
    target: Target
    request: JobSubmitRequest


@dataclass(frozen=True)
class StopJob:
    target: Target


@dataclass(frozen=True)
class ForgetDashboard:
    """Drop the RayJob's dashboard answers (the attempt is over)."""


Action = (
    AddFinalizer
    | RemoveFinalizer
    | CreateCluster
    | DeleteCluster
    | SuspendWorkers
    | CreateSubmitter
    | DeleteSubmitter
    | ApplyJobService
    | DeleteSelf
    | PollJob
    | SubmitJob
    | StopJob
    | ForgetDashboard
)
