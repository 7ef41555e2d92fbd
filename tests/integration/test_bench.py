"""The benchmarks run end to end (small sizes): numbers go to docs/benchmarks.md, never into assertions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
TINY = ["--clusters", "2", "--workers", "1", "--big-workers", "6", "--small-clusters", "2", "--interval", "0.5",
        "--steady-clusters", "2", "--idle-seconds", "3", "--changes", "3", "--settle", "1", "--writes-clusters", "2"]
OPERATORS = ("raykube", "kuberay")


def _check_table_and_chart(name: str, scenario: dict[str, Any]) -> None:
    assert scenario["table"], name
    for row in scenario["table"]:
        assert set(row) == {"measure", "raykube", "kuberay", "baseline", "raykube_over_kuberay",
                            "raykube_over_baseline", "kuberay_over_baseline"}, name
    assert any(row["raykube_over_kuberay"] is not None for row in scenario["table"]), name
    assert Path(scenario["chart"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


@pytest.mark.timeout(2400)
def test_every_operator_scenario_runs_both_operators_to_ready_and_reports_ratios(tmp_path: Path) -> None:
    # KubeRay's Go operator is built by `make test` before the tests (`make tools-kuberay`); run alone, the
    # benchmark builds it on first use.
    result = subprocess.run(
        [sys.executable, "-m", "bench.operators", *TINY, "--json", "--chart", str(tmp_path / "bench.png")],
        capture_output=True, text=True, timeout=2300, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    scenarios = report["scenarios"]
    assert list(scenarios) == ["throughput", "scaleup", "steady", "writes"]
    for name, scenario in scenarios.items():
        _check_table_and_chart(name, scenario)

    size = scenarios["throughput"]["sizes"]["2"]
    assert size["ceiling"]["pods"] == 4
    assert size["ceiling"]["cluster_cpu_seconds"]["API server"] > 0  # the cluster's own CPU is read per part
    runs = [(s, o) for s in ("defaults", "raised") for o in OPERATORS] + [("tuned", "kuberay")]
    for settings, operator in runs:
        measured = size[settings][operator]
        assert measured["ready_clusters"] == 2 and measured["pods"] == 4, (settings, operator)
        for key in ("ready_seconds", "pods_per_second", "requests_per_cluster", "peak_rss_mib", "cpu_seconds",
                    "ready_p50_seconds", "cluster_cpu_total", "apiserver_cpu"):
            assert measured[key] > 0, (settings, operator, key)
        if operator == "raykube":  # KubeRay counts its own update conflicts ("the object has been modified")
            assert measured["reconcile_errors"] == 0, (settings, operator)

    for operator in OPERATORS:
        scaleup = scenarios["scaleup"][operator]
        assert scaleup["ready_clusters"] == 2 * 2 + 1, operator  # quiet and loaded small ones, and the big one
        assert scaleup["quiet_ready_seconds"]["n"] == scaleup["loaded_ready_seconds"]["n"] == 2, operator
        assert scaleup["big_running_per_second"] > 0, operator

        steady = scenarios["steady"][operator]
        assert steady["ready_clusters"] == 2, operator
        assert steady["reaction_created"]["n"] == steady["reaction_running"]["n"] == 3, operator
        assert steady["idle_rss_mib"] > 0, operator

        writes = scenarios["writes"][operator]
        assert writes["ready_clusters"] == 2, operator
        assert writes["writes_per_cluster"] >= scenarios["writes"]["minimum"]["creates"], operator
