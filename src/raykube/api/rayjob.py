"""RayJob (ray.io/v1): a Ray job submitted to a RayCluster the RayJob creates (or selects).

``RayJobSpec`` is also the ``jobTemplate`` of RayCronJob. Status strings (``jobStatus``,
``jobDeploymentStatus``, ``reason``) are ``StrEnum``s in :mod:`raykube.reasons`; the spec-side enums are here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Final, Literal

from raykube.api.common import MANAGED_BY_DESCRIPTION, MANAGED_BY_VALIDATIONS, RayObject
from raykube.api.meta import Time
from raykube.api.raycluster import RayClusterSpec, RayClusterStatus
from raykube.api.schema import (
    K8S_POD_TEMPLATE_SPEC,
    CelRule,
    CrdInfo,
    K8sObject,
    PrinterColumn,
    RayModel,
    prop,
)


class SubmissionMode(StrEnum):
    """``spec.submissionMode`` (no CRD enum: an unknown value is accepted and simply never submitted)."""

    K8S_JOB = "K8sJobMode"
    HTTP = "HTTPMode"
    INTERACTIVE = "InteractiveMode"
    SIDECAR = "SidecarMode"


class DeletionPolicyType(StrEnum):
    """What a deletion policy or rule deletes."""

    DELETE_CLUSTER = "DeleteCluster"
    DELETE_WORKERS = "DeleteWorkers"
    DELETE_SELF = "DeleteSelf"
    DELETE_NONE = "DeleteNone"


#: ``jobStatus`` values a deletion rule can match.
DELETION_RULE_JOB_STATUSES: Final = ("SUCCEEDED", "FAILED")
#: ``jobDeploymentStatus`` values a deletion rule can match.
DELETION_RULE_DEPLOYMENT_STATUSES: Final = ("Failed",)

_DELETION_CONDITION_RULES: Final = (
    CelRule(
        rule="!(has(self.jobStatus) && has(self.jobDeploymentStatus))",
        message=("JobStatus and JobDeploymentStatus cannot be used together within the same deletion condition."),
    ),
    CelRule(
        rule="has(self.jobStatus) || has(self.jobDeploymentStatus)",
        message="the deletion condition requires either the JobStatus or the JobDeploymentStatus field.",
    ),
)
_DELETION_STRATEGY_RULES: Final = (
    CelRule(
        rule="!((has(self.onSuccess) || has(self.onFailure)) && has(self.deletionRules))",
        message=(
            "legacy policies (onSuccess/onFailure) and deletionRules cannot be used together "
            "within the same deletionStrategy"
        ),
    ),
    CelRule(
        rule="((has(self.onSuccess) && has(self.onFailure)) || has(self.deletionRules))",
        message=(
            "deletionStrategy requires either BOTH onSuccess and onFailure, OR the deletionRules field "
            "(cannot be empty)"
        ),
    ),
)


class DeletionPolicy(RayModel):
    """Legacy per-outcome policy (``onSuccess`` / ``onFailure``), applied after ttlSecondsAfterFinished."""

    policy: str | None = prop("policy", "What to delete.", enum=tuple(DeletionPolicyType))


class DeletionCondition(RayModel):
    """When a deletion rule fires: a terminal status plus a delay."""

    job_deployment_status: str | None = prop(
        "jobDeploymentStatus", "Match this deployment status.", enum=DELETION_RULE_DEPLOYMENT_STATUSES
    )
    job_status: str | None = prop("jobStatus", "Match this Ray job status.", enum=DELETION_RULE_JOB_STATUSES)
    ttl_seconds: int | None = prop(
        "ttlSeconds",
        "Seconds after the job ends before the rule fires.",
        default=0,
        format="int32",
        minimum=0,
    )


class DeletionRule(RayModel):
    """One deletion rule: a policy and the condition that triggers it."""

    condition: DeletionCondition = prop(
        "condition", "When the rule fires.", required=True, validations=_DELETION_CONDITION_RULES
    )
    policy: str = prop("policy", "What to delete.", required=True, enum=tuple(DeletionPolicyType))


class DeletionStrategy(RayModel):
    """Cleanup after the job ends: both legacy policies, or a list of rules."""

    deletion_rules: list[DeletionRule] | None = prop(
        "deletionRules", "Rules evaluated after the job ends.", min_items=1, list_type="atomic"
    )
    on_failure: DeletionPolicy | None = prop("onFailure", "Legacy policy when the job failed.")
    on_success: DeletionPolicy | None = prop("onSuccess", "Legacy policy when the job succeeded.")


class SubmitterConfig(RayModel):
    """Settings of the submitter Kubernetes Job."""

    backoff_limit: int | None = prop("backoffLimit", "Retries of the submitter Job (default 2).", format="int32")


class RayJobSpec(RayModel):
    """Desired state of a RayJob."""

    active_deadline_seconds: int | None = prop(
        "activeDeadlineSeconds", "Wall-clock limit from startTime; then the RayJob fails.", format="int32"
    )
    backoff_limit: int | None = prop(
        "backoffLimit", "RayJob-level retries, each with a new RayCluster.", default=0, format="int32"
    )
    cluster_selector: dict[str, str] | None = prop(
        "clusterSelector", "Run on an existing RayCluster selected by ray.io/cluster."
    )
    deletion_strategy: DeletionStrategy | None = prop(
        "deletionStrategy", "What to delete after the job ends.", validations=_DELETION_STRATEGY_RULES
    )
    entrypoint: str | None = prop("entrypoint", "Command of the Ray job.")
    entrypoint_num_cpus: float | None = prop("entrypointNumCpus", "CPUs reserved for the entrypoint.")
    entrypoint_num_gpus: float | None = prop("entrypointNumGpus", "GPUs reserved for the entrypoint.")
    entrypoint_resources: str | None = prop(
        "entrypointResources", "Custom resources for the entrypoint, as a JSON object."
    )
    job_id: str | None = prop("jobId", "Submission ID; generated when empty (set by the user in InteractiveMode).")
    managed_by: str | None = prop("managedBy", MANAGED_BY_DESCRIPTION, validations=MANAGED_BY_VALIDATIONS)
    metadata: dict[str, str] | None = prop("metadata", "Metadata attached to the Ray job.")
    pre_running_deadline_seconds: int | None = prop(
        "preRunningDeadlineSeconds",
        "Seconds allowed to reach Running before failing.",
        format="int32",
        minimum=1,
    )
    ray_cluster_spec: RayClusterSpec | None = prop("rayClusterSpec", "Cluster to create for the job.")
    runtime_env_yaml: str | None = prop("runtimeEnvYAML", "Ray runtime environment, as YAML.")
    shutdown_after_job_finishes: bool | None = prop(
        "shutdownAfterJobFinishes", "Delete the RayCluster when the job ends."
    )
    submission_mode: str | None = prop("submissionMode", "How the job is submitted.", default=SubmissionMode.K8S_JOB)
    submitter_config: SubmitterConfig | None = prop("submitterConfig", "Submitter Job settings.")
    submitter_pod_template: K8sObject | None = prop(
        "submitterPodTemplate", "Pod template of the submitter (K8sJobMode).", k8s_type=K8S_POD_TEMPLATE_SPEC
    )
    suspend: bool | None = prop("suspend", "Suspend the RayJob (Kueue): delete its cluster and wait.")
    ttl_seconds_after_finished: int | None = prop(
        "ttlSecondsAfterFinished", "Delay before shutdown after the job ends.", default=0, format="int32"
    )


class RayJobInfo(RayModel):
    """Timestamps reported by the Ray dashboard."""

    end_time: Time | None = prop("endTime", "When Ray finished the job.", format="date-time")
    start_time: Time | None = prop("startTime", "When Ray started the job.", format="date-time")


class RayJobStatus(RayModel):
    """Observed state of a RayJob."""

    dashboard_url: str | None = prop("dashboardURL", "Dashboard address (host:port, no scheme).")
    end_time: Time | None = prop("endTime", "When the deployment reached Complete or Failed.", format="date-time")
    failed: int | None = prop("failed", "Failed attempts.", default=0, format="int32")
    job_deployment_status: str | None = prop("jobDeploymentStatus", "State of the operator's state machine.")
    job_id: str | None = prop("jobId", "Submission ID in use.")
    job_status: str | None = prop("jobStatus", "Ray's status of the job.")
    job_status_check_failure_start_time: Time | None = prop(
        "jobStatusCheckFailureStartTime", "Since when status checks have been failing.", format="date-time"
    )
    message: str | None = prop("message", "Human-readable detail.")
    observed_generation: int | None = prop(
        "observedGeneration", "Generation this status was computed from.", format="int64"
    )
    ray_cluster_name: str | None = prop("rayClusterName", "RayCluster running the job.")
    ray_cluster_status: RayClusterStatus | None = prop("rayClusterStatus", "Copy of that RayCluster's status.")
    ray_job_info: RayJobInfo | None = prop("rayJobInfo", "Timestamps reported by Ray.")
    reason: str | None = prop("reason", "Why the RayJob failed.")
    start_time: Time | None = prop("startTime", "When the RayJob started initializing.", format="date-time")
    succeeded: int | None = prop("succeeded", "Succeeded attempts.", default=0, format="int32")


class RayJob(RayObject):
    """A Ray job and, usually, the RayCluster it runs on."""

    CRD_INFO: ClassVar[CrdInfo] = CrdInfo(
        kind="RayJob",
        plural="rayjobs",
        singular="rayjob",
        list_kind="RayJobList",
        description="RayJob runs one Ray job, on a RayCluster it creates or on an existing one.",
        printer_columns=(
            PrinterColumn("job status", "string", ".status.jobStatus"),
            PrinterColumn("deployment status", "string", ".status.jobDeploymentStatus"),
            PrinterColumn("ray cluster name", "string", ".status.rayClusterName"),
            PrinterColumn("start time", "string", ".status.startTime"),
            PrinterColumn("end time", "string", ".status.endTime"),
            PrinterColumn("age", "date", ".metadata.creationTimestamp"),
        ),
        v1alpha1_deprecation_warning=(
            "ray.io/v1alpha1 RayJob is deprecated; use ray.io/v1 RayJob. "
            "v1alpha1 receives no new fields and will be unavailable in KubeRay 1.9."
        ),
    )

    kind: Literal["RayJob"] = "RayJob"
    spec: RayJobSpec = prop("spec", "Desired state.", python_required=True)
    status: RayJobStatus | None = prop("status", "Observed state.")
