"""Fixtures of the walkthrough tests: the local cluster (tests/conftest.py) and the chart repository."""

from tests.charts.conftest import chart_repo, helm_home

__all__ = ["chart_repo", "helm_home"]
