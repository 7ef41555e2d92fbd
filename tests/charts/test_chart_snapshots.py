"""Golden `helm template` output of the published charts (the packaged versions) for the cases users meet.

A test fails on any difference from ``tests/snapshots/charts/<case>.yaml``. After an intended change,
regenerate with ``RAYKUBE_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/charts`` and review the diff.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.charts.helm import CLUSTER_CHART, KUBERAY_VERSIONS, kuberay_values, template_text, write_values
from tests.unit.api.upstream import reference_dir

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots" / "charts"
UPDATE = os.environ.get("RAYKUBE_UPDATE_SNAPSHOTS") == "1"


@dataclass(frozen=True)
class Case:
    package: str  # file name in the chart repository
    release: str
    values: tuple[str, ...] = ()  # "kuberay:<chart>:<version>" or "walkthrough"
    sets: tuple[str, ...] = field(default_factory=tuple)


CASES = {
    "kuberay-operator-1.3.0": Case("kuberay-operator-1.3.0.tgz", "kuberay-operator"),
    "kuberay-operator-1.7.0-namespaced": Case("kuberay-operator-1.7.0.tgz", "kuberay-operator",
                                              sets=("watchNamespace={team-a,team-b}",)),
    "kuberay-operator-1.7.0-single-namespace-no-leader-election": Case(
        "kuberay-operator-1.7.0.tgz", "kuberay-operator",
        sets=("singleNamespaceInstall=true", "leaderElectionEnabled=false")),
    "ray-cluster-1.3.0": Case("ray-cluster-1.3.0.tgz", "raycluster"),
    "ray-cluster-1.7.0": Case("ray-cluster-1.7.0.tgz", "raycluster"),
    "ray-cluster-1.3.0-walkthrough": Case("ray-cluster-1.3.0.tgz", "raycluster", values=("walkthrough",),
                                          sets=("image.tag=2.46.0-py310-aarch64",)),
}
if reference_dir() is not None:
    for _version in KUBERAY_VERSIONS:
        for _chart, _release in (("kuberay-operator", "kuberay-operator"), ("ray-cluster", "raycluster")):
            CASES[f"{_chart}-kuberay-{_version}-values"] = Case(
                f"{_chart}-{_version.lstrip('v')}.tgz", _release, values=(f"kuberay:{_chart}:{_version}",))


def _values_file(spec: str, tmp_path: Path) -> Path:
    if spec == "walkthrough":
        # `helm show values kuberay/ray-cluster` (the latest version), memory of every group set to 2G.
        values = yaml.safe_load((CLUSTER_CHART / "values.yaml").read_text())
        groups = [values["head"], values["worker"], *values["additionalWorkerGroups"].values()]
        for group in groups:
            group["resources"]["limits"]["memory"] = group["resources"]["requests"]["memory"] = "2G"
        return write_values(tmp_path / "walkthrough.yaml", values)
    _, chart, version = spec.split(":")
    return kuberay_values(chart, version)


@pytest.mark.parametrize("name", sorted(CASES))
def test_template_matches_snapshot(name: str, chart_repo: Path, tmp_path: Path) -> None:
    case = CASES[name]
    rendered = template_text(chart_repo / case.package, case.release, namespace="kuberay",
                             values=[_values_file(v, tmp_path) for v in case.values], sets=case.sets)
    snapshot = SNAPSHOTS / f"{name}.yaml"
    if UPDATE or not snapshot.exists():
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(rendered)
        if not UPDATE:
            pytest.fail(f"snapshot {snapshot.name} was missing and has been written; review and commit it")
    assert rendered == snapshot.read_text(), f"helm template for {name} differs from {snapshot.name}"


def test_every_snapshot_has_a_case() -> None:
    assert sorted(p.stem for p in SNAPSHOTS.glob("*.yaml")) == sorted(CASES)
