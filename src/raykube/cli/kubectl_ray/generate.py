"""The RayCluster `kubectl ray create cluster` builds, and the worker group of `create workergroup` (pure).

Defaults are KubeRay v1.7.0's plugin defaults: head and workers 2 CPUs and 4Gi, no GPU/TPU, one worker
replica in the group ``default-group``, image ``rayproject/ray:<ray version>``. ``--file`` takes KubeRay's
config-file format (``name``, ``namespace``, ``labels``, ``annotations``, ``ray-version``, ``image``,
``head: {cpu, memory, gpu, ephemeral-storage, ray-start-params, node-selectors}``, ``worker-groups: [{name,
replicas, cpu, memory, gpu, tpu, ephemeral-storage, num-of-hosts, ray-start-params, node-selectors}]``,
``autoscaler: {version: v1|v2}``); a file holding a whole ``kind: RayCluster`` is used as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from raykube.api.quantity import Quantity, QuantityError

RAY_VERSION = "2.52.0"
DEFAULT_IMAGE = f"rayproject/ray:{RAY_VERSION}"
GPU, TPU = "nvidia.com/gpu", "google.com/tpu"


class ConfigError(ValueError):
    """A flag or config-file value KubeRay would reject."""


@dataclass
class NodeShape:
    """One kind of Ray node: resources, ``ray start`` parameters, node selectors."""

    cpu: str = "2"
    memory: str = "4Gi"
    gpu: str = "0"
    tpu: str = "0"
    ephemeral_storage: str = ""
    ray_start_params: dict[str, str] = field(default_factory=dict)
    node_selectors: dict[str, str] = field(default_factory=dict)


@dataclass
class GroupShape(NodeShape):
    name: str = "default-group"
    replicas: int = 1
    num_of_hosts: int = 1
    min_replicas: int | None = None
    max_replicas: int | None = None


@dataclass
class ClusterConfig:
    """What ``create cluster`` turns into a RayCluster."""

    name: str
    namespace: str
    ray_version: str = RAY_VERSION
    image: str = DEFAULT_IMAGE
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    head: NodeShape = field(default_factory=NodeShape)
    groups: list[GroupShape] = field(default_factory=lambda: [GroupShape()])
    autoscaler: str = ""


def validate_quantity(value: str, flag: str) -> None:
    try:
        if Quantity.parse(value).value < 0:
            raise ConfigError(f"{flag} must be a non-negative quantity, got {value!r}")
    except QuantityError as err:
        raise ConfigError(f"{flag}: {value!r} is not a valid resource quantity") from err


def validate(config: ClusterConfig) -> None:
    """Reject what KubeRay's plugin rejects: bad quantities, TPUs without the GKE node selectors."""
    shapes: list[tuple[str, NodeShape]] = [("head", config.head), *[("worker", g) for g in config.groups]]
    for prefix, shape in shapes:
        for name in ("cpu", "memory", "gpu", "tpu", "ephemeral_storage"):
            value = getattr(shape, name)
            if value or name != "ephemeral_storage":
                validate_quantity(value, f"--{prefix}-{name.replace('_', '-')}")
    for group in config.groups:
        if Quantity.parse(group.tpu).value > 0:
            needed = ("cloud.google.com/gke-tpu-accelerator", "cloud.google.com/gke-tpu-topology")
            if not all(k in group.node_selectors for k in needed):
                raise ConfigError(f"--worker-tpu needs --worker-node-selectors {needed[0]}=... and {needed[1]}=...")
    if config.autoscaler not in ("", "v1", "v2"):
        raise ConfigError(f'--autoscaler must be "v1" or "v2", got {config.autoscaler!r}')


def _resources(shape: NodeShape) -> dict[str, Any]:
    requests: dict[str, str] = {"cpu": shape.cpu, "memory": shape.memory}
    limits: dict[str, str] = {"memory": shape.memory}
    if shape.ephemeral_storage:
        requests["ephemeral-storage"] = limits["ephemeral-storage"] = shape.ephemeral_storage
    for key, value in ((GPU, shape.gpu), (TPU, shape.tpu)):
        if Quantity.parse(value).value > 0:
            requests[key] = limits[key] = value
    return {"requests": requests, "limits": limits}


def _template(container: str, image: str, shape: NodeShape, ports: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": container, "image": image, "resources": _resources(shape),
                                            **({"ports": ports} if ports else {})}]}
    if shape.node_selectors:
        spec["nodeSelector"] = dict(shape.node_selectors)
    return {"spec": spec}


def raycluster(config: ClusterConfig) -> dict[str, Any]:
    """The RayCluster manifest for ``config``."""
    head_ports = [{"containerPort": 6379, "name": "gcs-server"}, {"containerPort": 8265, "name": "dashboard"},
                  {"containerPort": 10001, "name": "client"}]
    head = {"rayStartParams": {"dashboard-host": "0.0.0.0", **config.head.ray_start_params},
            "template": _template("ray-head", config.image, config.head, head_ports)}
    spec: dict[str, Any] = {"rayVersion": config.ray_version, "headGroupSpec": head,
                            "workerGroupSpecs": [worker_group(g, config.image) for g in config.groups]}
    if config.autoscaler:
        spec["enableInTreeAutoscaling"] = True
        if config.autoscaler == "v2":
            spec["autoscalerOptions"] = {"version": "v2"}
    meta: dict[str, Any] = {"name": config.name, "namespace": config.namespace}
    if config.labels:
        meta["labels"] = dict(config.labels)
    if config.annotations:
        meta["annotations"] = dict(config.annotations)
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": meta, "spec": spec}


def worker_group(group: GroupShape, image: str) -> dict[str, Any]:
    """One ``workerGroupSpecs`` entry (``create workergroup`` sets min/max replicas, ``create cluster`` not)."""
    spec: dict[str, Any] = {"groupName": group.name, "replicas": group.replicas, "numOfHosts": group.num_of_hosts,
                            "rayStartParams": dict(group.ray_start_params),
                            "template": _template("ray-worker", image, group, [])}
    if group.min_replicas is not None:
        spec["minReplicas"] = group.min_replicas
    if group.max_replicas is not None:
        spec["maxReplicas"] = group.max_replicas
    return spec


def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


def _shape(data: dict[str, Any], shape: NodeShape) -> None:
    for key in ("cpu", "memory", "gpu", "tpu", "ephemeral-storage"):
        if data.get(key) is not None:
            setattr(shape, key.replace("-", "_"), str(data[key]))
    shape.ray_start_params = _strings(data.get("ray-start-params"))
    shape.node_selectors = _strings(data.get("node-selectors"))


def from_file(data: dict[str, Any], *, name: str | None, namespace: str | None) -> ClusterConfig:
    """A :class:`ClusterConfig` from KubeRay's config-file format; the name and namespace must agree with flags."""
    file_name, file_ns = data.get("name"), data.get("namespace")
    if file_name and name and file_name != name:
        raise ConfigError(f'the cluster name in the config file "{file_name}" does not match the cluster name '
                          f'"{name}". You must use the same name to perform this operation')
    if file_ns and namespace and file_ns != namespace:
        raise ConfigError(f'the namespace in the config file "{file_ns}" does not match the namespace "{namespace}". '
                          f"You must pass --namespace={file_ns} to perform this operation")
    resolved = name or file_name
    if not resolved:
        raise ConfigError("the cluster name is required")
    version = str(data.get("ray-version") or RAY_VERSION)
    config = ClusterConfig(name=str(resolved), namespace=str(namespace or file_ns or "default"), ray_version=version,
                           image=str(data.get("image") or f"rayproject/ray:{version}"),
                           labels=_strings(data.get("labels")), annotations=_strings(data.get("annotations")),
                           autoscaler=str((data.get("autoscaler") or {}).get("version") or ""))
    _shape(data.get("head") or {}, config.head)
    groups = []
    for item in data.get("worker-groups") or [{}]:
        group = GroupShape(name=str(item.get("name") or "default-group"), replicas=int(item.get("replicas", 1)),
                           num_of_hosts=int(item.get("num-of-hosts", 1)))
        _shape(item, group)
        groups.append(group)
    config.groups = groups
    return config
