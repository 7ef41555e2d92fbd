"""Defaults and effective values of the ray.io/v1 types: pure functions, no I/O, inputs never mutated.

Two kinds of defaults exist and are kept apart:

* **CRD defaults** are applied by the API server when an object is stored (``replicas: 0``, ``numOfHosts: 1``,
  ``submissionMode: K8sJobMode``...). They are recorded in the field metadata (:mod:`raykube.api.schema`);
  :func:`apply_crd_defaults` reproduces them for objects that never went through an API server (CLI
  manifests, tests).
* **Operator defaults** are what KubeRay's controllers assume when a field is unset (``rayStartParams`` nil ->
  ``{}``, submitter ``backoffLimit`` 2, ``rayClusterDeletionDelaySeconds`` 60 ...). :func:`set_raycluster_defaults`
  mirrors KubeRay's ``setDefaults``; the ``effective_*`` functions answer "what value applies" without
  writing it into the object.

The ``is_*`` predicates (autoscaling, autoscaler v2, auth, GCS fault tolerance) are derived from the same
fields and are shared by validation, builders and controllers.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

from pydantic import BaseModel

from raykube import reasons
from raykube.api.cluster_options import AuthMode, AutoscalerVersion
from raykube.api.raycluster import MAX_INT32, HeadGroupSpec, RayClusterSpec, WorkerGroupSpec
from raykube.api.rayjob import RayJobSpec, SubmissionMode
from raykube.api.rayservice import RayServiceSpec, ServiceUpgradeType
from raykube.api.schema import K8sObject, RayModel, crd_prop

#: Submitter Job ``backoffLimit`` when ``submitterConfig.backoffLimit`` is unset.
DEFAULT_SUBMITTER_BACKOFF_LIMIT: Final = 2
#: Seconds before a RayService deletes a cluster it no longer uses.
DEFAULT_RAYCLUSTER_DELETION_DELAY_SECONDS: Final = 60
#: Ingress path and pathType when ``ingressOptions`` leaves them unset.
DEFAULT_INGRESS_PATH: Final = "/"
DEFAULT_INGRESS_PATH_TYPE: Final = "Prefix"
#: ``clusterUpgradeOptions.maxSurgePercent`` when unset.
DEFAULT_MAX_SURGE_PERCENT: Final = 100

M = TypeVar("M", bound=BaseModel)


# --- CRD (API server) defaults ---------------------------------------------------------------------------------


def apply_crd_defaults(model: M) -> M:
    """A copy of ``model`` with every unset field that has a CRD default filled in, at every depth.

    Like the API server, defaults are applied only inside objects that are present: a missing
    ``networkPolicy`` stays missing, a present one gets ``mode: DenyAll``.
    """
    update: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None:
            default = crd_prop(info).default
            if default is not None:
                update[name] = default
        else:
            defaulted = _default_value(value)
            if defaulted is not value:
                update[name] = defaulted
    return model.model_copy(update=update) if update else model


def _default_value(value: Any) -> Any:
    if isinstance(value, RayModel):
        return apply_crd_defaults(value)
    if isinstance(value, list):
        items = [_default_value(item) for item in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(value, dict) and any(isinstance(v, RayModel) for v in value.values()):
        return {key: _default_value(item) for key, item in value.items()}
    return value


# --- Operator defaults -----------------------------------------------------------------------------------------


def set_raycluster_defaults(spec: RayClusterSpec) -> RayClusterSpec:
    """KubeRay's ``setDefaults``: nil ``rayStartParams`` of the head and of every worker group become ``{}``."""
    head = spec.head_group_spec
    if head.ray_start_params is None:
        head = head.model_copy(update={"ray_start_params": {}})
    workers = [
        group if group.ray_start_params is not None else group.model_copy(update={"ray_start_params": {}})
        for group in spec.worker_group_specs or []
    ]
    update: dict[str, Any] = {"head_group_spec": head}
    if spec.worker_group_specs is not None:
        update["worker_group_specs"] = workers
    return spec.model_copy(update=update)


def effective_replicas(group: WorkerGroupSpec) -> int:
    """Pods the operator keeps for a worker group.

    0 when the group is suspended; otherwise ``replicas`` (``minReplicas`` when unset or below it), capped at
    ``maxReplicas``, times ``numOfHosts`` (so none when ``numOfHosts`` is below 1, as in KubeRay).
    """
    if group.suspend:
        return 0
    low = group.min_replicas if group.min_replicas is not None else 0
    high = group.max_replicas if group.max_replicas is not None else MAX_INT32
    replicas = group.replicas
    if replicas is None or replicas < low:
        replicas = low
    replicas = min(replicas, high)
    return replicas * effective_num_of_hosts(group)


def desired_pod_count(spec: RayClusterSpec) -> int:
    """Pods the cluster asks for: one head plus every worker group's effective size."""
    return 1 + sum(effective_replicas(group) for group in spec.worker_group_specs or [])


def effective_num_of_hosts(group: WorkerGroupSpec) -> int:
    """``numOfHosts``, 1 when unset, 0 when below 1.

    KubeRay counts ``replicas x numOfHosts`` pods for a group, so a group with ``numOfHosts: 0`` keeps no pods,
    and ``-1`` would ask for a negative number of them: raykube counts 0 (and says so in a Warning Event,
    `raykube.api.spec_warnings`)."""
    hosts = group.num_of_hosts if group.num_of_hosts is not None else 1
    return max(hosts, 0)


def effective_submission_mode(spec: RayJobSpec) -> str:
    """``submissionMode``, ``K8sJobMode`` when unset."""
    return spec.submission_mode or SubmissionMode.K8S_JOB


def effective_submitter_backoff_limit(spec: RayJobSpec) -> int:
    """``backoffLimit`` of the submitter Kubernetes Job; the default when unset or negative (which the API server
    would refuse in a Job; KubeRay passes it on)."""
    config = spec.submitter_config
    if config is not None and config.backoff_limit is not None and config.backoff_limit >= 0:
        return config.backoff_limit
    return DEFAULT_SUBMITTER_BACKOFF_LIMIT


def effective_deletion_delay_seconds(spec: RayServiceSpec) -> int:
    """``rayClusterDeletionDelaySeconds``, 60 when unset."""
    delay = spec.ray_cluster_deletion_delay_seconds
    return delay if delay is not None else DEFAULT_RAYCLUSTER_DELETION_DELAY_SECONDS


def effective_upgrade_type(spec: RayServiceSpec, *, zero_downtime_enabled: bool = True) -> str:
    """RayService upgrade type; unset means NewCluster, or None when the operator disables zero downtime."""
    if spec.upgrade_strategy is not None and spec.upgrade_strategy.type is not None:
        return spec.upgrade_strategy.type
    return ServiceUpgradeType.NEW_CLUSTER if zero_downtime_enabled else ServiceUpgradeType.NONE


def effective_ingress_path(head: HeadGroupSpec) -> tuple[str, str]:
    """``(path, pathType)`` of the head Ingress rule."""
    options = head.ingress_options
    path = options.path if options is not None and options.path else DEFAULT_INGRESS_PATH
    path_type = options.path_type if options is not None and options.path_type else DEFAULT_INGRESS_PATH_TYPE
    return path, path_type


# --- Derived predicates ----------------------------------------------------------------------------------------


def ray_container(template: K8sObject) -> K8sObject:
    """The Ray container of a pod template (``containers[0]``), ``{}`` when there is none."""
    containers = (template.get("spec") or {}).get("containers") or []
    first = containers[0] if containers else {}
    return first if isinstance(first, dict) else {}


def container_env(container: K8sObject, name: str) -> K8sObject | None:
    """The env entry ``name`` of a container, or None."""
    for entry in container.get("env") or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    return None


def is_autoscaling_enabled(spec: RayClusterSpec | None) -> bool:
    """``enableInTreeAutoscaling`` is true."""
    return spec is not None and bool(spec.enable_in_tree_autoscaling)


def is_autoscaler_v2(spec: RayClusterSpec) -> bool:
    """Autoscaling with autoscaler v2: ``autoscalerOptions.version: v2``, or else the head env switch."""
    if not is_autoscaling_enabled(spec):
        return False
    options = spec.autoscaler_options
    if options is not None and options.version is not None:
        return options.version == AutoscalerVersion.V2
    env = container_env(ray_container(spec.head_group_spec.template), reasons.ENV_RAY_ENABLE_AUTOSCALER_V2)
    return env is not None and env.get("value") in ("1", "true")


def is_auth_enabled(spec: RayClusterSpec) -> bool:
    """Token authentication is on (``authOptions.mode: token``)."""
    return spec.auth_options is not None and spec.auth_options.mode == AuthMode.TOKEN


def is_gcs_fault_tolerance_enabled(spec: RayClusterSpec, annotations: dict[str, str]) -> bool:
    """GCS FT is on: ``gcsFaultToleranceOptions`` is set, or the legacy ``ray.io/ft-enabled: "true"``."""
    if spec.gcs_fault_tolerance_options is not None:
        return True
    return annotations.get(reasons.ANNOTATION_FT_ENABLED, "").lower() == "true"
