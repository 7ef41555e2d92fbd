"""raykube over every KubeRay v1.7.0 sample, compared with KubeRay's own operator's recorded output.

`make conformance --write-golden` (CONFORMANCE_ARGS) ran KubeRay's Go operator over the samples and stored its
normalised snapshots in tests/golden/kuberay. This test runs raykube's operator the same way (one local
cluster with the same fake nodes, a namespace per sample, the same settling rule), normalises with the same
code and classifies with the same bench/conformance/classified.yaml. The ratchet: an unclassified difference
must match an entry of bench/conformance/open.yaml (a known raykube difference, not fixed yet); any other is a
regression and fails, and so does an open.yaml entry that no longer matches anything (fixed: remove it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.conformance import golden
from bench.conformance.compare import load_open, load_rules, match_open
from bench.conformance.report import results, sample_table
from bench.conformance.run import cluster_config, install_crds, raykube_phase
from bench.conformance.samples import load_samples

from raykube.local.cluster import LocalCluster

pytestmark = pytest.mark.integration


def test_raykube_matches_kuberay_on_every_sample_but_for_classified_differences(
    tmp_path: Path, kuberay_reference: Path
) -> None:
    version, kuberay = golden.load()
    samples = load_samples()
    assert version and set(kuberay) == {s.name for s in samples}, "a golden file per sample (make conformance)"
    cluster = LocalCluster(cluster_config(tmp_path / "cluster"))
    cluster.up()
    try:
        install_crds(cluster.kubeconfig)
        phase = raykube_phase(cluster.kubeconfig, tmp_path, samples, progress=lambda _: None)
    finally:
        cluster.down()
    assert phase.settled, f"raykube still changing after {phase.seconds:.0f} s"
    assert not phase.apply_errors, phase.apply_errors
    open_rules = load_open()
    compared = results(samples, kuberay, phase.snapshots, load_rules(), open_rules=open_rules)
    regressions = [r for r in compared if r.open().new]
    assert not regressions, "\n".join(sample_table(r) for r in regressions)
    fixed = match_open([d for r in compared for d in r.unclassified()], open_rules).unused
    assert not fixed, "open.yaml entries that match nothing any more (fixed? remove them): " + ", ".join(
        rule.id for rule in fixed)
    # The comparison read something: every sample where KubeRay left objects has raykube's recorded too (a sample
    # whose RayJob deletes itself, e.g. ray-job.deletion-rules, ends empty with both operators).
    empty = [name for name, snap in kuberay.items() if snap["objects"] and not phase.snapshots[name]["objects"]]
    assert not empty, empty
    assert sum(1 for snap in phase.snapshots.values() if snap["objects"]) > len(samples) // 2
