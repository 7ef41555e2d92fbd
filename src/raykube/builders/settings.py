"""Operator-wide switches that change what the builders produce, as one frozen value.

KubeRay reads these from its process environment (``ENABLE_INIT_CONTAINER_INJECTION``, ``CLUSTER_DOMAIN``...)
and from its ``config.ray.io/v1alpha1`` Configuration file (``defaultContainerEnvs``,
``headSidecarContainers``...) deep inside ``controllers/ray/common/pod.go`` and ``utils/util.go``. Here the
builders never look at the environment: the operator entry point (or the ``render`` command) builds one
:class:`OperatorSettings` and passes it in, so every builder is a pure function of (object, settings).

:func:`settings_from_mapping` accepts both spellings KubeRay users know (the environment variable names and
the Configuration keys) as well as our snake_case field names, so a deployment's existing values carry over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final

from raykube.api.schema import K8sObject
from raykube.api.validation_cluster import ValidationGates

#: The KubeRay release whose behaviour (and version stamp) raykube reproduces.
KUBERAY_VERSION: Final = "v1.7.0"
DEFAULT_CLUSTER_DOMAIN: Final = "cluster.local"
#: Pods one RayCluster may ask for (head and workers); Kubernetes' own tested limit is 150,000 per cluster.
DEFAULT_MAX_PODS_PER_CLUSTER: Final = 10_000


@dataclass(frozen=True, kw_only=True)
class OperatorSettings:
    """Every operator-level input of the builders (defaults are KubeRay v1.7.0's).

    Attributes (KubeRay's name in brackets):
        cluster_domain: DNS suffix of Service FQDNs [``CLUSTER_DOMAIN``].
        enable_init_container_injection: add ``wait-gcs-ready`` to worker pods [``ENABLE_INIT_CONTAINER_INJECTION``].
        enable_probes_injection: add liveness/readiness probes to Ray containers [``ENABLE_PROBES_INJECTION``].
        enable_login_shell: use ``/bin/bash -lc`` instead of ``-c`` [``ENABLE_LOGIN_SHELL``].
        enable_ray_head_cluster_ip_service: keep the head Service a normal ClusterIP Service instead of
            headless [``ENABLE_RAY_HEAD_CLUSTER_IP_SERVICE``].
        enable_deterministic_head_pod_name: name the head pod ``<cluster>-head`` instead of using
            ``generateName`` [``ENABLE_DETERMINISTIC_HEAD_POD_NAME``].
        enable_multi_host_indexing: stamp replica index labels on worker pods [feature gate
            ``RayMultiHostIndexing``, on in v1.7.0].
        enable_gcs_ft_redis_cleanup: put the Redis clean-up finalizer on clusters with Redis GCS FT and run the
            clean-up Job when they are deleted [``ENABLE_GCS_FT_REDIS_CLEANUP``, on].
        kuberay_version: stamped into ``ray.io/kuberay-version`` and ``RAY_USAGE_STATS_EXTRA_TAGS``.
        default_container_envs: env vars added to every Ray container when absent [``defaultContainerEnvs``].
        default_pod_labels / default_pod_annotations: added to every Ray pod when absent
            [``defaultPodLabels`` / ``defaultPodAnnotations``].
        head_sidecar_containers / worker_sidecar_containers: appended to head / worker pods
            [``headSidecarContainers`` / ``workerSidecarContainers``].
        gates: the feature gates that decide which spec fields the controllers accept [``--feature-gates``].
        enable_status_conditions: write RayCluster conditions, suspend in two steps [feature gate
            ``RayClusterStatusConditions``, on in v1.7.0].
        max_pods_per_cluster: a RayCluster asking for more pods (head and workers) is refused with a
            Warning Event and the ReplicaFailure condition [raykube only: ``--max-pods-per-cluster``; 0: no limit].
    """

    cluster_domain: str = DEFAULT_CLUSTER_DOMAIN
    enable_init_container_injection: bool = True
    enable_probes_injection: bool = True
    enable_login_shell: bool = False
    enable_ray_head_cluster_ip_service: bool = False
    enable_deterministic_head_pod_name: bool = False
    enable_multi_host_indexing: bool = True
    enable_gcs_ft_redis_cleanup: bool = True
    kuberay_version: str = KUBERAY_VERSION
    default_container_envs: tuple[K8sObject, ...] = ()
    default_pod_labels: Mapping[str, str] = field(default_factory=dict)
    default_pod_annotations: Mapping[str, str] = field(default_factory=dict)
    head_sidecar_containers: tuple[K8sObject, ...] = ()
    worker_sidecar_containers: tuple[K8sObject, ...] = ()
    gates: ValidationGates = field(default_factory=ValidationGates)
    enable_status_conditions: bool = True
    max_pods_per_cluster: int = DEFAULT_MAX_PODS_PER_CLUSTER


#: KubeRay operator environment variables -> field, with how the value is read.
_ENV_SWITCHES: Final = {
    "CLUSTER_DOMAIN": "cluster_domain",
    "ENABLE_INIT_CONTAINER_INJECTION": "enable_init_container_injection",
    "ENABLE_PROBES_INJECTION": "enable_probes_injection",
    "ENABLE_LOGIN_SHELL": "enable_login_shell",
    "ENABLE_RAY_HEAD_CLUSTER_IP_SERVICE": "enable_ray_head_cluster_ip_service",
    "ENABLE_DETERMINISTIC_HEAD_POD_NAME": "enable_deterministic_head_pod_name",
    "ENABLE_GCS_FT_REDIS_CLEANUP": "enable_gcs_ft_redis_cleanup",
}
#: Switches that are on unless set to "false" (all others are off unless "true").
_DEFAULT_ON: Final = frozenset(
    {"enable_init_container_injection", "enable_probes_injection", "enable_gcs_ft_redis_cleanup"}
)
#: KubeRay Configuration file keys -> field.
_CONFIG_KEYS: Final = {
    "defaultContainerEnvs": "default_container_envs",
    "defaultPodLabels": "default_pod_labels",
    "defaultPodAnnotations": "default_pod_annotations",
    "headSidecarContainers": "head_sidecar_containers",
    "workerSidecarContainers": "worker_sidecar_containers",
}
_TUPLE_FIELDS: Final = frozenset({"default_container_envs", "head_sidecar_containers", "worker_sidecar_containers"})


class SettingsError(ValueError):
    """A settings key or value that cannot be used."""


def settings_from_mapping(data: Mapping[str, Any]) -> OperatorSettings:
    """Settings from env-style (``ENABLE_LOGIN_SHELL: "true"``), Configuration-style or field-name keys."""
    known = {f.name for f in fields(OperatorSettings)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = _ENV_SWITCHES.get(key) or _CONFIG_KEYS.get(key) or key
        if name not in known:
            raise SettingsError(f"unknown operator setting {key!r}")
        values[name] = _coerce(name, key, value)
    return OperatorSettings(**values)


def _coerce(name: str, key: str, value: Any) -> Any:
    if name in _TUPLE_FIELDS:
        if not isinstance(value, list | tuple) or not all(isinstance(v, dict) for v in value):
            raise SettingsError(f"operator setting {key!r} must be a list of objects")
        return tuple(value)
    if name in ("default_pod_labels", "default_pod_annotations"):
        if not isinstance(value, dict):
            raise SettingsError(f"operator setting {key!r} must be a map of strings")
        return {str(k): str(v) for k, v in value.items()}
    if name in ("cluster_domain", "kuberay_version"):
        return str(value)
    if name == "max_pods_per_cluster":
        if isinstance(value, bool) or not str(value).isdigit():
            raise SettingsError(f"operator setting {key!r} must be a whole number >= 0")
        return int(value)
    return _switch(name, key, value)


def _switch(name: str, key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise SettingsError(f"operator setting {key!r} must be true or false")
    # KubeRay compares lower-cased strings: default-on switches turn off only on "false", the rest on on "true".
    if name in _DEFAULT_ON:
        return value.lower() != "false"
    return value.lower() == "true"


def settings_from_environment(environ: Mapping[str, str]) -> OperatorSettings:
    """Settings from the operator's process environment: only KubeRay's switch variables are read."""
    return settings_from_mapping({key: value for key, value in environ.items() if key in _ENV_SWITCHES})
