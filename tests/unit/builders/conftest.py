"""Fixtures for builder tests: upstream samples parsed as models, and a small RayCluster (on `tests.builders`)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from raykube.api.defaults import apply_crd_defaults
from raykube.api.raycluster import RayCluster
from tests.builders import make_raycluster
from tests.unit.api.upstream import VERSION, reference_dir


def sample_cluster(file: str, namespace: str = "default") -> RayCluster:
    """The first RayCluster of an upstream sample, CRD-defaulted, in ``namespace``."""
    base = reference_dir()
    if base is None:
        pytest.fail("KubeRay reference files not found: set RAYKUBE_KUBERAY_REFERENCE or place shared/ beside the repo")
    docs = yaml.safe_load_all((base / VERSION / "samples" / file).read_text())
    doc = next(d for d in docs if isinstance(d, dict) and d.get("kind") == "RayCluster")
    doc["metadata"] = {**doc["metadata"], "namespace": namespace, "uid": "uid-1"}
    return apply_crd_defaults(RayCluster.model_validate(doc))


def make_cluster(name: str = "rc", *, ray_version: str | None = "2.52.0", **spec: Any) -> RayCluster:
    """A minimal valid RayCluster with one worker group ``wg`` (1 replica); ``spec`` keys override."""
    cluster = (
        make_raycluster(name)
        .namespace("ns")
        .uid("uid-1")
        .image("ray:x")
        .head(container="ray-head")
        .worker_group("wg", replicas=1, max_replicas=5, container="ray-worker")
    )
    if ray_version is not None:
        cluster.ray_version(ray_version)
    return apply_crd_defaults(cluster.spec(**spec).obj())
