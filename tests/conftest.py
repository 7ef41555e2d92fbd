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


REFERENCE_MISSING = (
    "KubeRay reference data (shared/reference/kuberay) not found: clone the repository beside shared/, or set "
    "RAYKUBE_KUBERAY_REFERENCE to that directory"
)


def pytest_sessionstart(session: pytest.Session) -> None:
    """The conformance tests need KubeRay's reference data: without it, stop at once, saying so.

    Skipping them instead would turn a misplaced checkout into a green run that checked nothing upstream.
    """
    from tests.unit.api.upstream import reference_dir

    if reference_dir() is None:
        raise pytest.UsageError(REFERENCE_MISSING)


@pytest.fixture(scope="session")
def kuberay_reference() -> Path:
    """The upstream KubeRay reference data (CRDs, samples, chart values) beside the checkout."""
    from tests.unit.api.upstream import reference_dir

    found = reference_dir()
    if found is None:
        pytest.fail(REFERENCE_MISSING)
    return found
