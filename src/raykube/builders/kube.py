"""Small helpers on raw Kubernetes JSON shared by the builders (owner references, env lists, shells).

The builders work on plain JSON dicts (what is POSTed to the API server), never on typed Kubernetes models:
templates arrive as JSON inside the ray.io objects and leave as JSON. Every helper here returns new values
or mutates only a copy the caller made with :func:`clone`.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from raykube import reasons
from raykube.api.schema import K8sObject

RAY_CONTAINER_INDEX: Final = 0


def clone(value: Any) -> Any:
    """A deep copy with explicit nulls dropped (``metadata: null`` in a template means "absent")."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return copy.copy(value)


def owner_reference(api_version: str, kind: str, metadata: K8sObject) -> K8sObject:
    """A controller ownerReference to the object with ``metadata`` (uid left out when not known yet)."""
    ref: K8sObject = {"apiVersion": api_version, "kind": kind, "name": metadata.get("name", "")}
    if metadata.get("uid"):
        ref["uid"] = metadata["uid"]
    ref["controller"] = True
    ref["blockOwnerDeletion"] = True
    return ref


def ray_owner_reference(kind: str, metadata: K8sObject) -> K8sObject:
    """Controller ownerReference to a ray.io/v1 object."""
    return owner_reference(reasons.API_VERSION, kind, metadata)


def shell_command(*, login: bool) -> list[str]:
    """KubeRay's ``GetContainerCommand``: ``/bin/bash -c --`` (``-lc`` with ``ENABLE_LOGIN_SHELL``)."""
    return ["/bin/bash", "-lc" if login else "-c", "--"]


def has_env(container: K8sObject, name: str) -> bool:
    """The container already declares env var ``name``."""
    return any(entry.get("name") == name for entry in container.get("env") or [])


def add_env(container: K8sObject, name: str, value: str) -> None:
    """Append ``name=value`` unconditionally."""
    container.setdefault("env", []).append({"name": name, "value": value})


def add_env_if_absent(container: K8sObject, name: str, value: str) -> None:
    """Append ``name=value`` unless the container already declares ``name``."""
    if not has_env(container, name):
        add_env(container, name, value)


def field_ref_env(name: str, field_path: str) -> K8sObject:
    """An env var taken from the pod's own fields (downward API)."""
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": field_path}}}


def label_field_path(label: str) -> str:
    """Downward-API path of a pod label."""
    return f"metadata.labels['{label}']"


def find_port(container: K8sObject, name: str, default: int) -> int:
    """The ``containerPort`` of the port called ``name``, else ``default`` (``FindContainerPort``)."""
    for port in container.get("ports") or []:
        if port.get("name") == name:
            return int(port["containerPort"])
    return default


def containers(pod: K8sObject) -> list[K8sObject]:
    """``spec.containers`` of a pod or pod template (created when missing)."""
    spec: K8sObject = pod.setdefault("spec", {})
    result: list[K8sObject] = spec.setdefault("containers", [])
    return result


def ray_container(pod: K8sObject) -> K8sObject:
    """The Ray container (``containers[0]``) of a pod or template."""
    return containers(pod)[RAY_CONTAINER_INDEX]
