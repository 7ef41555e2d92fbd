"""Values KubeRay accepts without a word but that cannot mean what they say (pure): one message per value.

KubeRay v1.7.0 rejects none of these (no CRD ``minimum`` or ``enum``, no rule in ``validation.go``) and says
nothing about them. raykube accepts them too, so a manifest that runs under KubeRay runs here, does with each
what KubeRay effectively does (or, where that is nonsense, the nearest thing that is not) and says so: the
controllers send each message as a Warning Event ``UnexpectedSpecValue`` once per generation of the object.
No condition changes and ``Ready`` is not touched: the object is reconciled as usual.

Each message starts with the field's JSON path and value, then says what happens instead. A RayClusterSpec
embedded in a RayJob, RayService or RayCronJob is checked under its own path (``spec.rayClusterSpec``, ...),
so the parent says it too; the RayCluster made from it says it again under ``spec``.
"""

from __future__ import annotations

from raykube.api.defaults import DEFAULT_SUBMITTER_BACKOFF_LIMIT
from raykube.api.raycluster import RayCluster, RayClusterSpec, WorkerGroupSpec
from raykube.api.raycronjob import RayCronJob
from raykube.api.rayjob import RayJob, RayJobSpec, SubmissionMode
from raykube.api.rayservice import RayService

__all__ = [
    "cluster_spec_warnings",
    "job_spec_warnings",
    "raycluster_warnings",
    "raycronjob_warnings",
    "rayjob_warnings",
    "rayservice_warnings",
]

_SILENT = "KubeRay accepts it without a word"


def raycluster_warnings(rc: RayCluster) -> list[str]:
    return cluster_spec_warnings(rc.spec, "spec")


def rayjob_warnings(job: RayJob) -> list[str]:
    return job_spec_warnings(job.spec, "spec")


def rayservice_warnings(svc: RayService) -> list[str]:
    warnings: list[str] = []
    for field, value in (
        ("serviceUnhealthySecondThreshold", svc.spec.service_unhealthy_second_threshold),
        ("deploymentUnhealthySecondThreshold", svc.spec.deployment_unhealthy_second_threshold),
    ):
        if value is not None and value < 0:
            warnings.append(
                f"spec.{field}: {value} is negative; the field is deprecated and unused: raykube ignores it, "
                f"as KubeRay does ({_SILENT})"
            )
    return warnings + cluster_spec_warnings(svc.spec.ray_cluster_config, "spec.rayClusterConfig")


def raycronjob_warnings(cron: RayCronJob) -> list[str]:
    return job_spec_warnings(cron.spec.job_template, "spec.jobTemplate")


def cluster_spec_warnings(spec: RayClusterSpec, path: str) -> list[str]:
    """The worker groups' replicas, numOfHosts and priority."""
    warnings: list[str] = []
    for index, group in enumerate(spec.worker_group_specs or []):
        warnings.extend(_group_warnings(group, f"{path}.workerGroupSpecs[{index}]"))
    return warnings


def _group_warnings(group: WorkerGroupSpec, where: str) -> list[str]:
    warnings: list[str] = []
    if group.replicas is not None and group.replicas < 0:
        low = group.min_replicas if group.min_replicas is not None else 0
        warnings.append(
            f"{where}.replicas: {group.replicas} is negative; the group is kept at minReplicas ({low}) instead, "
            f"as KubeRay does ({_SILENT})"
        )
    hosts = group.num_of_hosts
    if hosts is not None and hosts < 1:
        warnings.append(
            f"{where}.numOfHosts: {hosts} is less than 1; the group gets no worker pods (KubeRay keeps "
            f"replicas x numOfHosts pods, so none either; {_SILENT}). Pods per replica must be at least 1"
        )
    if group.priority is not None and group.priority < 0:
        warnings.append(
            f"{where}.priority: {group.priority} is negative; it is passed to Ray's autoscaler v2 unchanged (the "
            f"operator does not read it; higher priorities are scaled up first), as KubeRay does ({_SILENT})"
        )
    return warnings


def job_spec_warnings(spec: RayJobSpec, path: str) -> list[str]:
    """The submission mode and the submitter's backoffLimit, then the cluster spec's."""
    warnings: list[str] = []
    mode = spec.submission_mode
    if mode is not None and mode not in tuple(SubmissionMode):
        known = ", ".join(SubmissionMode)
        warnings.append(
            f"{path}.submissionMode: '{mode}' is not a submission mode ({known}); as under KubeRay ({_SILENT}), "
            "the RayCluster is created but no job is submitted: the RayJob stays Running with no job until "
            "activeDeadlineSeconds, if set"
        )
    config = spec.submitter_config
    if config is not None and config.backoff_limit is not None and config.backoff_limit < 0:
        warnings.append(
            f"{path}.submitterConfig.backoffLimit: {config.backoff_limit} is negative; the submitter Job gets the "
            f"default backoffLimit ({DEFAULT_SUBMITTER_BACKOFF_LIMIT}) instead (KubeRay accepts it without a word "
            "and passes it on, and the API server refuses that Job)"
        )
    if spec.ray_cluster_spec is not None:
        warnings.extend(cluster_spec_warnings(spec.ray_cluster_spec, f"{path}.rayClusterSpec"))
    return warnings
