"""Helpers for the chart tests: the pinned helm with a private configuration, `helm template` as objects, and
KubeRay's chart values files from the reference data."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from raykube.local.binaries import binary
from tests.unit.api.upstream import reference_dir

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
OPERATOR_CHART = CHARTS / "kuberay-operator"
CLUSTER_CHART = CHARTS / "ray-cluster"
KUBERAY_VERSIONS = ("v1.3.0", "v1.7.0")


def helm_env(home: Path) -> dict[str, str]:
    """Environment for helm with its repositories, cache and plugins under `home` (never the user's)."""
    return {
        **os.environ,
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_DATA_HOME": str(home / "data"),
    }


def helm(*args: str, home: Path | None = None, check: bool = True, kubeconfig: Path | None = None,
         ) -> subprocess.CompletedProcess[str]:
    env = helm_env(home) if home else dict(os.environ)
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    result = subprocess.run([str(binary("helm")), *args], capture_output=True, text=True, env=env, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed ({result.returncode}):\n{result.stderr}{result.stdout}")
    return result


def template_text(
    chart: Path | str,
    release: str,
    *,
    namespace: str = "default",
    values: Iterable[Path] = (),
    sets: Iterable[str] = (),
    extra: Iterable[str] = (),
) -> str:
    args = ["template", release, str(chart), "-n", namespace]
    for path in values:
        args += ["-f", str(path)]
    for item in sets:
        args += ["--set", item]
    return helm(*args, *extra).stdout


def template(chart: Path | str, release: str, **kwargs: Any) -> list[dict[str, Any]]:
    """`helm template` as a list of objects (empty documents dropped)."""
    return [doc for doc in yaml.safe_load_all(template_text(chart, release, **kwargs)) if doc]


def only(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {[d['metadata']['name'] for d in found]}"
    return found[0]


def kuberay_values(chart: str, version: str) -> Path:
    """KubeRay's `values.yaml` of `chart` at `version` (e.g. "ray-cluster", "v1.3.0")."""
    base = reference_dir()
    assert base is not None, "KubeRay reference files not found"
    return base / version / "helm" / f"{chart}.values.yaml"


def write_values(path: Path, values: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return path
