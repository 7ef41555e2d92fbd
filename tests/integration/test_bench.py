"""The benchmarks run end to end (small sizes): numbers go to docs/benchmarks.md, never into assertions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_raycluster_scale_benchmark_runs_and_reports_every_measure() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "raycluster_scale.py"), "--clusters", "3", "--workers", "1", "--json"],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["raykube"]["clusters"] == 3 and report["raykube"]["pods"] == 6
    assert report["baseline"]["pods"] == 6
    for key in ("ready_seconds", "pods_per_second", "requests_per_cluster", "peak_rss_mib", "operator_cpu_seconds"):
        assert report["raykube"][key] > 0, key
    assert report["raykube"]["reconcile_errors"] == 0
    assert report["ratio_pods_per_second"] > 0
