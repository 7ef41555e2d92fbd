"""Fixtures shared by the integration tests (the local cluster itself comes from tests/conftest.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.kube import kubectl

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = ROOT / "config" / "crd" / "bases"


@pytest.fixture(scope="session")
def ray_crds(kubeconfig: Path) -> None:
    """Our generated ray.io CRDs, installed (server-side apply, idempotent) and Established."""
    kubectl(kubeconfig, "apply", "--server-side", "-f", str(CRD_DIR))
    kubectl(kubeconfig, "wait", "--for=condition=Established", "--timeout=180s",
            *[f"crd/{p.stem.split('_', 1)[1]}.ray.io" for p in sorted(CRD_DIR.glob("ray.io_*.yaml"))])


@pytest.fixture(scope="session")
def gateway_crds(kubeconfig: Path) -> Path:
    """The Gateway API standard CRDs at the version pinned in tools/gateway-api (fetched once through the Go
    module proxy by tools/gateway-api-crds.sh), installed and Established. No gateway controller runs: the
    tests that need one set the Gateway and HTTPRoute status themselves."""
    script = ROOT / "tools" / "gateway-api-crds.sh"
    crds = Path(subprocess.run([str(script)], check=True, capture_output=True, text=True, timeout=600).stdout.strip())
    kubectl(kubeconfig, "apply", "--server-side", "-f", str(crds))
    kubectl(kubeconfig, "wait", "--for=condition=Established", "--timeout=60s",
            "crd/gateways.gateway.networking.k8s.io", "crd/httproutes.gateway.networking.k8s.io")
    return crds
