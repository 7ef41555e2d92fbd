"""Containers and settings the operator injects into Ray pods besides the Ray container itself.

* the ``wait-gcs-ready`` init container of worker pods (``DefaultWorkerPodTemplate``),
* the ``autoscaler`` sidecar of the head pod (``BuildAutoscalerContainer`` + ``mergeAutoscalerOverrides``),
* token-auth env vars and volumes (``SetContainerTokenAuthEnvVars``, ``AddRayTokenVolume``),
* GCS fault-tolerance env vars, annotations and the rocksdb volume (``configureGCSFaultTolerance``).

All from KubeRay's ``controllers/ray/common/pod.go``. Functions mutate only the pod template copy they are
given by :mod:`raykube.builders.pod`.
"""

from __future__ import annotations

from collections.abc import Mapping
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
        add_auth_env(container, cluster, spec.auth_options)
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


def add_auth_env(container: K8sObject, cluster: str, options: AuthOptions) -> None:
    """``RAY_AUTH_MODE=token`` plus the token (Secret ref) or the K8s-token switch and mount."""
    kube.add_env_if_absent(container, "RAY_AUTH_MODE", "token")
    if is_k8s_token_auth(options):
        kube.add_env_if_absent(container, "RAY_ENABLE_K8S_TOKEN_AUTH", "true")
        mounts = container.setdefault("volumeMounts", [])
        if not any(m.get("name") == RAY_TOKEN_VOLUME for m in mounts):
            mounts.append({"name": RAY_TOKEN_VOLUME, "mountPath": RAY_TOKEN_MOUNT_PATH, "readOnly": True})
        return
    if not kube.has_env(container, "RAY_AUTH_TOKEN"):
        secret = options.secret_name or names.auth_secret_name(cluster)
        ref = {"secretKeyRef": {"name": secret, "key": AUTH_TOKEN_SECRET_KEY}}
        container.setdefault("env", []).append({"name": "RAY_AUTH_TOKEN", "valueFrom": ref})


def configure_auth(pod: K8sObject, cluster: str, options: AuthOptions) -> None:
    """Auth env on the Ray container and on ``wait-gcs-ready``; the projected token volume if needed."""
    add_auth_env(kube.ray_container(pod), cluster, options)
    spec = pod["spec"]
    if is_k8s_token_auth(options):
        volumes = spec.setdefault("volumes", [])
        if not any(v.get("name") == RAY_TOKEN_VOLUME for v in volumes):
            projection = {"serviceAccountToken": {"path": "token"}}
            volumes.append({"name": RAY_TOKEN_VOLUME, "projected": {"sources": [projection]}})
    for init in spec.get("initContainers") or []:
        if init.get("name") == WAIT_GCS_READY:
            add_auth_env(init, cluster, options)


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


def configure_gcs_ft(
    pod: K8sObject,
    spec: RayClusterSpec,
    params: Mapping[str, str],
    *,
    node: names.NodeKind,
    cluster_meta: K8sObject,
    ft_enabled: bool,
) -> None:
    """GCS FT annotation and env (head: Redis or rocksdb wiring; workers: longer GCS reconnect timeout).

    ``params`` are the head's final rayStartParams (read only; see :func:`gcs_ft_start_params`).
    """
    annotations = pod["metadata"].setdefault("annotations", {})
    if node == "head":
        annotations[reasons.ANNOTATION_FT_ENABLED] = "true" if ft_enabled else "false"
    if not ft_enabled:
        return
    ray = kube.ray_container(pod)
    if node == "worker":
        kube.add_env_if_absent(ray, "RAY_gcs_rpc_server_reconnect_timeout_s", GCS_RECONNECT_TIMEOUT_S)
        return
    options = spec.gcs_fault_tolerance_options
    if options is not None and options.backend == GcsBackend.ROCKSDB:
        _configure_rocksdb(pod, ray, spec, cluster_meta)
    else:
        _configure_redis(ray, spec, params, annotations, cluster_meta)


def _configure_rocksdb(pod: K8sObject, ray: K8sObject, spec: RayClusterSpec, cluster_meta: K8sObject) -> None:
    kube.add_env_if_absent(ray, "RAY_gcs_storage", "rocksdb")
    kube.add_env_if_absent(ray, "RAY_gcs_storage_path", GCS_STORAGE_MOUNT_PATH)
    options = spec.gcs_fault_tolerance_options
    storage = options.storage if options is not None else None
    mount: K8sObject = {"name": GCS_STORAGE_VOLUME, "mountPath": GCS_STORAGE_MOUNT_PATH}
    if storage is not None and storage.sub_path:
        mount["subPath"] = storage.sub_path
    ray.setdefault("volumeMounts", []).append(mount)
    claim = storage.claim_name if storage is not None and storage.claim_name else None
    claim = claim or f"{cluster_meta.get('name', '')}-gcs-pvc"
    pod["spec"].setdefault("volumes", []).append(
        {"name": GCS_STORAGE_VOLUME, "persistentVolumeClaim": {"claimName": claim}}
    )


def _configure_redis(
    ray: K8sObject, spec: RayClusterSpec, params: Mapping[str, str], annotations: K8sObject, cluster_meta: K8sObject
) -> None:
    options = spec.gcs_fault_tolerance_options
    cluster_annotations = cluster_meta.get("annotations") or {}
    namespace = str(cluster_meta.get("uid", ""))
    namespace = cluster_annotations.get(reasons.ANNOTATION_EXTERNAL_STORAGE_NAMESPACE, namespace)
    if options is not None and options.external_storage_namespace:
        namespace = options.external_storage_namespace
    annotations[reasons.ANNOTATION_EXTERNAL_STORAGE_NAMESPACE] = namespace
    kube.add_env_if_absent(ray, "RAY_external_storage_namespace", namespace)
    if options is None:
        if not kube.has_env(ray, reasons.ENV_REDIS_PASSWORD) and "redis-password" in params:
            kube.add_env(ray, reasons.ENV_REDIS_PASSWORD, params["redis-password"])
        return
    kube.add_env(ray, reasons.ENV_RAY_REDIS_ADDRESS, options.redis_address or "")
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
        ray.setdefault("env", []).append(entry)
