"""Fixtures of the walkthrough tests: the chart repository, and a real-node cluster with the images built here.

(The session's fake-node cluster comes from tests/conftest.py.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from raykube.local import realnode, recipes
from raykube.local.cluster import ClusterConfig, LocalCluster
from tests.charts.conftest import chart_repo, helm_home

__all__ = ["RAY_TAG", "chart_repo", "helm_home", "real_node_kubeconfig"]

#: The guide's `--set image.tag=...` (Python 3.10 on ARM macOS; built here as Ray 2.46.0 for this machine).
RAY_TAG = "2.46.0-py310-aarch64"


def _wait_for_the_machine(timeout: float = 1800) -> None:
    """Only one real node runs per machine: wait while another run (or a demo) holds it."""
    deadline = time.monotonic() + timeout
    while (owner := realnode.lock_owner()) is not None:
        assert time.monotonic() < deadline, f"the machine's real node is still held by {owner}"
        time.sleep(5)


@pytest.fixture(scope="module")
def real_node_kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real-node cluster (`raykube local up --nodes real`) holding the operator image and a Ray image
    registered under the guide's tag, both built here (seconds when nothing changed)."""
    recipes.build_operator(lambda message: print(message, flush=True))
    recipes.build_ray(recipes.plan_ray(tags=[RAY_TAG]), lambda message: print(message, flush=True))
    _wait_for_the_machine()
    cluster = LocalCluster(ClusterConfig(state_dir=tmp_path_factory.mktemp("walkthrough-real"), nodes="real",
                                         timeout=120))
    cluster.up(lambda message: print(message, flush=True))
    try:
        yield cluster.kubeconfig
    finally:
        cluster.down()
