"""The last step of building a Ray pod: volumes, command, env vars and probes of the Ray container.

This is KubeRay's ``BuildPod`` (``controllers/ray/common/pod.go``), applied to a pod whose labels,
annotations, init containers and sidecars were already prepared by :mod:`raykube.builders.pod`. The order
of the steps matters because env vars are appended: user env first, then what the template step added
(autoscaler/GCS FT/auth), then the variables below, in KubeRay's order.

Command rewrite: unless the pod is annotated ``ray.io/overwrite-container-cmd: "true"`` or the user command
already contains ``ray start``, the Ray container runs ``/bin/bash -c -- "<user cmd> && ulimit -n
${RAY_START_ULIMIT_OPEN_FILES:-65536}; ray start ..."``. The generated ``ray start`` is always exported as
``KUBERAY_GEN_RAY_START_CMD`` so an overwritten command can still call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from raykube import reasons
from raykube.api.schema import K8sObject
from raykube.builders import kube, names, probes, raystart
from raykube.builders.settings import OperatorSettings
from raykube.builders.sidecars import AUTOSCALER

SHARED_MEMORY_VOLUME: Final = "shared-mem"
SHARED_MEMORY_PATH: Final = "/dev/shm"
RAY_LOGS_VOLUME: Final = "ray-logs"
RAY_LOGS_PATH: Final = "/tmp/ray"
ULIMIT: Final = "ulimit -n ${RAY_START_ULIMIT_OPEN_FILES:-65536}"
LOCALHOST: Final = "127.0.0.1"


@dataclass(frozen=True, kw_only=True)
class RayPodInputs:
    """What the finishing step needs besides the pod."""

    node: names.NodeKind
    params: dict[str, str]
    fqdn: str
    head_port: str
    creator: str
    autoscaling: bool
    ray_version: str | None
    settings: OperatorSettings


def finish_ray_pod(pod: K8sObject, inputs: RayPodInputs) -> str:
    """Apply KubeRay's ``BuildPod`` to ``pod`` in place; returns the generated ``ray start`` command."""
    if inputs.creator == "RayService":
        value = "false" if inputs.node == "head" else "true"
        pod["metadata"].setdefault("labels", {})[reasons.LABEL_SERVE] = value
    ray = kube.ray_container(pod)
    if "plasma-directory" not in inputs.params:
        add_empty_dir(pod, ray, SHARED_MEMORY_VOLUME, SHARED_MEMORY_PATH, memory=True)
    if inputs.node == "head" and inputs.autoscaling:
        add_empty_dir(pod, ray, RAY_LOGS_VOLUME, RAY_LOGS_PATH, memory=False)
        autoscaler = next(c for c in kube.containers(pod) if c.get("name") == AUTOSCALER)
        add_empty_dir(pod, autoscaler, RAY_LOGS_VOLUME, RAY_LOGS_PATH, memory=False)
    params = raystart.with_container_resources(inputs.params, ray.get("resources"))
    start_cmd = raystart.render(inputs.node, params)
    _rewrite_command(pod, ray, start_cmd, login=inputs.settings.enable_login_shell)
    for init in pod["spec"].get("initContainers") or []:
        kube.add_env(init, "FQ_RAY_IP", inputs.fqdn)
        kube.add_env(init, "RAY_IP", names.short_host(inputs.fqdn))
    _add_ray_env(ray, inputs, start_cmd)
    if inputs.settings.enable_probes_injection:
        probes.add_probes(
            ray,
            inputs.node,
            params,
            ray_version=inputs.ray_version,
            for_rayservice=inputs.creator == "RayService",
        )
    return start_cmd


def add_empty_dir(pod: K8sObject, container: K8sObject, volume: str, path: str, *, memory: bool) -> None:
    """Mount an emptyDir at ``path`` unless something is mounted there already (``addEmptyDir``)."""
    if any(m.get("mountPath") == path for m in container.get("volumeMounts") or []):
        return
    volumes = pod["spec"].setdefault("volumes", [])
    if not any(v.get("name") == volume for v in volumes):
        empty_dir: K8sObject = {}
        if memory:
            empty_dir["medium"] = "Memory"
            size = _memory_limit_or_request(container)
            if size is not None:
                empty_dir["sizeLimit"] = size
        volumes.append({"name": volume, "emptyDir": empty_dir})
    container.setdefault("volumeMounts", []).append({"mountPath": path, "name": volume})


def _memory_limit_or_request(container: K8sObject) -> str | int | None:
    resources = container.get("resources") or {}
    for kind in ("limits", "requests"):
        value = (resources.get(kind) or {}).get("memory")
        if value is not None:
            return value  # type: ignore[no-any-return]
    return None


def user_command(container: K8sObject) -> str:
    """KubeRay's flattening of command + args: every element written as ``" <element> "``."""
    parts = [*(container.get("command") or []), *(container.get("args") or [])]
    return "".join(f" {part} " for part in parts)


def _rewrite_command(pod: K8sObject, ray: K8sObject, start_cmd: str, *, login: bool) -> None:
    annotations = pod["metadata"].get("annotations") or {}
    overwrite = annotations.get(reasons.ANNOTATION_OVERWRITE_CONTAINER_CMD, "").lower() == "true"
    existing = user_command(ray)
    if overwrite or "ray start" in existing:
        return
    generated = f"{ULIMIT}; {start_cmd}"
    ray["command"] = kube.shell_command(login=login)
    ray["args"] = [f"{existing} && {generated}" if existing else generated]


def _add_ray_env(ray: K8sObject, inputs: RayPodInputs, start_cmd: str) -> None:
    for entry in inputs.settings.default_container_envs:
        if not kube.has_env(ray, str(entry.get("name"))):
            ray.setdefault("env", []).append(kube.clone(entry))
    ip = LOCALHOST
    if inputs.node == "worker":
        ip = inputs.fqdn
        kube.add_env(ray, "FQ_RAY_IP", ip)
        kube.add_env(ray, "RAY_IP", names.short_host(ip))
    env = ray.setdefault("env", [])
    env.append(kube.field_ref_env("RAY_CLUSTER_NAME", kube.label_field_path(reasons.LABEL_CLUSTER)))
    env.append(kube.field_ref_env("RAY_CLUSTER_NAMESPACE", "metadata.namespace"))
    env.append(kube.field_ref_env("RAY_CLOUD_INSTANCE_ID", "metadata.name"))
    env.append(kube.field_ref_env("RAY_NODE_TYPE_NAME", kube.label_field_path(reasons.LABEL_GROUP)))
    kube.add_env(ray, "KUBERAY_GEN_RAY_START_CMD", start_cmd)
    kube.add_env_if_absent(ray, "RAY_PORT", inputs.head_port)
    if inputs.creator == "RayService":
        kube.add_env_if_absent(ray, "RAY_timeout_ms_task_wait_for_death_info", "0")
        kube.add_env_if_absent(ray, "RAY_gcs_server_request_timeout_seconds", "5")
        kube.add_env_if_absent(ray, "RAY_SERVE_KV_TIMEOUT_S", "5")
    kube.add_env_if_absent(ray, "RAY_ADDRESS", f"{ip}:{inputs.head_port}")
    kube.add_env_if_absent(ray, "RAY_USAGE_STATS_KUBERAY_IN_USE", "1")
    if inputs.node == "head":
        tags = f"kuberay_version={inputs.settings.kuberay_version};kuberay_crd={inputs.creator}"
        kube.add_env(ray, "RAY_USAGE_STATS_EXTRA_TAGS", tags)
    kube.add_env_if_absent(ray, "RAY_DASHBOARD_ENABLE_K8S_DISK_USAGE", "1")
