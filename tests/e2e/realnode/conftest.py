"""Real-node fixtures: the Ray image (built here, cached by content) and a real-node cluster per module.

Each module gets its own cluster and checks at teardown that `down` left nothing behind; only one real
node runs per machine, so a module waits while another run (or a demo) holds the machine.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from raykube.local.cluster import ClusterConfig, LocalCluster
from raykube.local.images import recipes
from raykube.local.images import store as image_store
from tests.e2e.realnode import host
from tests.integration.kube import kubectl

CRD_DIR = Path(__file__).resolve().parents[3] / "config" / "crd" / "bases"


@pytest.fixture(scope="session")
def ray_image() -> str:
    """rayproject/ray:<pinned version>, built from images/ray (seconds when nothing changed)."""
    plan = recipes.plan_ray()
    built = recipes.build_ray(plan, lambda message: print(message, flush=True))
    return image_store.short(built.names[0])


@pytest.fixture(scope="module")
def real_cluster(ray_image: str) -> Iterator[LocalCluster]:
    host.wait_for_machine()
    before = host.snapshot()
    state = host.state_dir("e2e-real")
    cluster = LocalCluster(ClusterConfig(state_dir=state, nodes="real", timeout=120, machine_wait=1800))
    started = time.monotonic()
    cluster.up(lambda message: print(message, flush=True))
    print(f"real-node cluster up in {time.monotonic() - started:.1f}s")
    plan = cluster.node_plan()
    assert plan is not None
    try:
        yield cluster
    finally:
        cluster.down()
        host.assert_down_clean(cluster, plan, before)
        shutil.rmtree(state)  # kept (with the logs) when something was left behind


@pytest.fixture(scope="module")
def real_kubeconfig(real_cluster: LocalCluster) -> Path:
    return real_cluster.kubeconfig


@pytest.fixture
def ns(real_kubeconfig: Path) -> Iterator[str]:
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    kubectl(real_kubeconfig, "create", "namespace", name)
    yield name
    kubectl(real_kubeconfig, "delete", "namespace", name, "--wait=false")


@pytest.fixture(scope="module")
def real_crds(real_kubeconfig: Path) -> None:
    kubectl(real_kubeconfig, "apply", "--server-side", "-f", str(CRD_DIR))
    kubectl(real_kubeconfig, "wait", "--for=condition=Established", "--timeout=180s",
            *[f"crd/{p.stem.split('_', 1)[1]}.ray.io" for p in sorted(CRD_DIR.glob("ray.io_*.yaml"))])
