"""`ENABLE_GCS_FT_REDIS_CLEANUP=false`: no finalizer, a deleted cluster goes at once, its pods with it (own
module: it needs its own operator process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from raykube import reasons
from tests.integration.kube import apply, eventually, kubectl, scratch_namespace
from tests.integration.operator import OperatorProcess, running_operator
from tests.integration.test_raycluster_gcs_ft import _cluster_or_none, _event, _ft_cluster, _gone, _ready

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def operator(kubeconfig: Path, ray_crds: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    yield from running_operator(
        kubeconfig, tmp_path_factory.mktemp("operator"), lease_namespace="kube-system",
        env={"ENABLE_GCS_FT_REDIS_CLEANUP": "false"},
    )


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "gcsft-off")


def test_cleanup_switched_off_means_no_finalizer_and_no_job(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    apply(kubeconfig, ns, _ft_cluster("plain"))
    cluster = _ready(kubeconfig, ns, "plain")
    assert reasons.FINALIZER_GCS_FT_REDIS_CLEANUP not in (cluster["metadata"].get("finalizers") or [])
    kubectl(kubeconfig, "delete", "raycluster", "plain", "-n", ns, "--wait=false")
    _gone(kubeconfig, ns, "plain")
    assert _cluster_or_none(kubeconfig, ns, "plain") is None
    assert _event(kubeconfig, ns, "CreatedRedisCleanupJob") is None
    eventually(lambda: not kubectl(kubeconfig, "get", "jobs", "-n", ns, "-o", "name").stdout.strip() or None,
               what="no Job")


def test_a_leftover_finalizer_is_removed_instead_of_holding_the_deletion(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    body = _ft_cluster("leftover")
    body["metadata"]["finalizers"] = [reasons.FINALIZER_GCS_FT_REDIS_CLEANUP]
    apply(kubeconfig, ns, body)
    _ready(kubeconfig, ns, "leftover")
    kubectl(kubeconfig, "delete", "raycluster", "leftover", "-n", ns, "--wait=false")
    _gone(kubeconfig, ns, "leftover")
    removed = eventually(lambda: _event(kubeconfig, ns, "RemovedGcsFtRedisCleanupFinalizer"), what="removal Event")
    assert "ENABLE_GCS_FT_REDIS_CLEANUP=false" in (removed.get("message") or removed.get("note") or "")
