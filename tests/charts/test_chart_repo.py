"""The charts as a Helm repository: lint, the CRD copy, packaging under KubeRay's version numbers, and
`helm repo add/update`, `helm show values`, `helm pull --version` against `raykube local charts serve`."""

from __future__ import annotations

import filecmp
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from raykube import __version__
from raykube.local.charts.repo import ChartServer, publications
from tests.charts.helm import (
    CHARTS,
    CLUSTER_CHART,
    KUBERAY_VERSIONS,
    OPERATOR_CHART,
    REPO,
    helm,
    helm_env,
    kuberay_values,
)
from tests.unit.api.upstream import reference_dir

CRD_SOURCE = REPO / "config" / "crd" / "bases"
LINT_CASES = [
    pytest.param(OPERATOR_CHART, (), id="kuberay-operator"),
    pytest.param(OPERATOR_CHART, ("--set", "watchNamespace={a,b}"), id="kuberay-operator-namespaced"),
    pytest.param(CLUSTER_CHART, (), id="ray-cluster"),
    pytest.param(CLUSTER_CHART, ("-f", str(CHARTS / "versions" / "ray-cluster-1.3.0.values.yaml")),
                 id="ray-cluster-1.3.0-defaults"),
]
if reference_dir() is not None:
    LINT_CASES += [
        pytest.param(chart, ("-f", str(kuberay_values(chart.name, version))), id=f"{chart.name}-kuberay-{version}")
        for chart in (OPERATOR_CHART, CLUSTER_CHART)
        for version in KUBERAY_VERSIONS
    ]


@pytest.mark.parametrize(("chart", "args"), LINT_CASES)
def test_helm_lint(chart: Path, args: tuple[str, ...]) -> None:
    result = helm("lint", "--strict", str(chart), *args)
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


def test_chart_crds_are_the_generated_crds() -> None:
    chart_crds = OPERATOR_CHART / "crds"
    names = sorted(p.name for p in CRD_SOURCE.glob("*.yaml"))
    assert names and sorted(p.name for p in chart_crds.iterdir()) == names, "run `make chart-crds`"
    _, mismatch, errors = filecmp.cmpfiles(CRD_SOURCE, chart_crds, names, shallow=False)
    assert not mismatch and not errors, f"stale chart CRDs {mismatch + errors}: run `make chart-crds`"


def test_repository_publishes_kuberay_versions_with_raykubes_app_version(chart_repo: Path) -> None:
    index = yaml.safe_load((chart_repo / "index.yaml").read_text())
    versions = {name: sorted(e["version"] for e in entries) for name, entries in index["entries"].items()}
    assert versions == {"kuberay-operator": ["1.3.0", "1.7.0"], "ray-cluster": ["1.3.0", "1.7.0"]}
    for entries in index["entries"].values():
        for entry in entries:
            assert entry["appVersion"] == __version__
            assert entry["urls"] == [f"{entry['name']}-{entry['version']}.tgz"], "relative: any port works"
    assert {p.version for p in publications()} == {"1.3.0", "1.7.0"}


@pytest.fixture(scope="module")
def served(chart_repo: Path) -> Iterator[str]:
    with ChartServer(chart_repo) as server:
        yield server.url


@pytest.fixture(scope="module")
def repo_added(served: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("helm-home")
    added = helm("repo", "add", "kuberay", served, home=home).stdout.strip()
    assert added == '"kuberay" has been added to your repositories'
    update = helm("repo", "update", home=home).stdout
    assert '...Successfully got an update from the "kuberay" chart repository' in update
    return home


def test_helm_search_lists_both_versions(repo_added: Path) -> None:
    lines = helm("search", "repo", "kuberay", "--versions", home=repo_added).stdout.splitlines()
    rows = sorted(tuple(line.split()[:3]) for line in lines[1:])
    assert rows == [
        ("kuberay/kuberay-operator", "1.3.0", __version__),
        ("kuberay/kuberay-operator", "1.7.0", __version__),
        ("kuberay/ray-cluster", "1.3.0", __version__),
        ("kuberay/ray-cluster", "1.7.0", __version__),
    ]


def test_show_values_gives_kuberays_defaults_per_version(repo_added: Path) -> None:
    latest = yaml.safe_load(helm("show", "values", "kuberay/ray-cluster", home=repo_added).stdout)
    assert latest == yaml.safe_load((CLUSTER_CHART / "values.yaml").read_text())
    assert latest["image"]["tag"] == "2.52.0"
    old = yaml.safe_load(helm("show", "values", "kuberay/ray-cluster", "--version", "1.3.0", home=repo_added).stdout)
    assert old["image"]["tag"] == "2.41.0" and old["head"]["resources"]["limits"]["memory"] == "2G"
    operator = yaml.safe_load(helm("show", "values", "kuberay/kuberay-operator", "--version", "1.3.0",
                                   home=repo_added).stdout)
    assert operator["image"]["repository"] == "raykube/operator"


def test_pull_resolves_version_1_3_0(repo_added: Path, tmp_path: Path) -> None:
    helm("pull", "kuberay/kuberay-operator", "--version", "1.3.0", "--untar", "-d", str(tmp_path), home=repo_added)
    chart = yaml.safe_load((tmp_path / "kuberay-operator" / "Chart.yaml").read_text())
    assert (chart["version"], chart["appVersion"]) == ("1.3.0", __version__)
    assert sorted(p.name for p in (tmp_path / "kuberay-operator" / "crds").iterdir()) == sorted(
        p.name for p in CRD_SOURCE.glob("*.yaml"))


def test_server_listens_on_loopback_only(served: str) -> None:
    assert served.startswith("http://127.0.0.1:")
    assert httpx.get(served + "index.yaml", timeout=5).status_code == 200
    assert httpx.get(served + "missing.tgz", timeout=5).status_code == 404


def test_serve_command(tmp_path: Path) -> None:
    """`raykube local charts serve --port 0` prints the URL first, serves until SIGTERM, then exits 0."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "raykube.cli.main", "local", "charts", "serve", "--port", "0", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        index = yaml.safe_load(httpx.get(url + "index.yaml", timeout=5).text)
        assert set(index["entries"]) == {"kuberay-operator", "ray-cluster"}
        home = tmp_path / "helm-home"
        helm("repo", "add", "kuberay", url, home=home)
        assert "kuberay/ray-cluster" in helm("search", "repo", "kuberay", home=home).stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    assert sorted(p.name for p in tmp_path.glob("*.tgz")) == [
        "kuberay-operator-1.3.0.tgz", "kuberay-operator-1.7.0.tgz", "ray-cluster-1.3.0.tgz", "ray-cluster-1.7.0.tgz"]
    assert helm_env(home)["HELM_CONFIG_HOME"].startswith(str(tmp_path))
