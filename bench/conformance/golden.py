"""Golden files: KubeRay's normalised snapshot of each sample, kept as data under tests/golden/kuberay.

``make conformance --write-golden`` writes them from a run of KubeRay's operator; the test suite applies the
same samples with raykube's operator and compares against them (same normaliser, same classification), so
no Go build is needed on every change. The cluster, the timing and the KubeRay flags are fixed here so the
two runs see the same conditions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bench.conformance.normalise import renormalise
from bench.conformance.phase import Timing

REPO = Path(__file__).resolve().parents[2]
GOLDEN_DIR = REPO / "tests" / "golden" / "kuberay"
#: Fake nodes large enough for every sample at once (pods asking for GPUs or TPUs stay Pending: the nodes
#: have none, with either operator).
CLUSTER = {"fake_nodes": 4, "node_cpu": "1000", "node_memory": "4Ti", "node_pods": 2000}
TIMING = Timing()
#: KubeRay v1.7.0 turned RayServiceIncrementalUpgrade on by default; older releases need the flag.
KUBERAY_FLAGS = ("--feature-gates=RayServiceIncrementalUpgrade=true",)


def write(sample: str, snapshot: dict[str, Any], *, kuberay_version: str, directory: Path = GOLDEN_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    body = {"sample": sample, "kuberay": kuberay_version, "snapshot": snapshot}
    (directory / f"{sample}.yaml").write_text(yaml.safe_dump(body, sort_keys=True, width=120))


def load(directory: Path = GOLDEN_DIR) -> tuple[str, dict[str, dict[str, Any]]]:
    """(KubeRay version, sample -> snapshot) of every golden file."""
    version, snapshots = "", {}
    for path in sorted(directory.glob("*.yaml")):
        body = yaml.safe_load(path.read_text())
        version = body["kuberay"]
        snapshots[body["sample"]] = renormalise(body["snapshot"])
    return version, snapshots
