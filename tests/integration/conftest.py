"""Fixtures shared by the integration tests (the local cluster itself comes from tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.kube import kubectl

CRD_DIR = Path(__file__).resolve().parents[2] / "config" / "crd" / "bases"


@pytest.fixture(scope="session")
def ray_crds(kubeconfig: Path) -> None:
    """Our generated ray.io CRDs, installed (server-side apply, idempotent) and Established."""
    kubectl(kubeconfig, "apply", "--server-side", "-f", str(CRD_DIR))
    kubectl(kubeconfig, "wait", "--for=condition=Established", "--timeout=180s",
            *[f"crd/{p.stem.split('_', 1)[1]}.ray.io" for p in sorted(CRD_DIR.glob("ray.io_*.yaml"))])
