"""Fixtures shared by the integration tests (the local cluster itself comes from tests/conftest.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from bench.localcluster import ray_crd_names, wait_established

from tests.integration.kube import kubectl

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = ROOT / "config" / "crd" / "bases"


@pytest.fixture(scope="session")
def ray_crds(kubeconfig: Path) -> None:
    """Our generated ray.io CRDs, installed (server-side apply, idempotent) and Established."""
    kubectl(kubeconfig, "apply", "--server-side", "-f", str(CRD_DIR))
    wait_established(kubeconfig, ray_crd_names(CRD_DIR))


@pytest.fixture(scope="session")
def gateway_crds(kubeconfig: Path) -> Path:
    """The Gateway API standard CRDs at the version pinned in tools/gateway-api (fetched once through the Go
    module proxy by tools/gateway-api-crds.sh), installed and Established. No gateway controller runs: the
    tests that need one set the Gateway and HTTPRoute status themselves."""
    script = ROOT / "tools" / "gateway-api-crds.sh"
    crds = Path(subprocess.run([str(script)], check=True, capture_output=True, text=True, timeout=600).stdout.strip())
    kubectl(kubeconfig, "apply", "--server-side", "-f", str(crds))
    wait_established(kubeconfig, ["crd/gateways.gateway.networking.k8s.io", "crd/httproutes.gateway.networking.k8s.io"],
                     timeout=60)
    return crds
