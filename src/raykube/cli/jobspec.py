"""What `raykube job submit` creates, as pure functions: the RayJob and the working directory's transport.

A working directory travels one of two ways: as a ConfigMap mounted in the head pod (a new cluster; the
entrypoint runs there, so ``cd`` into it is enough; ConfigMaps hold at most 1 MiB), or zipped as a Ray
package uploaded to the dashboard (``gcs://_ray_pkg_<hash>.zip``, what Ray's job SDK does) when the CLI
submits itself in InteractiveMode.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import typer

WORKDIR_MOUNT = "/home/ray/workdir"
WORKDIR_LIMIT = 900 * 1024  # ConfigMaps are capped at 1 MiB
DEFAULT_IMAGE = "rayproject/ray:2.52.0"
_SKIPPED = {".git", "__pycache__", ".venv", ".mypy_cache", ".pytest_cache", "node_modules"}


def _container(name: str, image: str, cpu: str, memory: str) -> dict[str, Any]:
    return {"name": name, "image": image,
            "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu, "memory": memory}}}


def rayjob_manifest(
    name: str,
    namespace: str,
    entrypoint: str,
    *,
    mode: str = "K8sJobMode",
    cluster: str | None = None,
    image: str = DEFAULT_IMAGE,
    ray_version: str = "2.52.0",
    workers: int = 1,
    head_cpu: str = "1",
    worker_cpu: str = "1",
    memory: str = "2Gi",
    shutdown: bool = True,
    ttl: int = 60,
) -> dict[str, Any]:
    """A RayJob for ``entrypoint``: on a new cluster, or (``cluster``) InteractiveMode on an existing one."""
    spec: dict[str, Any] = {"entrypoint": entrypoint, "submissionMode": mode}
    if cluster:
        spec.update(submissionMode="InteractiveMode", clusterSelector={"ray.io/cluster": cluster})
    else:
        head = {"rayStartParams": {}, "template": {"spec": {"containers": [_container("ray-head", image, head_cpu,
                                                                                        memory)]}}}
        groups = [{"groupName": "workers", "replicas": workers, "minReplicas": 0, "maxReplicas": max(workers, 1),
                   "rayStartParams": {}, "template": {"spec": {"containers": [
                       _container("ray-worker", image, worker_cpu, memory)]}}}] if workers else []
        spec["rayClusterSpec"] = {"rayVersion": ray_version, "headGroupSpec": head, "workerGroupSpecs": groups}
        if shutdown:
            spec.update(shutdownAfterJobFinishes=True, ttlSecondsAfterFinished=ttl)
    labels = {"app.kubernetes.io/created-by": "raykube-cli"}
    return {"apiVersion": "ray.io/v1", "kind": "RayJob",
            "metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": spec}


def _files(directory: Path) -> list[Path]:
    found = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if path.is_file() and not any(part in _SKIPPED for part in relative.parts):
            found.append(path)
    return found


def workdir_configmap(name: str, namespace: str, directory: Path) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The working directory as a ConfigMap ``<name>-workdir`` and the volume items that restore its layout."""
    data: dict[str, str] = {}
    binary: dict[str, str] = {}
    items: list[dict[str, str]] = []
    total = 0
    for path in _files(directory):
        relative = path.relative_to(directory).as_posix()
        key = re.sub(r"[^-._a-zA-Z0-9]", "_", relative)
        while key in data or key in binary:
            key = f"_{key}"
        content = path.read_bytes()
        total += len(content)
        if total > WORKDIR_LIMIT:
            raise typer.BadParameter(f"{directory} is larger than {WORKDIR_LIMIT // 1024} KiB; use --cluster "
                                     "(the working directory is uploaded to Ray) or bake it into the image",
                                     param_hint="--working-dir")
        try:
            data[key] = content.decode()
        except UnicodeDecodeError:
            binary[key] = base64.b64encode(content).decode()
        items.append({"key": key, "path": relative})
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": f"{name}-workdir", "namespace": namespace}, "data": data}
    if binary:
        body["binaryData"] = binary
    return body, items


def mount_workdir(manifest: dict[str, Any], configmap: str, items: list[dict[str, str]]) -> None:
    """Mount the working-directory ConfigMap in the head pod and run the entrypoint from there."""
    spec = manifest["spec"]
    pod = spec["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    pod.setdefault("volumes", []).append({"name": "workdir", "configMap": {"name": configmap, "items": items}})
    pod["containers"][0].setdefault("volumeMounts", []).append({"name": "workdir", "mountPath": WORKDIR_MOUNT})
    spec["entrypoint"] = f"cd {WORKDIR_MOUNT} && {spec['entrypoint']}"


def workdir_package(directory: Path) -> tuple[str, bytes]:
    """The working directory zipped as a Ray package: its ``gcs://`` URI and the bytes to upload."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _files(directory):
            info = zipfile.ZipInfo(path.relative_to(directory).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (path.stat().st_mode & 0o777) << 16
            archive.writestr(info, path.read_bytes())
    data = buffer.getvalue()
    return f"gcs://_ray_pkg_{hashlib.sha1(data).hexdigest()[:16]}.zip", data
