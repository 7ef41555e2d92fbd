"""Real-node fixtures: one real-node cluster for the whole package, the ray.io CRDs on it, a namespace per test.

The package's modules share the cluster (each starts its own operator, each test has its own namespace): a
real-node cluster costs about 20 CPU seconds to bring up with the CRDs, on a two-core machine that also runs
the rest of the suite. It is torn down when the package's last test is done, checking that `down` left
nothing behind; only one real node runs per machine, so it waits while another run (or a demo) holds the
machine. `tests/e2e/test_lifecycle.py` brings real nodes up and down itself, outside this package.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bench.localcluster import ray_crd_names, wait_established

from raykube.local.cluster import ClusterConfig, LocalCluster
from raykube.local.images import store as image_store
from tests.e2e.realnode import host
from tests.integration.kube import kubectl

CRD_DIR = Path(__file__).resolve().parents[3] / "config" / "crd" / "bases"


@pytest.fixture(scope="package")
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


@pytest.fixture(scope="package")
def import_built_images(real_cluster: LocalCluster) -> Callable[[], list[str]]:
    """Import into the running node every stored image it lacks: `up` imports what was built before the node
    started, and the package's one node starts before a later module builds its own image (Redis, Ray with
    RocksDB). Returns the names imported."""
    plan = real_cluster.node_plan()
    assert plan is not None

    def load() -> list[str]:
        return image_store.import_missing(plan.containerd_socket, image_store.ImageStore().images(),
                                          lambda message: print(message, flush=True))

    return load


@pytest.fixture(scope="package")
def real_kubeconfig(real_cluster: LocalCluster) -> Path:
    return real_cluster.kubeconfig


@pytest.fixture
def ns(real_kubeconfig: Path) -> Iterator[str]:
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    kubectl(real_kubeconfig, "create", "namespace", name)
    yield name
    kubectl(real_kubeconfig, "delete", "namespace", name, "--wait=false")


@pytest.fixture(scope="package")
def real_crds(real_kubeconfig: Path) -> None:
    kubectl(real_kubeconfig, "apply", "--server-side", "-f", str(CRD_DIR))
    wait_established(real_kubeconfig, ray_crd_names(CRD_DIR))
