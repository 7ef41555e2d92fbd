"""KubeRay's v1.7.0 sample manifests, split into what a plain local cluster can take and what it cannot.

A sample may carry objects of kinds the local cluster does not serve (Gateway API, Volcano queues, agent
sandboxes, ...): those documents are left out and named in the report, the rest is applied as is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REFERENCE_VERSION = "v1.7.0"
RAY_KINDS = ("RayCluster", "RayJob", "RayService", "RayCronJob")

#: apiVersion/kind pairs the local cluster serves (built-in API groups plus the ray.io CRDs).
SERVED_GROUPS = ("v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1", "networking.k8s.io/v1",
                 "policy/v1", "ray.io/v1")


@dataclass(frozen=True)
class Sample:
    """One sample file: its id (file stem), the documents applied and the documents left out."""

    name: str
    applied: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "apiVersion/kind name" of documents left out

    @property
    def ray_objects(self) -> list[tuple[str, str]]:
        """(kind, name) of the ray.io objects the sample creates."""
        return [(d["kind"], d["metadata"]["name"]) for d in self.applied if d.get("kind") in RAY_KINDS]

    @property
    def applied_keys(self) -> set[tuple[str, str]]:
        """(kind, name) of every document applied: objects the user made, not the operator."""
        return {(d["kind"], d["metadata"]["name"]) for d in self.applied}


def reference_dir() -> Path:
    """``shared/reference/kuberay`` beside the checkout, or ``RAYKUBE_KUBERAY_REFERENCE``."""
    configured = os.environ.get("RAYKUBE_KUBERAY_REFERENCE")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "shared" / "reference" / "kuberay"


def samples_dir() -> Path:
    return reference_dir() / REFERENCE_VERSION / "samples"


def crds_dir() -> Path:
    return reference_dir() / REFERENCE_VERSION / "crds"


def split(name: str, text: str) -> Sample:
    """A sample's documents: those the local cluster serves are applied, the others listed as skipped."""
    sample = Sample(name)
    for doc in yaml.safe_load_all(text):
        if not isinstance(doc, dict) or "kind" not in doc:
            continue
        if doc.get("apiVersion") in SERVED_GROUPS:
            sample.applied.append(_named(doc))
        else:
            sample.skipped.append(f"{doc.get('apiVersion')}/{doc['kind']} {doc.get('metadata', {}).get('name', '')}")
    return sample


def _named(doc: dict[str, Any]) -> dict[str, Any]:
    """A document with ``generateName`` gets a fixed name instead (``<generateName>sample``): `kubectl apply`
    cannot generate names, and both operators must see the same object."""
    meta = doc.get("metadata") or {}
    if meta.get("name") or not meta.get("generateName"):
        return doc
    named = {k: v for k, v in meta.items() if k != "generateName"}
    return {**doc, "metadata": {**named, "name": f"{meta['generateName']}sample"}}


def load_samples(directory: Path | None = None, only: list[str] | None = None) -> list[Sample]:
    """Every sample file (sorted by name), or those named in ``only`` (file stems)."""
    found = []
    for path in sorted((directory or samples_dir()).glob("*.yaml")):
        if only and path.stem not in only:
            continue
        found.append(split(path.stem, path.read_text()))
    return found
