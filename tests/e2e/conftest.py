"""Fixtures of the e2e tests: the Ray image; for the walkthrough, the chart repository and a real-node cluster with
the images built here.

(The session's fake-node cluster comes from tests/conftest.py.)
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from raykube.local.cluster import ClusterConfig, LocalCluster
from raykube.local.images import recipes
from raykube.local.images import store as image_store
from tests.charts.conftest import chart_repo, helm_home
from tests.e2e.realnode import host

__all__ = ["RAY_TAG", "chart_repo", "helm_home", "real_node_kubeconfig"]

#: The guide's `--set image.tag=...` (Python 3.10 on ARM macOS; built here as Ray 2.46.0 for this machine).
RAY_TAG = "2.46.0-py310-aarch64"


@pytest.fixture(scope="session")
def ray_image() -> str:
    """rayproject/ray:<pinned version>, built from images/ray (seconds when nothing changed)."""
    plan = recipes.plan_ray()
    built = recipes.build_ray(plan, lambda message: print(message, flush=True))
    return image_store.short(built.names[0])


@pytest.fixture(scope="module")
def real_node_kubeconfig() -> Iterator[Path]:
    """A real-node cluster (`raykube local up --nodes real`) holding the operator image and a Ray image
    registered under the guide's tag, both built here (seconds when nothing changed). Only one real node
    runs per machine: this waits while another run holds it, and checks that `down` left nothing behind."""
    recipes.build_operator(lambda message: print(message, flush=True))
    recipes.build_ray(recipes.plan_ray(tags=[RAY_TAG]), lambda message: print(message, flush=True))
    host.wait_for_machine()
    before = host.snapshot()
    state = host.state_dir("walkthrough")
    cluster = LocalCluster(ClusterConfig(state_dir=state, nodes="real", timeout=120, machine_wait=1800))
    cluster.up(lambda message: print(message, flush=True))
    plan = cluster.node_plan()
    assert plan is not None
    try:
        yield cluster.kubeconfig
    finally:
        cluster.down()
        host.assert_down_clean(cluster, plan, before)
        shutil.rmtree(state)  # kept (with the logs) when something was left behind
