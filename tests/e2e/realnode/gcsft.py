"""What the GCS fault tolerance tests share: a detached actor that keeps a value, and pod queries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.kube import kubectl

CREATE_ACTOR = """
import ray
ray.init(namespace="gcs-ft")
@ray.remote(num_cpus=1)
class Keeper:
    def __init__(self):
        self.value = None
    def put(self, value):
        self.value = value
        return value
    def get(self):
        return self.value
keeper = Keeper.options(name="keeper", lifetime="detached").remote()
print("stored", ray.get(keeper.put.remote("kept-through-head-loss"), timeout=120))
"""

READ_ACTOR = """
import ray
ray.init(namespace="gcs-ft")
print("value", ray.get(ray.get_actor("keeper").get.remote(), timeout=60))
"""


def pods(kubeconfig: Path, ns: str, selector: str) -> list[dict[str, Any]]:
    """The pods matching `selector` that are not being deleted."""
    items: list[dict[str, Any]] = json.loads(
        kubectl(kubeconfig, "get", "pods", "-n", ns, "-l", selector, "-o", "json").stdout)["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


def get(kubeconfig: Path, ns: str, kind: str, name: str) -> dict[str, Any] | None:
    """The object, or None if it does not exist."""
    out = kubectl(kubeconfig, "get", kind, name, *(["-n", ns] if ns else []), "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None
