"""`raykube local up --control-plane-qps`: the scheduler's and controller-manager's API client limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from raykube.cli.local import app
from raykube.local import binaries
from raykube.local.controlplane import components
from raykube.local.controlplane.components import Layout


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Layout:
    # A unit test must not need the Go build: executable placeholders stand in for the binaries.
    monkeypatch.setenv("RAYKUBE_CACHE", str(tmp_path / "cache"))
    version = binaries.versions()["K8S_VERSION"]
    for name in ("kube-scheduler", "kube-controller-manager"):
        placeholder = binaries.cache_dir() / "bin" / f"{name}-{version}" / name
        placeholder.parent.mkdir(parents=True)
        placeholder.write_text("#!/bin/sh\n")
        placeholder.chmod(0o755)
    return Layout(state_dir=tmp_path, etcd_data=tmp_path / "etcd", etcd_port=1, etcd_peer_port=2,
                  apiserver_port=3, controller_manager_port=4, scheduler_port=5, kwok_port=6)


def _limits(argv: list[str | Path]) -> list[str]:
    return [str(a) for a in argv if str(a).startswith("--kube-api-")]


def test_by_default_the_scheduler_keeps_its_own_limits_and_the_controller_manager_has_raised_ones(
        layout: Layout) -> None:
    assert _limits(components.scheduler(layout)) == []
    assert _limits(components.controller_manager(layout)) == ["--kube-api-qps=200", "--kube-api-burst=400"]


def test_a_raised_limit_reaches_both_components_with_a_burst_of_twice_the_rate(layout: Layout) -> None:
    assert _limits(components.scheduler(layout, 1000)) == ["--kube-api-qps=1000", "--kube-api-burst=2000"]
    assert _limits(components.controller_manager(layout, 1000)) == ["--kube-api-qps=1000", "--kube-api-burst=2000"]


def test_the_cli_refuses_a_negative_limit(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["up", "--state-dir", str(tmp_path), "--control-plane-qps", "-1"])
    assert result.exit_code == 2
    assert "--control-plane-qps" in result.output
