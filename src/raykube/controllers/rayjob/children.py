"""Pure facts about, and bodies of, the objects a RayJob owns or watches.

The RayCluster and the submitter Job come from the desired-state function (:mod:`raykube.builders.job`),
``<rayjob>-head-svc`` from :mod:`raykube.builders.submitter`;
this module adds what the state functions need to read off the cached objects: is the cluster ready and
where is its dashboard, has the submitter Job (or SidecarMode's submitter container) finished, and how.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import yaml

from raykube import reasons
from raykube.api.defaults import apply_crd_defaults
from raykube.api.raycluster import RayCluster, RayClusterStatus
from raykube.api.rayjob import RayJob
from raykube.builders import submitter as build
from raykube.builders.cluster import cluster_context
from raykube.builders.pod import ClusterContext
from raykube.builders.settings import OperatorSettings
from raykube.controllers.rayjob.changes import CLEAR, Clear
from raykube.ray.models import JobSubmitRequest
from raykube.runtime.clock import parse_time
from raykube.runtime.objects import Obj


def context(cluster: Obj, settings: OperatorSettings) -> ClusterContext:
    """The builders' view of a cached RayCluster."""
    return cluster_context(apply_crd_defaults(RayCluster.model_validate(cluster)), settings)


def is_ready(cluster: Obj) -> bool:
    return (cluster.get("status") or {}).get("state") == reasons.ClusterState.READY


def cluster_status(cluster: Obj) -> RayClusterStatus | Clear:
    """The cluster's status, typed, as a RayJob's ``rayClusterStatus`` copies it (`CLEAR` when it has none)."""
    raw = cluster.get("status")
    return RayClusterStatus.model_validate(raw) if raw else CLEAR


def is_deleting(obj: Obj) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def dashboard_url(cluster: Obj, settings: OperatorSettings) -> str:
    """``<head svc fqdn>:<dashboard port>`` of a cluster, as ``status.dashboardURL`` shows it."""
    return build.dashboard_url(context(cluster, settings))


def job_service_body(job: RayJob, cluster: Obj, settings: OperatorSettings) -> Obj:
    return build.build_rayjob_head_service(job, context(cluster, settings))


def job_service_current(existing: Obj | None, desired: Obj) -> bool:
    """The existing ``<rayjob>-head-svc`` already selects the desired cluster's head."""
    if existing is None:
        return False
    return bool((existing.get("spec") or {}).get("selector") == desired["spec"].get("selector"))


def worker_groups(cluster: Obj) -> list[tuple[str, bool]]:
    """(group name, suspended) of every worker group of a cached cluster."""
    groups = (cluster.get("spec") or {}).get("workerGroupSpecs") or []
    return [(str(g.get("groupName", "")), bool(g.get("suspend"))) for g in groups]


def submit_request(job: RayJob, job_id: str) -> JobSubmitRequest:
    """HTTPMode's ``POST /api/jobs/`` body, from the spec (KubeRay sends the same fields)."""
    spec = job.spec
    runtime_env = yaml.safe_load(spec.runtime_env_yaml) if spec.runtime_env_yaml else None
    resources: dict[str, float] | None = json.loads(spec.entrypoint_resources) if spec.entrypoint_resources else None
    return JobSubmitRequest(
        entrypoint=(spec.entrypoint or "").strip(),
        submission_id=job_id,
        runtime_env=runtime_env or None,
        metadata=spec.metadata or None,
        entrypoint_num_cpus=spec.entrypoint_num_cpus or None,
        entrypoint_num_gpus=spec.entrypoint_num_gpus or None,
        entrypoint_resources=resources or None,
    )


@dataclass(frozen=True)
class SubmitterOutcome:
    """How a submitter (Job or sidecar container) ended; ``finished`` is False while it runs."""

    finished: bool = False
    failed: bool = False
    at: dt.datetime | None = None
    detail: str = ""


RUNNING = SubmitterOutcome()


def submitter_outcome(job: Obj | None) -> SubmitterOutcome:
    """The submitter Job's ``Complete`` or ``Failed`` condition (KubeRay's ``IsJobFinished``)."""
    for condition in ((job or {}).get("status") or {}).get("conditions") or []:
        if condition.get("status") != "True" or condition.get("type") not in ("Complete", "Failed"):
            continue
        failed = condition["type"] == "Failed"
        detail = f"{condition.get('reason', '')}: {condition.get('message', '')}".strip(": ")
        return SubmitterOutcome(True, failed, parse_time(condition.get("lastTransitionTime")), detail)
    return RUNNING


def sidecar_outcome(head_pod: Obj) -> SubmitterOutcome:
    """SidecarMode: the ``ray-job-submitter`` container of the head pod, once it has terminated."""
    statuses: list[dict[str, Any]] = (head_pod.get("status") or {}).get("containerStatuses") or []
    for status in statuses:
        if status.get("name") != build.SUBMITTER_CONTAINER:
            continue
        terminated = (status.get("state") or {}).get("terminated")
        if not terminated:
            return RUNNING
        code = int(terminated.get("exitCode") or 0)
        detail = f"the submitter container exited with code {code} ({terminated.get('reason', '')})"
        return SubmitterOutcome(True, code != 0, parse_time(terminated.get("finishedAt")), detail)
    return RUNNING
