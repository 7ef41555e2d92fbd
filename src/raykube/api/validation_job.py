"""Controller-side rules of a ``RayJobSpec`` (also applied to ``RayCronJob.spec.jobTemplate``).

Covers suspend/shutdown, clusterSelector exclusions, submission-mode restrictions, deadlines, the runtime env
YAML, both styles of ``deletionStrategy`` and the form of ``jobId`` (a raykube rule: KubeRay has none).
Messages start with the field path (under ``path``, the JSON path of the RayJobSpec) and keep KubeRay's
wording after it where KubeRay has one.
"""

from __future__ import annotations

import re
from typing import Final

import yaml

from raykube import reasons
from raykube.api.defaults import effective_submission_mode, is_autoscaling_enabled
from raykube.api.rayjob import DeletionPolicyType, DeletionStrategy, RayJobSpec, SubmissionMode
from raykube.api.validation_cluster import ValidationGates, cluster_spec_errors

#: Deletion rules must fire in this order (by TTL) for one status: workers, then cluster, then the RayJob.
_DELETION_ORDER: Final = (
    DeletionPolicyType.DELETE_WORKERS,
    DeletionPolicyType.DELETE_CLUSTER,
    DeletionPolicyType.DELETE_SELF,
)
_CLUSTER_POLICIES: Final = (DeletionPolicyType.DELETE_CLUSTER, DeletionPolicyType.DELETE_WORKERS)
#: Longest ``jobId``. KubeRay sets no limit, but the id is a path segment of every dashboard call
#: (``/api/jobs/<jobId>``) and a word of the submitter's command: 100 KiB made every call fail. Real ids are far
#: shorter (Ray's ``raysubmit_`` + 16 characters; the generated ``<rayjob>-<5 random>``, at most 53).
MAX_JOB_ID_LENGTH: Final = 253
#: Characters that keep the id one URL path segment and one shell word, unquoted (as KubeRay's submitter uses it).
_JOB_ID: Final = re.compile(r"^[A-Za-z0-9._-]+$")


def job_spec_errors(spec: RayJobSpec, annotations: dict[str, str], path: str, gates: ValidationGates) -> list[str]:
    """Every rule KubeRay applies to a RayJobSpec."""
    errors: list[str] = []
    _lifecycle_errors(spec, path, errors)
    _deletion_errors(spec, path, gates, errors)
    _mode_errors(spec, path, errors)
    if spec.ray_cluster_spec is not None:
        errors.extend(cluster_spec_errors(spec.ray_cluster_spec, annotations, f"{path}.rayClusterSpec", gates))
        auth = spec.ray_cluster_spec.auth_options
        if auth is not None and auth.enable_k8s_token_auth:
            errors.append(
                f"{path}.rayClusterSpec.authOptions.enableK8sTokenAuth: Kubernetes token authentication "
                "is not supported for RayJob"
            )
    _runtime_env_errors(spec, path, errors)
    _job_id_errors(spec.job_id or "", f"{path}.jobId", errors)
    return errors


def _job_id_errors(job_id: str, path: str, errors: list[str]) -> None:
    """An empty id is generated; a set one must fit a URL path segment (the value is not echoed: it may be huge)."""
    if not job_id:
        return
    if len(job_id) > MAX_JOB_ID_LENGTH:
        errors.append(f"{path}: must be no more than {MAX_JOB_ID_LENGTH} characters, got {len(job_id)}")
    elif not _JOB_ID.match(job_id) or job_id in (".", ".."):
        errors.append(
            f"{path}: '{job_id}' is not a valid submission id: use letters, digits, '-', '_' and '.' "
            "(not '.' or '..' alone); it is a path segment of the Ray dashboard's Jobs API"
        )


def _lifecycle_errors(spec: RayJobSpec, path: str, errors: list[str]) -> None:
    shutdown = bool(spec.shutdown_after_job_finishes)
    if spec.suspend and not shutdown:
        errors.append(
            f"{path}.suspend: a RayJob with shutdownAfterJobFinishes set to false is not allowed to be suspended"
        )
    ttl = spec.ttl_seconds_after_finished or 0
    if ttl < 0:
        errors.append(f"{path}.ttlSecondsAfterFinished ({ttl}) must be a non-negative integer")
    if ttl > 0 and not shutdown:
        errors.append(
            f"{path}.ttlSecondsAfterFinished: a RayJob with shutdownAfterJobFinishes set to false "
            "cannot have TTLSecondsAfterFinished"
        )
    for field, value in (
        ("activeDeadlineSeconds", spec.active_deadline_seconds),
        ("preRunningDeadlineSeconds", spec.pre_running_deadline_seconds),
    ):
        if value is not None and value <= 0:
            errors.append(f"{path}.{field} ({value}) must be a positive integer")
    if spec.backoff_limit is not None and spec.backoff_limit < 0:
        errors.append(f"{path}.backoffLimit ({spec.backoff_limit}) must be a non-negative integer")


def _mode_errors(spec: RayJobSpec, path: str, errors: list[str]) -> None:
    mode = effective_submission_mode(spec)
    template = spec.submitter_pod_template
    if template is not None:
        pod_spec = template.get("spec")
        containers = pod_spec.get("containers") if isinstance(pod_spec, dict) else None
        if not isinstance(containers, list) or not containers:
            errors.append(
                f"{path}.submitterPodTemplate.spec.containers: submitterPodTemplate should have at least one container"
            )
    retries = spec.backoff_limit is not None and spec.backoff_limit > 0
    if spec.cluster_selector:
        _selector_errors(spec, path, errors, sidecar=mode == SubmissionMode.SIDECAR, retries=retries)
    elif spec.ray_cluster_spec is None:
        errors.append(f"{path}: one of RayClusterSpec or ClusterSelector must be set")
    if mode == SubmissionMode.INTERACTIVE and retries:
        errors.append(f"{path}.backoffLimit: BackoffLimit is incompatible with InteractiveMode")
    if mode == SubmissionMode.SIDECAR:
        _sidecar_errors(spec, path, errors)


def _selector_errors(spec: RayJobSpec, path: str, errors: list[str], *, sidecar: bool, retries: bool) -> None:
    """What the ClusterSelector mode (a job on an existing cluster) does not allow."""
    selector = spec.cluster_selector or {}
    if not selector.get(reasons.LABEL_CLUSTER):
        errors.append(
            f"{path}.clusterSelector: cluster name in ClusterSelector should not be empty "
            f"(key {reasons.LABEL_CLUSTER})"
        )
    if spec.suspend:
        errors.append(f"{path}.suspend: the ClusterSelector mode doesn't support the suspend operation")
    if sidecar:
        errors.append(f"{path}.clusterSelector: ClusterSelector is not supported in SidecarMode")
    if retries:
        errors.append(f"{path}.backoffLimit: BackoffLimit is incompatible with the ClusterSelector mode")


def _sidecar_errors(spec: RayJobSpec, path: str, errors: list[str]) -> None:
    """What SidecarMode (the submitter as a container of the head pod) does not allow."""
    if spec.submitter_pod_template is not None:
        errors.append(f"{path}.submitterPodTemplate: Currently, SidecarMode doesn't support SubmitterPodTemplate")
    if spec.submitter_config is not None:
        errors.append(f"{path}.submitterConfig: Currently, SidecarMode doesn't support SubmitterConfig")
    if spec.ray_cluster_spec is not None:
        policy = (spec.ray_cluster_spec.head_group_spec.template.get("spec") or {}).get("restartPolicy")
        if policy not in (None, "", "Never"):
            errors.append(
                f"{path}.rayClusterSpec.headGroupSpec.template.spec.restartPolicy: restartPolicy for head "
                "Pod should be Never or unset when using SidecarMode"
            )


def _runtime_env_errors(spec: RayJobSpec, path: str, errors: list[str]) -> None:
    if not spec.runtime_env_yaml:
        return
    try:
        parsed = yaml.safe_load(spec.runtime_env_yaml)
    except yaml.YAMLError as exc:
        errors.append(f"{path}.runtimeEnvYAML: not valid YAML: {str(exc).splitlines()[0]}")
        return
    if parsed is not None and not isinstance(parsed, dict):
        errors.append(f"{path}.runtimeEnvYAML: must be a YAML mapping, got {type(parsed).__name__}")


def _deletion_errors(spec: RayJobSpec, path: str, gates: ValidationGates, errors: list[str]) -> None:
    strategy = spec.deletion_strategy
    if strategy is None:
        return
    where = f"{path}.deletionStrategy"
    if not gates.rayjob_deletion_policy:
        errors.append(f"{where}: RayJobDeletionPolicy feature gate must be enabled to use DeletionStrategy")
        return
    legacy = strategy.on_success is not None or strategy.on_failure is not None
    rules = bool(strategy.deletion_rules)
    if rules and spec.shutdown_after_job_finishes:
        errors.append(
            f"{where}.deletionRules: spec.shutdownAfterJobFinishes and spec.deletionStrategy.deletionRules "
            "are mutually exclusive"
        )
    if rules and legacy:
        errors.append(f"{where}: Cannot use both legacy onSuccess/onFailure fields and deletionRules simultaneously")
    elif legacy:
        _legacy_policy_errors(spec, strategy, where, errors)
    elif rules:
        _deletion_rule_errors(spec, strategy, where, errors)
    else:
        errors.append(
            f"{where}: DeletionStrategy requires either BOTH onSuccess and onFailure, OR the deletionRules "
            "field (cannot be empty)"
        )


def _legacy_policy_errors(spec: RayJobSpec, strategy: DeletionStrategy, where: str, errors: list[str]) -> None:
    if strategy.on_success is None or strategy.on_failure is None:
        errors.append(
            f"{where}: both DeletionStrategy.OnSuccess and DeletionStrategy.OnFailure must be set when using "
            "the legacy deletion policy fields of DeletionStrategy"
        )
        return
    policies = {"onSuccess": strategy.on_success.policy, "onFailure": strategy.on_failure.policy}
    for name, policy in policies.items():
        if policy is None:
            errors.append(f"{where}.{name}.policy: must be set when DeletionStrategy is enabled")
        elif spec.cluster_selector and policy in _CLUSTER_POLICIES:
            errors.append(f"{where}.{name}.policy: the ClusterSelector mode doesn't support DeletionStrategy={policy}")
    if DeletionPolicyType.DELETE_WORKERS in policies.values() and is_autoscaling_enabled(spec.ray_cluster_spec):
        errors.append(
            f"{where}: DeletionStrategy=DeleteWorkers currently does not support RayCluster with autoscaling enabled"
        )
    if spec.shutdown_after_job_finishes and DeletionPolicyType.DELETE_NONE in policies.values():
        errors.append(f"{where}: shutdownAfterJobFinishes is set to 'true' while deletion policy is 'DeleteNone'")


def _deletion_rule_errors(spec: RayJobSpec, strategy: DeletionStrategy, where: str, errors: list[str]) -> None:
    autoscaling = is_autoscaling_enabled(spec.ray_cluster_spec)
    ttls: dict[str, dict[str, int]] = {}
    for index, rule in enumerate(strategy.deletion_rules or []):
        rule_path = f"{where}.deletionRules[{index}]"
        ttl = rule.condition.ttl_seconds or 0
        if ttl < 0:
            errors.append(f"{rule_path}.condition.ttlSeconds ({ttl}) must be non-negative")
            continue
        if spec.cluster_selector and rule.policy in _CLUSTER_POLICIES:
            errors.append(f"{rule_path}.policy: '{rule.policy}' not supported when ClusterSelector is set")
            continue
        if autoscaling and rule.policy == DeletionPolicyType.DELETE_WORKERS:
            errors.append(f"{rule_path}.policy: 'DeleteWorkers' not supported with autoscaling enabled")
            continue
        status = _rule_status(rule.condition.job_status, rule.condition.job_deployment_status)
        by_policy = ttls.setdefault(status, {})
        if rule.policy in by_policy:
            errors.append(f"{rule_path}: duplicate rule for policy '{rule.policy}' and {status}")
            continue
        by_policy[rule.policy] = ttl
    for status, by_policy in ttls.items():
        previous: tuple[str, int] | None = None
        for policy in _DELETION_ORDER:
            if policy not in by_policy:
                continue
            ttl = by_policy[policy]
            if previous is not None and ttl < previous[1]:
                errors.append(
                    f"{where}.deletionRules: for {status}: {policy} TTL ({ttl}) must be >= "
                    f"{previous[0]} TTL ({previous[1]})"
                )
            previous = (policy, ttl)


def _rule_status(job_status: str | None, deployment_status: str | None) -> str:
    if job_status:
        return f"jobStatus '{job_status}'"
    return f"jobDeploymentStatus '{deployment_status or ''}'"
