"""The embedded (rocksdb) GCS FT backend behind the GCSFaultToleranceEmbeddedStorage gate: `<cluster>-gcs-pvc`,
its deletionPolicy, a user's claim, no Redis clean-up finalizer (own module: its own operator with the gate)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from raykube import reasons
from tests.integration.kube import apply, eventually, kubectl, scratch_namespace
from tests.integration.operator import OperatorProcess, running_operator
from tests.integration.test_raycluster_gcs_ft import _cluster_or_none, _ft_cluster, _gone

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def operator(kubeconfig: Path, ray_crds: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    yield from running_operator(
        kubeconfig, tmp_path_factory.mktemp("operator"), lease_namespace="kube-system",
        extra=("--feature-gates=GCSFaultToleranceEmbeddedStorage=true",),
    )


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "gcs-rocksdb")


def _rocksdb_cluster(name: str, storage: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(_ft_cluster(name))
    body["spec"]["gcsFaultToleranceOptions"] = {"backend": "rocksdb", "storage": storage}
    return body


def _pvc(kubeconfig: Path, ns: str, name: str) -> dict[str, Any] | None:
    out = kubectl(kubeconfig, "get", "pvc", name, "-n", ns, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None


def _head_claim(kubeconfig: Path, ns: str, cluster: str) -> str:
    def claim() -> str | None:
        out = kubectl(kubeconfig, "get", "pods", "-n", ns, "-l", f"ray.io/cluster={cluster},ray.io/node-type=head",
                      "-o", "json")
        pods = json.loads(out.stdout)["items"]
        if not pods:
            return None
        volume = next(v for v in pods[0]["spec"]["volumes"] if v["name"] == "gcs-storage")
        env = {e["name"]: e.get("value") for e in pods[0]["spec"]["containers"][0]["env"]}
        assert (env["RAY_gcs_storage"], env["RAY_gcs_storage_path"]) == ("rocksdb", "/data/gcs")
        return str(volume["persistentVolumeClaim"]["claimName"])
    return eventually(claim, what="head pod")


def test_embedded_sample_gets_its_pvc_owned_by_the_cluster(
    operator: OperatorProcess, kubeconfig: Path, ns: str, kuberay_reference: Path
) -> None:
    apply(kubeconfig, ns, (kuberay_reference / "v1.7.0" / "samples" / "ray-cluster.embedded-gcs-ft.yaml").read_text())
    name = "raycluster-embedded-gcs-ft"
    pvc = eventually(lambda: _pvc(kubeconfig, ns, f"{name}-gcs-pvc"), what="gcs pvc")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["metadata"]["ownerReferences"][0]["name"] == name
    assert _head_claim(kubeconfig, ns, name) == f"{name}-gcs-pvc"
    cluster = _cluster_or_none(kubeconfig, ns, name)
    assert cluster is not None
    assert reasons.FINALIZER_GCS_FT_REDIS_CLEANUP not in (cluster["metadata"].get("finalizers") or [])


def test_retain_policy_leaves_the_pvc_unowned_and_a_users_claim_gets_none(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    apply(kubeconfig, ns, _rocksdb_cluster("kept", {"deletionPolicy": "Retain", "size": "2Gi"}))
    apply(kubeconfig, ns, _rocksdb_cluster("mine", {"claimName": "my-claim"}))
    pvc = eventually(lambda: _pvc(kubeconfig, ns, "kept-gcs-pvc"), what="retained pvc")
    assert "ownerReferences" not in pvc["metadata"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert _head_claim(kubeconfig, ns, "mine") == "my-claim"
    assert _pvc(kubeconfig, ns, "mine-gcs-pvc") is None
    kubectl(kubeconfig, "delete", "raycluster", "kept", "-n", ns, "--wait=false")
    _gone(kubeconfig, ns, "kept")
    assert _pvc(kubeconfig, ns, "kept-gcs-pvc") is not None
