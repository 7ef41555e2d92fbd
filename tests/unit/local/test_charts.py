"""Pure parts of the chart repository and of running the chart's operator locally."""

from __future__ import annotations

from pathlib import Path

import pytest

from raykube.local.charts.operator import local_args, without_local_flags
from raykube.local.charts.repo import CHARTS_ENV, ChartRepoError, Publication, charts_dir, publications


def test_local_flags_are_replaced_and_the_rest_kept() -> None:
    chart_args = ("--metrics-addr=:8080", "--health-probe-bind-address", ":8082", "--enable-leader-election",
                  "--kubeconfig=/in/cluster", "--watch-namespace=a,b", "--qps=100")
    assert without_local_flags(chart_args) == ["--enable-leader-election", "--watch-namespace=a,b", "--qps=100"]
    assert local_args(chart_args, kubeconfig=Path("/k"), metrics_port=1, probe_port=2) == [
        "--kubeconfig=/k", "--metrics-addr=127.0.0.1:1", "--health-probe-bind-address=127.0.0.1:2",
        "--enable-leader-election", "--watch-namespace=a,b", "--qps=100",
    ]


def test_published_versions_of_the_repository() -> None:
    found = publications()
    assert [(p.chart, p.version) for p in found] == [
        ("kuberay-operator", "1.7.0"), ("kuberay-operator", "1.3.0"),
        ("ray-cluster", "1.7.0"), ("ray-cluster", "1.3.0"),
    ]
    assert [p.values.name if p.values else None for p in found] == [None, None, None, "ray-cluster-1.3.0.values.yaml"]


def _source(tmp_path: Path, published: str) -> Path:
    (tmp_path / "published.yaml").write_text(published)
    (tmp_path / "c").mkdir(exist_ok=True)
    (tmp_path / "c" / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 1.0.0\n")
    return tmp_path


def test_published_file_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ChartRepoError, match="'missing'"):
        publications(_source(tmp_path, "missing:\n  - version: 1.0.0\n"))
    with pytest.raises(ChartRepoError, match="values file"):
        publications(_source(tmp_path, "c:\n  - version: 1.0.0\n    values: nope.yaml\n"))
    assert publications(_source(tmp_path, "c:\n  - version: 2.0.0\n")) == [Publication("c", "2.0.0")]


def test_charts_dir_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CHARTS_ENV, str(tmp_path))
    with pytest.raises(ChartRepoError, match=CHARTS_ENV):
        charts_dir()
    (tmp_path / "published.yaml").write_text("{}\n")
    assert charts_dir() == tmp_path
