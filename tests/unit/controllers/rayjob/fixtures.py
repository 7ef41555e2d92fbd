"""Fluent fixtures for RayJob state tests: jobs, clusters, submitters, dashboard answers, snapshots."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from raykube.api.defaults import apply_crd_defaults
from raykube.api.rayjob import RayJob, RayJobStatus
from raykube.controllers.rayjob.dashboard import Answer, Probe, Target
from raykube.controllers.rayjob.settings import RayJobSettings
from raykube.controllers.rayjob.snapshot import Snapshot
from raykube.controllers.rayjob.status import read_status
from raykube.ray.errors import DashboardError
from raykube.ray.models import JobDetails
from raykube.runtime.clock import stamp
from tests.unit.api.factories import cluster_spec, rayjob

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
SETTINGS = RayJobSettings()
NS = "ns"
CLUSTER = "rj-ccccc"
JOB_ID = "rj-jjjjj"
URL = f"{CLUSTER}-head-svc.{NS}.svc.cluster.local:8265"
TARGET = Target(f"http://{URL}", JOB_ID, CLUSTER)


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


def make_job(name: str = "rj", **spec: Any) -> RayJob:
    body = rayjob(name, **spec)
    body["metadata"].update(namespace=NS, uid="uid-rj", generation=1)
    return apply_crd_defaults(RayJob.model_validate(body))


def make_cluster(
    name: str = CLUSTER, *, ready: bool = True, deleting: bool = False, suspended_groups: bool = False
) -> dict[str, Any]:
    spec = cluster_spec()
    if suspended_groups:
        for group in spec["workerGroupSpecs"]:
            group["suspend"] = True
    meta: dict[str, Any] = {
        "name": name,
        "namespace": NS,
        "uid": "uid-rc",
        "ownerReferences": [
            {"apiVersion": "ray.io/v1", "kind": "RayJob", "name": "rj", "uid": "uid-rj", "controller": True}
        ],
    }
    if deleting:
        meta["deletionTimestamp"] = stamp(NOW)
    obj: dict[str, Any] = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": meta, "spec": spec}
    obj["status"] = {"state": "ready", "desiredWorkerReplicas": 1} if ready else {"desiredWorkerReplicas": 1}
    return obj


def make_submitter(condition: str | None = None, *, at: dt.datetime = NOW, message: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {}
    if condition:
        status["conditions"] = [
            {
                "type": condition,
                "status": "True",
                "reason": "BackoffLimitExceeded" if condition == "Failed" else "",
                "message": message,
                "lastTransitionTime": stamp(at),
            }
        ]
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "rj", "namespace": NS}, "status": status}


def make_head_pod(*, submitter_exit: int | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"running": {"startedAt": stamp(NOW)}}
    if submitter_exit is not None:
        state = {
            "terminated": {
                "exitCode": submitter_exit,
                "reason": "Error" if submitter_exit else "Completed",
                "finishedAt": stamp(NOW),
            }
        }
    statuses = [{"name": "ray-head", "state": {"running": {}}}, {"name": "ray-job-submitter", "state": state}]
    return {"metadata": {"name": f"{CLUSTER}-head-x", "namespace": NS}, "status": {"containerStatuses": statuses}}


def details(
    status: str = "RUNNING", *, message: str = "", start: dt.datetime | None = None, end: dt.datetime | None = None
) -> JobDetails:
    def millis(moment: dt.datetime | None) -> int | None:
        return int(moment.timestamp() * 1000) if moment else None

    return JobDetails(
        submission_id=JOB_ID,
        status=status,
        message=message or None,
        start_time=millis(start or ago(60)),
        end_time=millis(end),
    )


def info(status: str = "RUNNING", *, at: dt.datetime = NOW, **kwargs: Any) -> Answer:
    return Answer(TARGET, at, details=details(status, **kwargs))


def failure(error: DashboardError, *, at: dt.datetime = NOW) -> Answer:
    return Answer(TARGET, at, error=error)


def running_status(**fields: Any) -> dict[str, Any]:
    status = {
        "jobId": JOB_ID,
        "rayClusterName": CLUSTER,
        "dashboardURL": URL,
        "jobDeploymentStatus": "Running",
        "startTime": stamp(ago(120)),
        "failed": 0,
        "succeeded": 0,
    }
    status.update(fields)
    return status


def snap(job: RayJob | None = None, status: dict[str, Any] | None = None, **kwargs: Any) -> Snapshot:
    values: dict[str, Any] = {
        "now": NOW,
        "settings": SETTINGS,
        "finalizers": ("ray.io/rayjob-finalizer",),
        "suffixes": ("jjjjj", "ccccc"),
    }
    values.update(kwargs)
    status = copy.deepcopy(status or {})
    if "target" not in values and status.get("dashboardURL") and status.get("jobId"):
        values["target"] = TARGET
    if "probe" in values and isinstance(values["probe"], Answer):
        values["probe"] = Probe(info=values["probe"])
    return Snapshot(job=job or make_job(), status=read_status(status) or RayJobStatus(), **values)
