"""Fixtures of the chart tests (also imported by the integration and walkthrough tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from raykube.local.charts.repo import build_repository


@pytest.fixture(scope="session")
def chart_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chart repository directory (every published chart version packaged, plus index.yaml)."""
    out = tmp_path_factory.mktemp("chart-repo")
    build_repository(out)
    return out


@pytest.fixture(scope="session")
def helm_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private helm configuration/cache/data home, so tests never touch the user's repositories."""
    return tmp_path_factory.mktemp("helm-home")
