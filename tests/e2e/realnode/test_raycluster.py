"""A RayCluster run by our operator on the real node: real Ray in real containers, a task on the worker."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.kube import eventually, kubectl
from tests.integration.operator import OperatorProcess, running_operator

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

TASK = """
import socket, ray
ray.init()
@ray.remote(num_cpus=1)
def where():
    return socket.gethostname()
print("ran-on", ray.get(where.remote(), timeout=120))
"""


def raycluster(name: str, image: str, ray_version: str) -> dict[str, Any]:
    """One head (no CPUs for tasks, so they must go to the worker) and one worker; both fit on 2 vCPUs."""
    def container(role: str, memory: str) -> dict[str, Any]:
        return {"name": f"ray-{role}", "image": image,
                "resources": {"requests": {"cpu": "300m", "memory": "1Gi"}, "limits": {"memory": memory}}}
    return {
        "apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": name},
        "spec": {
            "rayVersion": ray_version,
            "headGroupSpec": {"rayStartParams": {"num-cpus": "0"},
                              "template": {"spec": {"containers": [container("head", "3Gi")]}}},
            "workerGroupSpecs": [{
                "groupName": "workers", "replicas": 1, "minReplicas": 1, "maxReplicas": 1,
                "rayStartParams": {"num-cpus": "1"},
                "template": {"spec": {"containers": [container("worker", "2Gi")]}},
            }],
        },
    }


@pytest.fixture(scope="module")
def operator(real_kubeconfig: Path, real_crds: None, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[OperatorProcess]:
    yield from running_operator(real_kubeconfig, tmp_path_factory.mktemp("operator"), lease_namespace="kube-system")


def _state(kubeconfig: Path, ns: str, name: str) -> str:
    out = kubectl(kubeconfig, "get", "raycluster", name, "-n", ns, "-o", "jsonpath={.status.state}", check=False)
    return out.stdout.strip()


def _pods(kubeconfig: Path, ns: str, selector: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(
        kubectl(kubeconfig, "get", "pods", "-n", ns, "-l", selector, "-o", "json").stdout)["items"]
    return items


def test_a_raycluster_becomes_ready_and_runs_a_task_on_its_worker(
    real_kubeconfig: Path, ns: str, ray_image: str, operator: OperatorProcess
) -> None:
    version = ray_image.rpartition(":")[2]
    started = time.monotonic()
    kubectl(real_kubeconfig, "apply", "-n", ns, "-f", "-", input=yaml.safe_dump(raycluster("demo", ray_image, version)))
    eventually(lambda: _state(real_kubeconfig, ns, "demo") == "ready", timeout=300,
               what=f"RayCluster ready (operator log:\n{operator.log_tail()})")
    print(f"RayCluster ready in {time.monotonic() - started:.1f}s")

    pods = _pods(real_kubeconfig, ns, "ray.io/cluster=demo")
    assert sorted(p["metadata"]["labels"]["ray.io/node-type"] for p in pods) == ["head", "worker"]
    assert all(p["status"]["phase"] == "Running" for p in pods)
    head = next(p["metadata"]["name"] for p in pods if p["metadata"]["labels"]["ray.io/node-type"] == "head")
    worker = next(p["metadata"]["name"] for p in pods if p["metadata"]["labels"]["ray.io/node-type"] == "worker")

    # Both Ray nodes are alive in the cluster's GCS (the worker found the head by its Service's DNS name).
    status = eventually(lambda: (out := kubectl(real_kubeconfig, "exec", "-n", ns, head, "--", "ray", "status",
                                                check=False).stdout) and " workers" in out and out,
                        timeout=120, what="ray status listing the worker")
    assert "1 headgroup" in status and "1 workers" in status

    ran = kubectl(real_kubeconfig, "exec", "-n", ns, head, "--", "python", "-c", TASK)
    assert f"ran-on {worker}" in ran.stdout.splitlines()
