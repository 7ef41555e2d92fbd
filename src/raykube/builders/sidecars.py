"""Containers and settings the operator injects into Ray pods besides the Ray container itself.

* the ``wait-gcs-ready`` init container of worker pods (``DefaultWorkerPodTemplate``),
* the ``autoscaler`` sidecar of the head pod (``BuildAutoscalerContainer`` + ``mergeAutoscalerOverrides``),
* token-auth env vars and volumes (``SetContainerTokenAuthEnvVars``, ``AddRayTokenVolume``),
* GCS fault-tolerance env vars, annotations and the rocksdb volume (``configureGCSFaultTolerance``).

All from KubeRay's ``controllers/ray/common/pod.go``. The builders never change the pod they are given:
the containers return a new container, and :func:`auth_additions` / :func:`gcs_ft_additions` return a
:class:`PodAdditions` value (what to append, computed from what the pod already declares) that
:mod:`raykube.builders.pod` applies with :func:`apply`, the one place that writes them into a pod.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from raykube import reasons
from raykube.api.cluster_options import AuthOptions, GcsBackend
from raykube.api.raycluster import RayClusterSpec
from raykube.api.schema import K8sObject
from raykube.builders import kube, names

WAIT_GCS_READY: Final = "wait-gcs-ready"
AUTOSCALER: Final = "autoscaler"
AUTOSCALER_START_CMD: Final = (
    "ray kuberay-autoscaler --cluster-name $(RAY_CLUSTER_NAME) --cluster-namespace $(RAY_CLUSTER_NAMESPACE)"
)
RAY_TOKEN_VOLUME: Final = "ray-token"
RAY_TOKEN_MOUNT_PATH: Final = "/var/run/secrets/ray.io/serviceaccount"
AUTH_TOKEN_SECRET_KEY: Final = "auth_token"
GCS_STORAGE_VOLUME: Final = "gcs-storage"
GCS_STORAGE_MOUNT_PATH: Final = "/data/gcs"
GCS_RECONNECT_TIMEOUT_S: Final = "600"
TROUBLESHOOTING_URL: Final = "https://docs.ray.io/en/master/cluster/kubernetes/troubleshooting.html"


RAY: Final = ""
"""The key of the Ray container (``containers[0]``) in :class:`PodAdditions`; other containers go by name."""


@dataclass
class PodAdditions:
    """What a sidecar builder adds to a pod: appended by :func:`apply`, in the order they were added.

    ``env`` and ``volume_mounts`` are keyed by container (:data:`RAY`, or an init container's name).
    A builder consults the pod it reads to leave out an env var or a mount that the container declares.
    """

    annotations: dict[str, str] = field(default_factory=dict)
    env: dict[str, list[K8sObject]] = field(default_factory=dict)
    volume_mounts: dict[str, list[K8sObject]] = field(default_factory=dict)
    volumes: list[K8sObject] = field(default_factory=list)

    def add_env(self, key: str, entry: K8sObject) -> None:
        self.env.setdefault(key, []).append(entry)

    def add_env_if_absent(self, key: str, container: K8sObject, name: str, value: str) -> None:
        """``name=value`` unless the container or an earlier addition declares ``name``."""
        if not kube.has_env(container, name) and not any(e.get("name") == name for e in self.env.get(key, [])):
            self.add_env(key, {"name": name, "value": value})

    def add_volume_mount(self, key: str, mount: K8sObject) -> None:
        self.volume_mounts.setdefault(key, []).append(mount)


def _target(pod: K8sObject, key: str) -> K8sObject | None:
    if key == RAY:
        return kube.ray_container(pod)
    spec = pod.get("spec") or {}
    return next((c for c in (spec.get("initContainers") or []) if c.get("name") == key), None)


def apply(pod: K8sObject, additions: PodAdditions) -> None:
    """Write ``additions`` into ``pod`` (the pod builder's copy): annotations set, lists appended to."""
    if additions.annotations:
        pod["metadata"].setdefault("annotations", {}).update(additions.annotations)
    for key, entries in additions.env.items():
        container = _target(pod, key)
        if container is not None:
            container.setdefault("env", []).extend(entries)
    for key, mounts in additions.volume_mounts.items():
        container = _target(pod, key)
        if container is not None:
            container.setdefault("volumeMounts", []).extend(mounts)
    if additions.volumes:
        pod["spec"].setdefault("volumes", []).extend(additions.volumes)


def _apply_to_container(container: K8sObject, additions: PodAdditions, key: str) -> None:
    if additions.env.get(key):
        container.setdefault("env", []).extend(additions.env[key])
    if additions.volume_mounts.get(key):
        container.setdefault("volumeMounts", []).extend(additions.volume_mounts[key])


def _fixed_resources(cpu: str, memory: str) -> K8sObject:
    return {"limits": {"cpu": cpu, "memory": memory}, "requests": {"cpu": cpu, "memory": memory}}


def wait_gcs_script(address: str) -> str:
    """The init container's loop: ``ray health-check`` every 5 s, verbose after 120 s.

    The leading newline and tab indentation are KubeRay's (a Go raw string literal), kept byte for byte.
    """
    t = "\t"
    lines = [
        "",
        f"{t * 5}SECONDS=0",
        f"{t * 5}while true; do",
        f"{t * 6}if (( SECONDS <= 120 )); then",
        f"{t * 7}if ray health-check --address {address} > /dev/null 2>&1; then",
        f'{t * 8}echo "GCS is ready."',
        f"{t * 8}break",
        f"{t * 7}fi",
        f'{t * 7}echo "$SECONDS seconds elapsed: Waiting for GCS to be ready."',
        f"{t * 6}else",
        f"{t * 7}if ray health-check --address {address}; then",
        f'{t * 8}echo "GCS is ready. Any error messages above can be safely ignored."',
        f"{t * 8}break",
        f"{t * 7}fi",
        f'{t * 7}echo "$SECONDS seconds elapsed: Still waiting for GCS to be ready. For troubleshooting, '
        f'refer to the FAQ at {TROUBLESHOOTING_URL}."',
        f"{t * 6}fi",
        f"{t * 6}sleep 5",
        f"{t * 5}done",
        f"{t * 4}",
    ]
    return "\n".join(lines)


def wait_gcs_ready_container(ray: K8sObject, *, address: str, login_shell: bool) -> K8sObject:
    """``wait-gcs-ready``: Ray image, Ray container's env/mounts/securityContext, 200m/256Mi."""
    container: K8sObject = {"name": WAIT_GCS_READY, "image": ray.get("image", "")}
    if ray.get("imagePullPolicy"):
        container["imagePullPolicy"] = ray["imagePullPolicy"]
    container["command"] = kube.shell_command(login=login_shell)
    container["args"] = [wait_gcs_script(address)]
    if ray.get("securityContext") is not None:
        container["securityContext"] = kube.clone(ray["securityContext"])
    if ray.get("env"):
        container["env"] = kube.clone(ray["env"])
    if ray.get("volumeMounts"):
        container["volumeMounts"] = kube.clone(ray["volumeMounts"])
    container["resources"] = _fixed_resources("200m", "256Mi")
    return container


def autoscaler_container(spec: RayClusterSpec, *, image: str, cluster: str, login_shell: bool) -> K8sObject:
    """The ``autoscaler`` sidecar with ``autoscalerOptions`` merged in."""
    container: K8sObject = {
        "name": AUTOSCALER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "env": [
            kube.field_ref_env("RAY_CLUSTER_NAME", kube.label_field_path(reasons.LABEL_CLUSTER)),
            kube.field_ref_env("RAY_CLUSTER_NAMESPACE", "metadata.namespace"),
            kube.field_ref_env("RAY_HEAD_POD_NAME", "metadata.name"),
            {"name": "KUBERAY_CRD_VER", "value": "v1"},
            {"name": "KUBERAY_GEN_AUTOSCALER_START_CMD", "value": AUTOSCALER_START_CMD},
        ],
        "command": kube.shell_command(login=login_shell),
        "args": [AUTOSCALER_START_CMD],
        "resources": _fixed_resources("500m", "512Mi"),
    }
    if spec.auth_options is not None and spec.auth_options.mode == "token":
        additions = PodAdditions()
        _add_auth_env(additions, AUTOSCALER, container, cluster, spec.auth_options)
        _apply_to_container(container, additions, AUTOSCALER)
    _merge_autoscaler_options(container, spec)
    return container


def _merge_autoscaler_options(container: K8sObject, spec: RayClusterSpec) -> None:
    options = spec.autoscaler_options
    if options is None:
        return
    if options.resources is not None:
        container["resources"] = kube.clone(options.resources)
    if options.image is not None:
        container["image"] = options.image
    if options.image_pull_policy is not None:
        container["imagePullPolicy"] = options.image_pull_policy
    if options.env:
        container["env"].extend(kube.clone(options.env))
    if options.env_from:
        container.setdefault("envFrom", []).extend(kube.clone(options.env_from))
    if options.volume_mounts:
        container.setdefault("volumeMounts", []).extend(kube.clone(options.volume_mounts))
    if options.security_context is not None:
        container["securityContext"] = kube.clone(options.security_context)
    if options.command:
        container["command"] = list(options.command)
    if options.args:
        container["args"] = list(options.args)


def is_k8s_token_auth(options: AuthOptions | None) -> bool:
    """Authentication with projected Kubernetes service-account tokens."""
    return options is not None and bool(options.enable_k8s_token_auth)


def _add_auth_env(additions: PodAdditions, key: str, container: K8sObject, cluster: str,
                  options: AuthOptions) -> None:
    """``RAY_AUTH_MODE=token`` plus the token (Secret ref) or the K8s-token switch and mount."""
    additions.add_env_if_absent(key, container, "RAY_AUTH_MODE", "token")
    if is_k8s_token_auth(options):
        additions.add_env_if_absent(key, container, "RAY_ENABLE_K8S_TOKEN_AUTH", "true")
        if not any(m.get("name") == RAY_TOKEN_VOLUME for m in container.get("volumeMounts") or []):
            additions.add_volume_mount(
                key, {"name": RAY_TOKEN_VOLUME, "mountPath": RAY_TOKEN_MOUNT_PATH, "readOnly": True}
            )
        return
    if not kube.has_env(container, "RAY_AUTH_TOKEN"):
        secret = options.secret_name or names.auth_secret_name(cluster)
        ref = {"secretKeyRef": {"name": secret, "key": AUTH_TOKEN_SECRET_KEY}}
        additions.add_env(key, {"name": "RAY_AUTH_TOKEN", "valueFrom": ref})


def auth_additions(pod: K8sObject, cluster: str, options: AuthOptions) -> PodAdditions:
    """Auth env on the Ray container and on ``wait-gcs-ready``; the projected token volume if needed."""
    additions = PodAdditions()
    _add_auth_env(additions, RAY, kube.ray_container(pod), cluster, options)
    spec = pod["spec"]
    if is_k8s_token_auth(options) and not any(v.get("name") == RAY_TOKEN_VOLUME for v in spec.get("volumes") or []):
        projection = {"serviceAccountToken": {"path": "token"}}
        additions.volumes.append({"name": RAY_TOKEN_VOLUME, "projected": {"sources": [projection]}})
    for init in spec.get("initContainers") or []:
        if init.get("name") == WAIT_GCS_READY:
            _add_auth_env(additions, WAIT_GCS_READY, init, cluster, options)
    return additions


def gcs_ft_start_params(spec: RayClusterSpec, *, node: names.NodeKind, ft_enabled: bool) -> dict[str, str]:
    """The rayStartParams GCS FT adds: on the head with Redis credentials in ``gcsFaultToleranceOptions``,
    ``redis-username``/``redis-password`` read from the env variables :func:`configure_gcs_ft` sets."""
    options = spec.gcs_fault_tolerance_options
    if node != "head" or not ft_enabled or options is None or options.backend == GcsBackend.ROCKSDB:
        return {}
    credentials = (
        ("redis-username", reasons.ENV_REDIS_USERNAME, options.redis_username),
        ("redis-password", reasons.ENV_REDIS_PASSWORD, options.redis_password),
    )
    return {param: f"${env}" for param, env, credential in credentials if credential is not None}


def gcs_ft_additions(
    pod: K8sObject,
    spec: RayClusterSpec,
    params: Mapping[str, str],
    *,
    node: names.NodeKind,
    cluster_meta: K8sObject,
    ft_enabled: bool,
) -> PodAdditions:
    """GCS FT annotation and env (head: Redis or rocksdb wiring; workers: longer GCS reconnect timeout).

    ``params`` are the head's final rayStartParams (see :func:`gcs_ft_start_params`).
    """
    additions = PodAdditions()
    if node == "head":
        additions.annotations[reasons.ANNOTATION_FT_ENABLED] = "true" if ft_enabled else "false"
    if not ft_enabled:
        return additions
    ray = kube.ray_container(pod)
    if node == "worker":
        additions.add_env_if_absent(RAY, ray, "RAY_gcs_rpc_server_reconnect_timeout_s", GCS_RECONNECT_TIMEOUT_S)
        return additions
    options = spec.gcs_fault_tolerance_options
    if options is not None and options.backend == GcsBackend.ROCKSDB:
        _add_rocksdb(additions, ray, spec, cluster_meta)
    else:
        _add_redis(additions, ray, spec, params, cluster_meta)
    return additions


def _add_rocksdb(additions: PodAdditions, ray: K8sObject, spec: RayClusterSpec, cluster_meta: K8sObject) -> None:
    additions.add_env_if_absent(RAY, ray, "RAY_gcs_storage", "rocksdb")
    additions.add_env_if_absent(RAY, ray, "RAY_gcs_storage_path", GCS_STORAGE_MOUNT_PATH)
    options = spec.gcs_fault_tolerance_options
    storage = options.storage if options is not None else None
    mount: K8sObject = {"name": GCS_STORAGE_VOLUME, "mountPath": GCS_STORAGE_MOUNT_PATH}
    if storage is not None and storage.sub_path:
        mount["subPath"] = storage.sub_path
    additions.add_volume_mount(RAY, mount)
    claim = storage.claim_name if storage is not None and storage.claim_name else None
    claim = claim or f"{cluster_meta.get('name', '')}-gcs-pvc"
    additions.volumes.append({"name": GCS_STORAGE_VOLUME, "persistentVolumeClaim": {"claimName": claim}})


def _add_redis(
    additions: PodAdditions, ray: K8sObject, spec: RayClusterSpec, params: Mapping[str, str], cluster_meta: K8sObject
) -> None:
    options = spec.gcs_fault_tolerance_options
    cluster_annotations = cluster_meta.get("annotations") or {}
    namespace = str(cluster_meta.get("uid", ""))
    namespace = cluster_annotations.get(reasons.ANNOTATION_EXTERNAL_STORAGE_NAMESPACE, namespace)
    if options is not None and options.external_storage_namespace:
        namespace = options.external_storage_namespace
    additions.annotations[reasons.ANNOTATION_EXTERNAL_STORAGE_NAMESPACE] = namespace
    additions.add_env_if_absent(RAY, ray, "RAY_external_storage_namespace", namespace)
    if options is None:
        if not kube.has_env(ray, reasons.ENV_REDIS_PASSWORD) and "redis-password" in params:
            additions.add_env(RAY, {"name": reasons.ENV_REDIS_PASSWORD, "value": params["redis-password"]})
        return
    additions.add_env(RAY, {"name": reasons.ENV_RAY_REDIS_ADDRESS, "value": options.redis_address or ""})
    for env, credential in (
        (reasons.ENV_REDIS_USERNAME, options.redis_username),
        (reasons.ENV_REDIS_PASSWORD, options.redis_password),
    ):
        if credential is None:
            continue
        entry: K8sObject = {"name": env}
        if credential.value is not None:
            entry["value"] = credential.value
        if credential.value_from is not None:
            entry["valueFrom"] = kube.clone(credential.value_from)
        additions.add_env(RAY, entry)
