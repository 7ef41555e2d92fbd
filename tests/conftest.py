"""Shared fixtures. `local_cluster` starts one real control plane (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, kwok nodes) per test session, only if a test asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from raykube.local.cluster import ClusterConfig, LocalCluster
from raykube.local.processes import is_alive


@pytest.fixture(scope="session")
def local_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A running local cluster with 2 fake nodes; torn down (and checked dead) after the session."""
    cluster = LocalCluster(ClusterConfig(state_dir=tmp_path_factory.mktemp("local-cluster"), fake_nodes=2))
    cluster.up()
    records = cluster.records()
    try:
        yield cluster
    finally:
        cluster.down()
        alive = [r.name for r in records if is_alive(r)]
        assert not alive, f"processes left running after down: {alive}"


@pytest.fixture(scope="session")
def kubeconfig(local_cluster: LocalCluster) -> Path:
    return local_cluster.kubeconfig


@pytest.fixture(scope="session")
def kuberay_reference() -> Path:
    """The upstream KubeRay reference data (CRDs, samples, chart values) beside the checkout."""
    from tests.unit.api.upstream import reference_dir

    found = reference_dir()
    if found is None:
        pytest.fail("KubeRay reference files not found: set RAYKUBE_KUBERAY_REFERENCE or place shared/ beside the repo")
    return found
