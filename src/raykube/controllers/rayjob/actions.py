"""What a state function may ask for: plain values, carried out by :mod:`raykube.controllers.rayjob.act`.

API actions run in order before the status write and stop the pass at the first failure (the key is
retried with backoff; the status is not written, as in KubeRay). Dashboard actions only *start* background
calls (:mod:`raykube.controllers.rayjob.dashboard`) and never fail the pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from raykube.controllers.actions import AddFinalizer as AddFinalizer  # the shared finalizer actions, re-exported
from raykube.controllers.actions import ApplyChild, CreateChild, DeleteChild
from raykube.controllers.actions import RemoveFinalizer as RemoveFinalizer
from raykube.controllers.rayjob.probe import Target
from raykube.ray.models import JobSubmitRequest


class CreateCluster(CreateChild):
    """Create the RayJob's RayCluster."""


class DeleteCluster(DeleteChild):
    """Delete the RayJob's RayCluster."""


@dataclass(frozen=True)
class SuspendWorkers:
    """DeleteWorkers: set ``suspend: true`` on every worker group of the cluster."""

    name: str
    groups: tuple[str, ...]


class CreateSubmitter(CreateChild):
    """Create the submitter batch Job."""


class DeleteSubmitter(DeleteChild):
    """Delete the submitter batch Job."""


class ApplyJobService(ApplyChild):
    """Create ``<rayjob>-head-svc``, or point its selector at the current cluster."""


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
