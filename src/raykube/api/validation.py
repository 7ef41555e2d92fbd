"""Controller-side validation of the four ray.io/v1 kinds: ``validate_<kind>(obj) -> list[str]``.

The CRD schema (types, enums, CEL rules) is enforced by the API server; these functions add the rules
KubeRay checks in its controllers (``controllers/ray/utils/validation.go``), so an invalid object is reported
instead of reconciled. They are pure: the same object always gives the same messages, in a stable order.

Every message starts with the JSON path of the offending field (``spec.workerGroupSpecs[1].minReplicas``,
``metadata.name``) and, where KubeRay has a wording for the rule, continues with it, so users searching for
KubeRay's message find ours. All violations are returned, not only the first. An empty list means valid.

What the controllers do with a non-empty list differs by kind (not decided here): RayCluster emits a Warning
``InvalidRayClusterSpec`` and does not requeue; RayJob moves to ``jobDeploymentStatus: ValidationFailed``;
RayService sets ``Ready=False`` with reason ``ValidationFailed``.

The rules themselves live in :mod:`raykube.api.validation_cluster` (names and RayClusterSpec) and
:mod:`raykube.api.validation_job` (RayJobSpec); RayService and RayCronJob rules are here.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Final

from raykube import reasons
from raykube.api.cron import schedule_errors
from raykube.api.defaults import DEFAULT_MAX_SURGE_PERCENT, is_autoscaling_enabled
from raykube.api.raycluster import RayCluster
from raykube.api.raycronjob import RayCronJob
from raykube.api.rayjob import RayJob, SubmissionMode
from raykube.api.rayservice import RayService, ServiceUpgradeType
from raykube.api.validation_bounds import schema_errors
from raykube.api.validation_cluster import ValidationGates, cluster_spec_errors, name_errors
from raykube.api.validation_job import job_spec_errors

__all__ = [
    "MAX_RAYCLUSTER_NAME_LENGTH",
    "MAX_RAYCRONJOB_NAME_LENGTH",
    "MAX_RAYJOB_NAME_LENGTH",
    "MAX_RAYSERVICE_NAME_LENGTH",
    "ValidationGates",
    "validate_raycluster",
    "validate_raycronjob",
    "validate_rayjob",
    "validate_rayservice",
]

#: Name limits: child names append suffixes (``-serve-svc``, ``-<5 random>``, ``-<unix minutes>``).
MAX_RAYCLUSTER_NAME_LENGTH: Final = 53
MAX_RAYJOB_NAME_LENGTH: Final = 47
MAX_RAYSERVICE_NAME_LENGTH: Final = 47
MAX_RAYCRONJOB_NAME_LENGTH: Final = 36

_DEFAULT_GATES: Final = ValidationGates()
_GO_DURATION: Final = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")


def validate_raycluster(rc: RayCluster, *, gates: ValidationGates = _DEFAULT_GATES) -> list[str]:
    """Metadata, spec and status rules of a RayCluster."""
    return raycluster_spec_errors(rc, gates=gates) + raycluster_status_errors(rc)


def raycluster_spec_errors(rc: RayCluster, *, gates: ValidationGates = _DEFAULT_GATES) -> list[str]:
    """The rules on a RayCluster's name, labels, annotations and spec: the same for as long as those are (the
    reconciler keeps the answer per generation)."""
    errors = name_errors("RayCluster", rc.name, MAX_RAYCLUSTER_NAME_LENGTH) + schema_errors(rc.spec, "spec")
    errors.extend(cluster_spec_errors(rc.spec, rc.annotations, "spec", gates))
    parent = rc.labels.get(reasons.LABEL_ORIGINATED_FROM_CRD)
    if rc.spec.upgrade_strategy is not None and parent in ("RayJob", "RayService"):
        errors.append(
            f"spec.upgradeStrategy: cannot be set on a RayCluster created by a {parent}; configure the {parent} instead"
        )
    return errors


def raycluster_status_errors(rc: RayCluster) -> list[str]:
    """The rule on a RayCluster's status: never both Suspending and Suspended."""
    errors: list[str] = []
    conditions = {c.type: c.status for c in (rc.status.conditions or [])} if rc.status is not None else {}
    suspending = conditions.get(reasons.RayClusterConditionType.SUSPENDING) == "True"
    if suspending and conditions.get(reasons.RayClusterConditionType.SUSPENDED) == "True":
        errors.append(
            "status.conditions: RayClusterSuspending and RayClusterSuspended conditions should not be both true"
        )
    return errors


def validate_rayjob(job: RayJob, *, gates: ValidationGates = _DEFAULT_GATES) -> list[str]:
    """Metadata, spec and status rules of a RayJob."""
    errors = name_errors("RayJob", job.name, MAX_RAYJOB_NAME_LENGTH) + schema_errors(job.spec, "spec")
    errors.extend(job_spec_errors(job.spec, job.annotations, "spec", gates))
    status = job.status.job_deployment_status if job.status is not None else None
    mode = job.spec.submission_mode or SubmissionMode.K8S_JOB
    if status == reasons.JobDeploymentStatus.WAITING and mode != SubmissionMode.INTERACTIVE:
        errors.append(
            "status.jobDeploymentStatus: JobDeploymentStatus cannot be `Waiting` when SubmissionMode is not "
            "InteractiveMode"
        )
    return errors


def validate_rayservice(svc: RayService, *, gates: ValidationGates = _DEFAULT_GATES) -> list[str]:
    """Metadata and spec rules of a RayService."""
    errors = name_errors("RayService", svc.name, MAX_RAYSERVICE_NAME_LENGTH) + schema_errors(svc.spec, "spec")
    errors.extend(_initializing_timeout_errors(svc.annotations))
    spec = svc.spec
    cluster = spec.ray_cluster_config
    errors.extend(cluster_spec_errors(cluster, svc.annotations, "spec.rayClusterConfig", gates))
    head_service = cluster.head_group_spec.head_service or {}
    if (head_service.get("metadata") or {}).get("name"):
        errors.append("spec.rayClusterConfig.headGroupSpec.headService.metadata.name should not be set")
    if cluster.auth_options is not None and cluster.auth_options.enable_k8s_token_auth:
        errors.append(
            "spec.rayClusterConfig.authOptions.enableK8sTokenAuth: Kubernetes token authentication is not "
            "supported for RayService"
        )
    delay = spec.ray_cluster_deletion_delay_seconds
    if delay is not None and delay < 0:
        errors.append(f"spec.rayClusterDeletionDelaySeconds should be a non-negative integer, got {delay}")
    upgrade_type = spec.upgrade_strategy.type if spec.upgrade_strategy is not None else None
    if upgrade_type is not None and upgrade_type not in tuple(ServiceUpgradeType):
        errors.append(
            f"spec.upgradeStrategy.type value {upgrade_type} is invalid, valid options are "
            "NewClusterWithIncrementalUpgrade, NewCluster, or None"
        )
    if upgrade_type == ServiceUpgradeType.NEW_CLUSTER_WITH_INCREMENTAL_UPGRADE:
        errors.extend(_incremental_upgrade_errors(svc))
    return errors


def validate_raycronjob(cron: RayCronJob, *, gates: ValidationGates = _DEFAULT_GATES) -> list[str]:
    """Metadata and spec rules of a RayCronJob (its jobTemplate is checked as a RayJob spec)."""
    errors = name_errors("RayCronJob", cron.name, MAX_RAYCRONJOB_NAME_LENGTH) + schema_errors(cron.spec, "spec")
    errors.extend(f"spec.schedule: invalid cron schedule: {problem}" for problem in schedule_errors(cron.spec.schedule))
    zone = cron.spec.time_zone
    if zone is not None:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.append(f"spec.timeZone: unknown time zone '{zone}'")
    errors.extend(job_spec_errors(cron.spec.job_template, cron.annotations, "spec.jobTemplate", gates))
    return errors


def _initializing_timeout_errors(annotations: dict[str, str]) -> list[str]:
    key = reasons.ANNOTATION_INITIALIZING_TIMEOUT
    value = annotations.get(key, "")
    if not value:
        return []
    if _GO_DURATION.match(value):
        if all(float(n) == 0 for n in re.findall(r"\d+(?:\.\d+)?", value)):
            return [f"metadata.annotations[{key}]: must be a positive duration, got: {value}"]
        return []
    if re.fullmatch(r"[+-]?\d+", value):
        if int(value) <= 0:
            return [f"metadata.annotations[{key}]: must be a positive integer (seconds), got: {value}"]
        return []
    return [
        f"metadata.annotations[{key}]: invalid format: {value}. Expected Go duration format "
        "(e.g., '5m', '1h') or positive integer seconds"
    ]


def _incremental_upgrade_errors(svc: RayService) -> list[str]:
    where = "spec.upgradeStrategy.clusterUpgradeOptions"
    errors: list[str] = []
    if not is_autoscaling_enabled(svc.spec.ray_cluster_config):
        errors.append(
            "spec.rayClusterConfig.enableInTreeAutoscaling: Ray Autoscaler is required for "
            "NewClusterWithIncrementalUpgrade"
        )
    strategy = svc.spec.upgrade_strategy
    options = strategy.cluster_upgrade_options if strategy is not None else None
    if options is None:
        errors.append(f"{where}: ClusterUpgradeOptions are required for NewClusterWithIncrementalUpgrade")
        return errors
    surge = options.max_surge_percent if options.max_surge_percent is not None else DEFAULT_MAX_SURGE_PERCENT
    if not 0 <= surge <= 100:
        errors.append(f"{where}.maxSurgePercent ({surge}) must be between 0 and 100")
    step = options.step_size_percent
    if not 0 <= step <= 100:
        errors.append(f"{where}.stepSizePercent ({step}) must be between 0 and 100")
    elif step > surge:
        errors.append(f"{where}.stepSizePercent ({step}) must be <= maxSurgePercent ({surge})")
    if options.interval_seconds <= 0:
        errors.append(f"{where}.intervalSeconds ({options.interval_seconds}) must be greater than 0")
    if not options.gateway_class_name:
        errors.append(f"{where}.gatewayClassName is required for NewClusterWithIncrementalUpgrade")
    return errors
