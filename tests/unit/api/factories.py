"""Small builders of valid ray.io manifests (as JSON dicts) for tests; tweak them, then ``model_validate``."""

from __future__ import annotations

from typing import Any


def pod_template(image: str = "rayproject/ray:2.52.0", **pod_spec: Any) -> dict[str, Any]:
    """A pod template with one Ray container."""
    return {"spec": {"containers": [{"name": "ray", "image": image}], **pod_spec}}


def worker_group(name: str = "workers", **fields: Any) -> dict[str, Any]:
    """A worker group with replicas 1, min 0, max 5."""
    return {"groupName": name, "replicas": 1, "minReplicas": 0, "maxReplicas": 5, "template": pod_template(), **fields}


def cluster_spec(*groups: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A RayClusterSpec with a head and the given worker groups (one default group when none)."""
    return {
        "rayVersion": "2.52.0",
        "headGroupSpec": {"rayStartParams": {}, "template": pod_template()},
        "workerGroupSpecs": list(groups) or [worker_group()],
        **fields,
    }


def raycluster(name: str = "rc", spec: dict[str, Any] | None = None, **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": name, **metadata},
        "spec": spec or cluster_spec(),
    }


def rayjob(name: str = "job", **spec: Any) -> dict[str, Any]:
    body = {"entrypoint": "python main.py", "rayClusterSpec": cluster_spec(), **spec}
    return {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": name}, "spec": body}


def rayservice(name: str = "svc", **spec: Any) -> dict[str, Any]:
    body = {"serveConfigV2": "applications: []", "rayClusterConfig": cluster_spec(), **spec}
    return {"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": name}, "spec": body}


def raycronjob(name: str = "cron", **spec: Any) -> dict[str, Any]:
    body = {"schedule": "*/5 * * * *", "jobTemplate": rayjob()["spec"], **spec}
    return {"apiVersion": "ray.io/v1", "kind": "RayCronJob", "metadata": {"name": name}, "spec": body}
