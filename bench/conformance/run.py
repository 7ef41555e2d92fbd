"""`make conformance`: KubeRay's Go operator, then raykube's, over every KubeRay v1.7.0 sample; compared.

1. builds KubeRay's operator once into the tool cache (`tools/build.sh kuberay-operator`);
2. starts a local cluster with fake nodes and installs KubeRay v1.7.0's CRDs;
3. KubeRay's operator over every sample (a namespace each) until settled; its namespaces removed;
4. raykube's operator the same way;
5. normalises and compares both, classifies each difference (bench/conformance/classified.yaml), prints a
   table per sample and a summary, writes docs/conformance.md; exits 1 on any unclassified difference (those
   listed in bench/conformance/open.yaml, known raykube differences not fixed yet, are counted apart but
   still fail the run).

``--write-golden`` also stores KubeRay's snapshots in tests/golden/kuberay; ``--against-golden`` skips
KubeRay (steps 1 and 3) and compares raykube with the golden files instead, as the test suite does.
Usage: python -m bench.conformance.run [--only SAMPLE ...] [--write-golden | --against-golden]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.conformance import golden
from bench.conformance.compare import load_open, load_rules
from bench.conformance.normalise import renormalise
from bench.conformance.phase import PhaseResult, kubectl, remove, run_phase
from bench.conformance.report import markdown, results, sample_table, summary
from bench.conformance.samples import Sample, crds_dir, load_samples
from bench.localcluster import ray_crd_names, wait_established
from raykube.local.binaries import binary, versions
from raykube.local.cluster import ClusterConfig, LocalCluster

REPO = golden.REPO
DOC = REPO / "docs" / "conformance.md"
HEADER = """
`make conformance` runs KubeRay's own operator (built from the Go module proxy) and raykube's operator in
turn on the local cluster (fake nodes), over every KubeRay v1.7.0 sample, each in a fresh namespace, and
compares what each made: pods, Services, Jobs, Secrets, ServiceAccounts, Roles, RoleBindings, Ingresses,
PVCs, the RayClusters made by RayJobs and RayServices, the status of every ray.io object with its
conditions, and the Events. Names, uids, times, IP addresses and random suffixes are normalised first
(`bench/conformance/normalise.py`). Every remaining difference is classified in
`bench/conformance/classified.yaml`: **version** (the KubeRay release run differs from v1.7.0 there; the
upstream change is cited) or **deliberate** (a raykube choice; the docs/compatibility.md row is cited). An
unclassified difference fails the run. KubeRay's snapshots are kept in `tests/golden/kuberay`, and
`tests/integration/test_conformance_golden.py` compares raykube against them in `make test`.

Nothing runs Ray on fake nodes: no dashboard answers, so RayJobs and RayServices stop where they wait for
Ray, with either operator. Pods asking for GPUs or TPUs stay Pending (the fake nodes have none). Sample
documents of kinds the local cluster does not serve (Gateway API, Volcano, Kueue, agent sandboxes) are
left out, as listed per sample. Both operators run with their default feature gates, except that KubeRay
gets `RayServiceIncrementalUpgrade=true`, v1.7.0's default.
"""


def cluster_config(state_dir: Path) -> ClusterConfig:
    return ClusterConfig(state_dir=state_dir, **golden.CLUSTER)  # type: ignore[arg-type]


def install_crds(kubeconfig: Path) -> None:
    """KubeRay v1.7.0's own CRDs (the reference copies), Established."""
    kubectl(kubeconfig, "apply", "--server-side", "-f", str(crds_dir()))
    wait_established(kubeconfig, ray_crd_names(crds_dir()), timeout=60)


def raykube_phase(kubeconfig: Path, work: Path, samples: list[Sample],
                  progress: Callable[[str], None]) -> PhaseResult:
    return run_phase(kubeconfig, work, samples, prefix="raykube", timing=golden.TIMING, progress=progress)


def _notes(phases: dict[str, PhaseResult]) -> dict[str, list[str]]:
    notes: dict[str, list[str]] = {}
    for who, phase in phases.items():
        for sample, error in phase.apply_errors.items():
            notes.setdefault(sample, []).append(f"{who}: apply: {error.splitlines()[-1]}")
    return notes


def run(args: argparse.Namespace, progress: Callable[[str], None]) -> tuple[str, dict[str, Any], dict[str, Any],
                                                                             dict[str, PhaseResult]]:
    samples = load_samples(only=args.only or None)
    version = versions()["KUBERAY_VERSION"]
    if args.against_golden:
        version, kuberay = golden.load()
    with tempfile.TemporaryDirectory(prefix="raykube-conformance-") as tmp:
        work = Path(tmp)
        cluster = LocalCluster(cluster_config(work / "cluster"))
        cluster.up()
        phases: dict[str, PhaseResult] = {}
        try:
            install_crds(cluster.kubeconfig)
            if not args.against_golden:
                program = (str(binary("kuberay-operator")),)
                phases["kuberay"] = run_phase(cluster.kubeconfig, work, samples, prefix="kuberay", program=program,
                                              extra=golden.KUBERAY_FLAGS, timing=golden.TIMING, progress=progress)
                kuberay = phases["kuberay"].snapshots
                remove(cluster.kubeconfig, "kuberay", samples)
            phases["raykube"] = raykube_phase(cluster.kubeconfig, work, samples, progress)
        finally:
            cluster.down()
    return version, kuberay, phases["raykube"].snapshots, phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[], help="a sample file stem (repeatable)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write-golden", action="store_true", help="store KubeRay's snapshots in tests/golden")
    mode.add_argument("--against-golden", action="store_true", help="compare raykube with tests/golden only")
    parser.add_argument("--dump", type=Path, help="also write both operators' snapshots to this JSON file")
    parser.add_argument("--from-dump", type=Path,
                        help="compare the snapshots of an earlier --dump (no cluster: for classifying)")
    args = parser.parse_args()
    started = time.monotonic()

    def progress(text: str) -> None:
        print(f"[{time.monotonic() - started:5.0f}s] {text}", file=sys.stderr, flush=True)

    if not args.against_golden and not args.from_dump:
        subprocess.run([str(REPO / "tools" / "build.sh"), "kuberay-operator"], check=True, stdout=sys.stderr)
    rules = load_rules()
    if args.from_dump:
        dumped = json.loads(args.from_dump.read_text())
        version = dumped["version"]
        phases: dict[str, PhaseResult] = {}
        kuberay = {k: renormalise(v) for k, v in dumped["kuberay"].items()}
        raykube = {k: renormalise(v) for k, v in dumped["raykube"].items()}
    else:
        version, kuberay, raykube, phases = run(args, progress)
    if args.dump:
        args.dump.write_text(json.dumps({"version": version, "kuberay": kuberay, "raykube": raykube}))
    samples = load_samples(only=args.only or None)
    done = results(samples, kuberay, raykube, rules, _notes(phases), open_rules=load_open())
    for result in done:
        print(sample_table(result))
        for note in result.notes:
            print(f"  note: {note}")
    for who, phase in phases.items():
        if not phase.settled:
            print(f"warning: {who} had not settled after {phase.seconds:.0f} s", file=sys.stderr)
    if args.write_golden:
        for sample in samples:
            golden.write(sample.name, kuberay[sample.name], kuberay_version=version)
    if not args.only:
        DOC.write_text(markdown(done, rules, kuberay_version=version, header=HEADER))
    s = summary(done)
    print(f"conformance ({version}): {s['samples']} samples, {s['objects']} objects, {s['differences']} differences: "
          f"{s['version']} version, {s['deliberate']} deliberate, {s['unclassified']} unclassified "
          f"({s['open']} open (known raykube differences), {s['unclassified'] - s['open']} new); "
          f"{time.monotonic() - started:.0f} s")
    sys.exit(1 if s["unclassified"] else 0)


if __name__ == "__main__":
    main()
