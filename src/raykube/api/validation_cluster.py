"""Controller-side rules of a ``RayClusterSpec`` and of object names, shared by all four kinds.

Each rule is a small function that appends messages to a list; the spec rules take the JSON path of the spec
(``spec``, ``spec.rayClusterSpec``, ``spec.rayClusterConfig``, ``spec.jobTemplate.rayClusterSpec``) so that
every message starts with the full path of the offending field. Unlike KubeRay, which stops at the first
error, all violations are reported. Public entry points are in :mod:`raykube.api.validation`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from raykube import reasons
from raykube.api.cluster_options import AutoscalerVersion, GcsBackend
from raykube.api.defaults import (
    container_env,
    is_auth_enabled,
    is_autoscaler_v2,
    is_autoscaling_enabled,
    is_gcs_fault_tolerance_enabled,
    ray_container,
)
from raykube.api.raycluster import RayClusterSpec, WorkerGroupSpec

_DNS1035: Final = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE: Final = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME: Final = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS1123_SUBDOMAIN: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_VERSION: Final = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")

#: rayStartParams keys that conflict with a group's ``resources`` field.
RESOURCE_START_PARAMS: Final = ("num-cpus", "num-gpus", "memory", "resources")
MIN_RAY_VERSION_TOKEN_AUTH: Final = (2, 52, 0)
MIN_RAY_VERSION_K8S_TOKEN_AUTH: Final = (2, 55, 0)


@dataclass(frozen=True, kw_only=True)
class ValidationGates:
    """Feature gates that change validation (defaults are KubeRay v1.7.0's; the operator's ``--feature-gates``
    sets them). A field whose gate is off is rejected with KubeRay's message.

    Attributes (the gate in brackets):
        rayjob_deletion_policy: RayJob deletionStrategy, worker group suspend [RayJobDeletionPolicy].
        network_policy: ``spec.networkPolicy`` [RayClusterNetworkPolicy].
        mtls: ``spec.tlsOptions`` [RayClusterMTLS].
        history_server: ``spec.historyServerOptions`` [RayClusterHistoryServer].
        gcs_embedded_storage: ``gcsFaultToleranceOptions.backend: rocksdb`` [GCSFaultToleranceEmbeddedStorage].
    """

    rayjob_deletion_policy: bool = True
    network_policy: bool = False
    mtls: bool = False
    history_server: bool = False
    gcs_embedded_storage: bool = False


def name_errors(kind: str, name: str, max_length: int) -> list[str]:
    """``metadata.name`` length limit and DNS-1035 label syntax."""
    errors: list[str] = []
    if len(name) > max_length:
        errors.append(f"metadata.name: {kind} name should be no more than {max_length} characters (got {len(name)})")
    if not _DNS1035.match(name) or len(name) > 63:
        errors.append(
            f"metadata.name: {kind} name should be a valid DNS1035 label: '{name}' must consist of lower case "
            "alphanumeric characters or '-', start with an alphabetic character, and end with an "
            "alphanumeric character"
        )
    return errors


def parse_ray_version(text: str) -> tuple[int, int, int] | None:
    """``major.minor[.patch]`` (optionally ``v``-prefixed, suffixes ignored) or None if unparsable."""
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def cluster_spec_errors(
    spec: RayClusterSpec, annotations: dict[str, str], path: str, gates: ValidationGates
) -> list[str]:
    """Every rule KubeRay applies to a RayClusterSpec, wherever it is embedded."""
    errors: list[str] = []
    _group_errors(spec, path, errors)
    _replica_errors(spec, path, errors)
    _gcs_errors(spec, annotations, path, errors)
    _gcs_backend_errors(spec, path, errors)
    _suspend_errors(spec, path, gates, errors)
    _gated_field_errors(spec, path, gates, errors)
    _autoscaler_errors(spec, path, errors)
    _idle_timeout_errors(spec, path, errors)
    _auth_errors(spec, path, errors)
    return errors


def _containers(template: dict[str, object]) -> list[object]:
    pod_spec = template.get("spec")
    containers = pod_spec.get("containers") if isinstance(pod_spec, dict) else None
    return containers if isinstance(containers, list) else []


def _group_errors(spec: RayClusterSpec, path: str, errors: list[str]) -> None:
    head = spec.head_group_spec
    head_path = f"{path}.headGroupSpec"
    if not _containers(head.template):
        errors.append(f"{head_path}.template.spec.containers: headGroupSpec should have at least one container")
    _start_param_errors("Head", head.ray_start_params, head.resources, head.labels, head_path, errors)
    seen: dict[str, int] = {}
    for index, group in enumerate(spec.worker_group_specs or []):
        group_path = f"{path}.workerGroupSpecs[{index}]"
        if not _containers(group.template):
            errors.append(f"{group_path}.template.spec.containers: workerGroupSpec should have at least one container")
        if group.group_name in seen:
            errors.append(
                f"{group_path}.groupName: duplicate worker group name '{group.group_name}' "
                f"(already used by workerGroupSpecs[{seen[group.group_name]}])"
            )
        else:
            seen[group.group_name] = index
        _group_name_errors(group, group_path, errors)
        _start_param_errors(group.group_name, group.ray_start_params, group.resources, group.labels, group_path, errors)


#: A multi-host replica is labelled ``<groupName>-<5 random>`` (``ray.io/worker-group-replica-name``).
_REPLICA_SUFFIX_LENGTH: Final = 6


def _group_name_errors(group: WorkerGroupSpec, group_path: str, errors: list[str]) -> None:
    """raykube only: the group name is the value of the pods' ``ray.io/group`` label (and, with numOfHosts > 1,
    the start of ``ray.io/worker-group-replica-name``). KubeRay does not check it; every pod create of such a
    group is then refused by the API server, pass after pass."""
    name = group.group_name
    limit = 63 - (_REPLICA_SUFFIX_LENGTH if (group.num_of_hosts or 1) > 1 else 0)
    if len(name) > limit or not _LABEL_VALUE.match(name):
        errors.append(
            f"{group_path}.groupName: worker group name '{name}' must be a valid label value: at most {limit} "
            "characters, alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric character"
        )


def _start_param_errors(
    group_name: str,
    params: dict[str, str] | None,
    resources: dict[str, str] | None,
    labels: dict[str, str] | None,
    group_path: str,
    errors: list[str],
) -> None:
    params = params or {}
    if resources and any(params.get(key) for key in RESOURCE_START_PARAMS):
        errors.append(
            f"{group_path}.rayStartParams: resource fields should not be set in both rayStartParams and "
            f"Resources for {group_name} group; please use only one"
        )
    if "labels" in params:
        errors.append(
            f"{group_path}.rayStartParams: rayStartParams['labels'] is not supported for {group_name} group; "
            "please use the top-level Labels field instead"
        )
    for key, value in (labels or {}).items():
        if not _is_qualified_name(key):
            errors.append(f"{group_path}.labels: invalid label key for {group_name} group: '{key}'")
        if len(value) > 63 or not _LABEL_VALUE.match(value):
            errors.append(f"{group_path}.labels: invalid label value for key '{key}' in {group_name} group: '{value}'")


def _is_qualified_name(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_LABEL_NAME.match(name))


def _replica_errors(spec: RayClusterSpec, path: str, errors: list[str]) -> None:
    autoscaling = is_autoscaling_enabled(spec)
    for index, group in enumerate(spec.worker_group_specs or []):
        group_path = f"{path}.workerGroupSpecs[{index}]"
        if not autoscaling:
            for field, value in (("minReplicas", group.min_replicas), ("maxReplicas", group.max_replicas)):
                if value is None:
                    errors.append(f"{group_path}.{field} must be set when enableInTreeAutoscaling is not true")
        _bounds_errors(group, group_path, errors)


def _bounds_errors(group: WorkerGroupSpec, group_path: str, errors: list[str]) -> None:
    low, high = group.min_replicas, group.max_replicas
    if low is not None and low < 0:
        errors.append(f"{group_path}.minReplicas ({low}) must be >= 0")
    if high is not None and high < 0:
        errors.append(f"{group_path}.maxReplicas ({high}) must be >= 0")
    if low is not None and high is not None and 0 <= high < low:
        errors.append(f"{group_path}.minReplicas ({low}) > maxReplicas ({high})")


def _gcs_errors(spec: RayClusterSpec, annotations: dict[str, str], path: str, errors: list[str]) -> None:
    head_path = f"{path}.headGroupSpec"
    env_path = f"{head_path}.template.spec.containers[0].env"
    container = ray_container(spec.head_group_spec.template)
    params = spec.head_group_spec.ray_start_params or {}
    options_set = spec.gcs_fault_tolerance_options is not None
    if annotations.get(reasons.ANNOTATION_FT_ENABLED) and options_set:
        errors.append(
            f"metadata.annotations[{reasons.ANNOTATION_FT_ENABLED}]: the annotation and "
            f"{path}.gcsFaultToleranceOptions are both set. "
            "Please use only GcsFaultToleranceOptions to configure GCS fault tolerance"
        )
    redis_address = container_env(container, reasons.ENV_RAY_REDIS_ADDRESS) is not None
    if not is_gcs_fault_tolerance_enabled(spec, annotations) and redis_address:
        errors.append(
            f"{env_path}: {reasons.ENV_RAY_REDIS_ADDRESS} is set which implicitly enables GCS fault tolerance, "
            f"but GcsFaultToleranceOptions is not set. Please set {path}.gcsFaultToleranceOptions "
            "to enable GCS fault tolerance"
        )
    if options_set:
        if params.get("redis-password"):
            errors.append(
                f"{head_path}.rayStartParams: cannot set `redis-password` when GcsFaultToleranceOptions "
                "is enabled - use GcsFaultToleranceOptions.RedisPassword instead"
            )
        if container_env(container, reasons.ENV_REDIS_PASSWORD) is not None:
            errors.append(
                f"{env_path}: cannot set `REDIS_PASSWORD` env var in head Pod when GcsFaultToleranceOptions "
                "is enabled - use GcsFaultToleranceOptions.RedisPassword instead"
            )
        if redis_address:
            errors.append(
                f"{env_path}: cannot set `RAY_REDIS_ADDRESS` env var in head Pod when "
                "GcsFaultToleranceOptions is enabled - use GcsFaultToleranceOptions.RedisAddress instead"
            )
        if annotations.get(reasons.ANNOTATION_EXTERNAL_STORAGE_NAMESPACE):
            errors.append(
                f"metadata.annotations[{reasons.ANNOTATION_EXTERNAL_STORAGE_NAMESPACE}]: cannot be set when "
                "GcsFaultToleranceOptions is enabled - use GcsFaultToleranceOptions.ExternalStorageNamespace "
                "instead"
            )
    if params.get("redis-username") or container_env(container, reasons.ENV_REDIS_USERNAME) is not None:
        errors.append(
            f"{head_path}: cannot set redis username in rayStartParams or environment variables "
            "- use GcsFaultToleranceOptions.RedisUsername instead"
        )


def _gcs_backend_errors(spec: RayClusterSpec, path: str, errors: list[str]) -> None:
    """The rocksdb backend takes no Redis settings; ``storage`` is rocksdb-only (its gate: `_gated_field_errors`)."""
    options = spec.gcs_fault_tolerance_options
    if options is None:
        return
    where = f"{path}.gcsFaultToleranceOptions"
    if options.backend != GcsBackend.ROCKSDB:
        if options.storage is not None:
            errors.append(f"{where}.storage: can only be set with backend rocksdb")
        return
    redis_fields = {
        "redisAddress": options.redis_address,
        "redisPassword": options.redis_password,
        "redisUsername": options.redis_username,
        "externalStorageNamespace": options.external_storage_namespace,
    }
    for field_name, value in redis_fields.items():
        if value is not None:
            errors.append(f"{where}.{field_name}: cannot be set with backend rocksdb (it is a Redis setting)")


def _suspend_errors(spec: RayClusterSpec, path: str, gates: ValidationGates, errors: list[str]) -> None:
    autoscaling = is_autoscaling_enabled(spec)
    for index, group in enumerate(spec.worker_group_specs or []):
        if not group.suspend:
            continue
        where = f"{path}.workerGroupSpecs[{index}].suspend"
        if not gates.rayjob_deletion_policy:
            errors.append(
                f"{where}: worker group {group.group_name} can be suspended only when the "
                "RayJobDeletionPolicy feature gate is enabled"
            )
        if autoscaling:
            errors.append(f"{where}: worker group {group.group_name} cannot be suspended with Autoscaler enabled")


def _gated_field_errors(spec: RayClusterSpec, path: str, gates: ValidationGates, errors: list[str]) -> None:
    """Alpha fields whose feature gate is off (KubeRay v1.7.0's messages after the field's path)."""
    if spec.network_policy is not None and not gates.network_policy:
        errors.append(
            f"{path}.networkPolicy: spec.networkPolicy requires the RayClusterNetworkPolicy feature gate to be enabled"
        )
    if spec.tls_options is not None and not gates.mtls:
        errors.append(f"{path}.tlsOptions: spec.tlsOptions requires the RayClusterMTLS feature gate to be enabled")
    if spec.history_server_options is not None and not gates.history_server:
        errors.append(f"{path}.historyServerOptions: RayClusterHistoryServer feature gate is not enabled")
    gcs = spec.gcs_fault_tolerance_options
    if gcs is not None and gcs.backend == GcsBackend.ROCKSDB and not gates.gcs_embedded_storage:
        errors.append(
            f"{path}.gcsFaultToleranceOptions.backend: the embedded RocksDB GCS fault tolerance backend "
            "(GcsFaultToleranceOptions.Backend: 'rocksdb') requires the GCSFaultToleranceEmbeddedStorage feature "
            "gate to be enabled"
        )


def _autoscaler_errors(spec: RayClusterSpec, path: str, errors: list[str]) -> None:
    env_path = f"{path}.headGroupSpec.template.spec.containers[0].env"
    env = container_env(ray_container(spec.head_group_spec.template), reasons.ENV_RAY_ENABLE_AUTOSCALER_V2)
    name = reasons.ENV_RAY_ENABLE_AUTOSCALER_V2
    if not is_autoscaling_enabled(spec):
        if env is not None and env.get("value") in ("1", "true"):
            errors.append(
                f"{env_path}: environment variable {name} cannot be set to '{env['value']}' when "
                "enableInTreeAutoscaling is false. Please set enableInTreeAutoscaling: true to use autoscaler v2"
            )
        return
    options = spec.autoscaler_options
    if options is not None and options.version is not None and env is not None:
        errors.append(
            f"{path}.autoscalerOptions.version: both {path}.autoscalerOptions.version and head Pod env var "
            f"{name} are set, please only use the former"
        )
    if not is_autoscaler_v2(spec):
        return
    head_policy = (spec.head_group_spec.template.get("spec") or {}).get("restartPolicy")
    if head_policy not in (None, "", "Never"):
        errors.append(
            f"{path}.headGroupSpec.template.spec.restartPolicy: restartPolicy for head Pod should be Never "
            "or unset when using autoscaler V2"
        )
    for index, group in enumerate(spec.worker_group_specs or []):
        policy = (group.template.get("spec") or {}).get("restartPolicy")
        if policy not in (None, "", "Never"):
            errors.append(
                f"{path}.workerGroupSpecs[{index}].template.spec.restartPolicy: restartPolicy for worker "
                f"group {group.group_name} should be Never or unset when using autoscaler V2"
            )


def _idle_timeout_errors(spec: RayClusterSpec, path: str, errors: list[str]) -> None:
    """Idle timeouts are never negative; a worker group's is read by autoscaler v2 only (KubeRay's messages)."""
    options = spec.autoscaler_options
    if options is not None and options.idle_timeout_seconds is not None and options.idle_timeout_seconds < 0:
        errors.append(
            f"{path}.autoscalerOptions.idleTimeoutSeconds: autoscalerOptions.idleTimeoutSeconds must be "
            f"non-negative, got {options.idle_timeout_seconds}"
        )
    # KubeRay's IsAutoscalingV2Enabled: `version: v2` alone (enableInTreeAutoscaling is not consulted here).
    v2_version = options is not None and options.version == AutoscalerVersion.V2
    env = container_env(ray_container(spec.head_group_spec.template), reasons.ENV_RAY_ENABLE_AUTOSCALER_V2)
    v2 = v2_version or (env is not None and env.get("value") in ("1", "true"))
    for index, group in enumerate(spec.worker_group_specs or []):
        timeout = group.idle_timeout_seconds
        where = f"{path}.workerGroupSpecs[{index}].idleTimeoutSeconds"
        if timeout is None:
            continue
        if timeout < 0:
            errors.append(
                f"{where}: worker group {group.group_name}: idleTimeoutSeconds must be non-negative, got {timeout}"
            )
        elif not v2:
            errors.append(
                f"{where}: worker group {group.group_name}: idleTimeoutSeconds is set, but autoscaler v2 is not "
                "enabled. Please set .spec.autoscalerOptions.version to 'v2' (or set "
                f"{reasons.ENV_RAY_ENABLE_AUTOSCALER_V2} environment variable to 'true' in the head pod if using "
                "KubeRay < 1.4.0)"
            )


def _auth_errors(spec: RayClusterSpec, path: str, errors: list[str]) -> None:
    options = spec.auth_options
    if options is None:
        return
    version_text = spec.ray_version or ""
    version = parse_ray_version(version_text)
    if is_auth_enabled(spec):
        if not version_text:
            errors.append(
                f"{path}.rayVersion: authOptions.mode is 'token' but RayVersion was not specified. "
                "Ray version 2.52.0 or later is required"
            )
        elif version is None:
            errors.append(
                f"{path}.rayVersion: authOptions.mode is 'token' but RayVersion format is invalid: {version_text}"
            )
        elif version < MIN_RAY_VERSION_TOKEN_AUTH:
            errors.append(
                f"{path}.rayVersion: authOptions.mode is 'token' but minimum Ray version is 2.52.0, got {version_text}"
            )
    if options.enable_k8s_token_auth:
        if version is None or version < MIN_RAY_VERSION_K8S_TOKEN_AUTH:
            errors.append(
                f"{path}.authOptions.enableK8sTokenAuth: requires rayVersion 2.55.0 or later, got '{version_text}'"
            )
        if options.secret_name:
            errors.append(f"{path}.authOptions.secretName: cannot be set together with authOptions.enableK8sTokenAuth")
        if not is_auth_enabled(spec):
            errors.append(
                f"{path}.authOptions.enableK8sTokenAuth: authOptions.enableK8sTokenAuth is enabled but "
                "authOptions.mode not set to 'token'"
            )
