"""Access to the upstream KubeRay v1.7.0 reference files (CRDs and samples) used by the conformance tests.

The files are not part of the repository. Their directory (the one holding ``v1.7.0/crds`` and
``v1.7.0/samples``) is taken from ``RAYKUBE_KUBERAY_REFERENCE``, else looked up as ``shared/reference/kuberay``
next to the repository checkout. Neither existing stops the test session at its start, with that message.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

VERSION = "v1.7.0"
OUR_KINDS = ("RayCluster", "RayJob", "RayService", "RayCronJob")


@functools.cache
def reference_dir() -> Path | None:
    """The reference directory, or None when it is not available."""
    configured = os.environ.get("RAYKUBE_KUBERAY_REFERENCE")
    candidates = [Path(configured)] if configured else []
    repo = Path(__file__).resolve().parents[3]
    candidates.append(repo.parent / "shared" / "reference" / "kuberay")
    for candidate in candidates:
        if (candidate / VERSION / "crds").is_dir():
            return candidate
    return None


#: Marks a test that reads the reference data. The data is required: `tests/conftest.py` stops the session at
#: its start when it is missing (a skipped conformance suite would hide failures), and the fixture fails.
requires_reference = pytest.mark.usefixtures("kuberay_reference")


def sample_documents() -> list[tuple[str, dict[str, Any]]]:
    """``(id, document)`` for every document of our four kinds in the upstream samples."""
    base = reference_dir()
    if base is None:
        return []
    found: list[tuple[str, dict[str, Any]]] = []
    for path in sorted((base / VERSION / "samples").glob("*.yaml")):
        for index, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if isinstance(doc, dict) and doc.get("kind") in OUR_KINDS:
                found.append((f"{path.stem}#{index}", doc))
    return found


@functools.cache
def crd(plural: str) -> dict[str, Any]:
    """The upstream CRD document ``ray.io_<plural>.yaml``."""
    base = reference_dir()
    assert base is not None
    text = (base / VERSION / "crds" / f"ray.io_{plural}.yaml").read_text()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return next(doc for doc in yaml.load_all(text, Loader=loader) if doc)


def crd_version(plural: str, version: str = "v1") -> dict[str, Any]:
    """One entry of the CRD's ``spec.versions``."""
    return next(v for v in crd(plural)["spec"]["versions"] if v["name"] == version)


def without_nulls(value: Any) -> Any:
    """``value`` with every null map entry removed (the API server treats null like absent)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value
