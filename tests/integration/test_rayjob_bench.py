"""The RayJob isolation benchmark runs end to end at a small size (numbers go to docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_rayjob_isolation_benchmark_runs_and_reports_ratios() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "rayjob_isolation.py"), "--jobs", "4", "--samples", "4",
         "--job-samples", "2", "--json"],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["jobs"] == 4
    for phase in ("quiet", "loaded"):
        assert report[phase]["raycluster_scale_seconds"]["n"] == 4
        assert report[phase]["healthy_rayjob_seconds"]["n"] == 2
    assert report["loaded"]["busy_jobs_still_running"] == 4
    assert report["loaded"]["jobs_with_failing_status_checks"] == 2  # the silent half
    for ratio in ("ratio_raycluster_p50", "ratio_raycluster_p95", "ratio_rayjob_p50"):
        assert report[ratio] > 0
