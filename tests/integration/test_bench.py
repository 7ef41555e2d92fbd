"""The benchmarks run end to end (small sizes): numbers go to docs/benchmarks.md, never into assertions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_raycluster_scale_benchmark_runs_both_operators_and_reports_every_measure() -> None:
    # KubeRay's Go operator is built by `make test` before the tests (`make tools-kuberay`); run alone, the
    # benchmark builds it on first use.
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "raycluster_scale.py"), "--clusters", "3", "--workers", "1", "--json",
         "--against-kuberay"],
        capture_output=True, text=True, timeout=1200, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["baseline"]["pods"] == 6
    for operator in ("raykube", "kuberay"):
        measured = report[operator]
        assert measured["clusters"] == 3 and measured["pods"] == 6, operator
        for key in ("ready_seconds", "pods_per_second", "requests_per_cluster", "peak_rss_mib", "operator_cpu_seconds",
                    "ratio_to_ceiling", "reconciles"):
            assert measured[key] > 0, (operator, key)
        assert measured["reconcile_errors"] == 0, operator
