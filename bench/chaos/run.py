"""`make chaos`: the bad-manifest corpus and the faults against a local cluster with fake nodes.

Starts its own local control plane (4 fake nodes; etcd compacted every 5 s and no watch cache, so that any
watch that falls behind gets 410 Gone), installs the CRDs, runs `raykube operator` (RayCronJob gate on, a
stand-in Ray dashboard for RayJobs and RayServices), then:

1. the corpus (:mod:`bench.chaos.corpus`), in batches, each manifest answered as :mod:`bench.chaos.answers`
   classifies it; crashes, hangs, tracebacks and silent retry loops counted;
2. the faults (:mod:`bench.chaos.faults`): kill -9 during a scale-up, leader freeze, API outage, watch expiry.

Prints the tables for docs/reliability.md and writes every answer to a JSON report. Exits 1 if anything
the issue forbids happened (a crash, hang, silent loop, unanswered manifest, lost or duplicate pod) or a
manifest of :data:`bench.chaos.answers.EXPECTED` got another answer than the one listed there.

Usage: python -m bench.chaos.run [--report chaos-report.json] [--kills 5] [--freezes 3] [--outages 3] ...
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.chaos.answers import CorpusResult, CorpusRunner
from bench.chaos.api import Api
from bench.chaos.corpus import corpus
from bench.chaos.faults import FaultResult, Faults
from bench.localcluster import wait_established
from raykube.local.binaries import binary
from raykube.local.cluster import ClusterConfig, LocalCluster
from raykube.operator.process import OperatorProcess
from raykube.ray.standin import JobScript, StandInDashboard

REPO = Path(__file__).resolve().parents[2]
CRD_DIR = REPO / "config" / "crd" / "bases"
#: Watches served from etcd and etcd compacted every 5 s: a watch that resumes from an old
#: resourceVersion gets 410 Gone, as after a long disconnect on a busy cluster.
APISERVER_ARGS = ("--watch-cache=false", "--etcd-compaction-interval=5s")


def _kubectl(kubeconfig: Path, *args: str) -> None:
    subprocess.run([str(binary("kubectl")), f"--kubeconfig={kubeconfig}", *args], check=True,
                   capture_output=True, timeout=120)


def _crds() -> dict[str, dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    docs = [yaml.load(p.read_text(), Loader=loader) for p in sorted(CRD_DIR.glob("ray.io_*.yaml"))]
    return {d["spec"]["names"]["kind"]: d for d in docs}


class CorpusOperator:
    """The operator of the corpus phase, restarted when it dies (each death counted as a crash)."""

    def __init__(self, kubeconfig: Path, log_dir: Path, dashboard: str) -> None:
        self._args = (kubeconfig, log_dir, dashboard)
        self.proc = self._start()

    def _start(self) -> OperatorProcess:
        kubeconfig, log_dir, dashboard = self._args
        proc = OperatorProcess(kubeconfig, log_dir, name="corpus", lease_namespace="kube-system",
                               extra=("--feature-gates=RayCronJob=true", f"--dashboard-url-override={dashboard}"))
        proc.wait_ready()
        return proc

    def alive(self) -> bool:
        return self.proc.proc.poll() is None

    def restart(self) -> None:
        self.proc.stop()
        self.proc = self._start()


def _table(rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    lines.insert(1, "|" + "---|" * len(rows[0]))
    return "\n".join(lines)


def render(result: CorpusResult, faults: FaultResult, seconds: float) -> str:
    classes = ["rejected", "warning+condition", "warning", "condition", "accepted", "unanswered"]
    by_mutation = result.by_mutation()
    rows: list[list[Any]] = [["mutation", "manifests", *classes]]
    for mutation, counts in by_mutation.items():
        rows.append([mutation, sum(counts.values()), *[counts.get(c, 0) for c in classes]])
    totals = result.by_class()
    rows.append(["**all**", len(result.answers), *[totals.get(c, 0) for c in classes]])
    canary = sorted(result.canary_seconds)
    corpus_text = (
        f"{_table(rows)}\n\ncrashes {result.crashes}, hangs {result.hangs}, tracebacks {result.tracebacks}, "
        f"silent retry loops {len(result.silent_loops)}; canary RayCluster ready after each batch in "
        f"{canary[0] if canary else '-'}-{canary[-1] if canary else '-'} s"
    )
    fault_rows: list[list[Any]] = [["fault", "rounds", "crashes", "not converged", "lost", "duplicates",
                                    "410 relists", "tracebacks", "converged in (min / median / max)"]]
    for fault, s in faults.summary().items():
        fault_rows.append([fault, s["rounds"], s["crashes"], s["not_converged"], s["lost"], s["duplicates"],
                           s["relists"], s["tracebacks"],
                           f"{s['converge_min_s']} / {s['converge_median_s']} / {s['converge_max_s']} s"])
    return f"{corpus_text}\n\n{_table(fault_rows)}\n\nwhole run: {seconds / 60:.1f} min"


def failed(result: CorpusResult, faults: FaultResult) -> list[str]:
    problems = []
    if result.crashes or result.hangs or result.tracebacks:
        problems.append(f"crashes {result.crashes}, hangs {result.hangs}, tracebacks {result.tracebacks}")
    if result.silent_loops:
        problems.append(f"silent retry loops: {result.silent_loops}")
    unanswered = [a.case for a in result.answers if a.answer == "unanswered"]
    if unanswered:
        problems.append(f"unanswered: {unanswered}")
    if unexpected := result.unexpected():
        problems.append(f"answers other than expected: {unexpected}")
    for fault, s in faults.summary().items():
        if s["crashes"] or s["not_converged"] or s["lost"] or s["duplicates"] or s["tracebacks"]:
            problems.append(f"{fault}: {s}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--report", type=Path, default=Path("chaos-report.json"))
    parser.add_argument("--batch", type=int, default=60)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--freezes", type=int, default=3)
    parser.add_argument("--outages", type=int, default=3)
    parser.add_argument("--expiries", type=int, default=3)
    parser.add_argument("--limit", type=int, default=0, help="only the first N manifests (0: all)")
    args = parser.parse_args(argv)

    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="raykube-chaos-"))
    cluster = LocalCluster(ClusterConfig(state_dir=work / "cluster", fake_nodes=4, apiserver_args=APISERVER_ARGS))
    cluster.up(progress=lambda line: print(f"cluster: {line}", flush=True))
    standin = StandInDashboard(JobScript(run_for=1.0))
    standin.start_in_thread()
    api = Api(cluster.kubeconfig)
    try:
        _kubectl(cluster.kubeconfig, "apply", "--server-side", "-f", str(CRD_DIR))
        wait_established(cluster.kubeconfig, ["crd", "--all"], timeout=60)
        cases = corpus(_crds())
        if args.limit:
            cases = cases[: args.limit]
        operator = CorpusOperator(cluster.kubeconfig, work, standin.url)
        runner = CorpusRunner(api, lambda: operator.proc.log_path, operator.alive, operator.restart,
                              batch=args.batch)
        result = runner.run(cases, progress=lambda line: print(line, flush=True))
        operator.proc.stop()
        injector = Faults(api, cluster.kubeconfig, work)
        faults = injector.result
        injector.kill9(args.kills)
        print("faults: kill -9 done", flush=True)
        injector.freeze(args.freezes)
        print("faults: freeze done", flush=True)
        injector.cut(args.outages, fault="API outage 20 s", seconds=20)
        print("faults: outage done", flush=True)
        injector.cut(args.expiries, fault="watch expiry (9 s cut, etcd compacted)", seconds=9)
        print("faults: expiry done", flush=True)
    finally:
        api.close()
        standin.stop_thread()
        cluster.down()
    seconds = time.monotonic() - started
    args.report.write_text(json.dumps({
        "corpus": {"size": len(result.answers), "by_class": result.by_class(), "by_mutation": result.by_mutation(),
                   "crashes": result.crashes, "hangs": result.hangs, "tracebacks": result.tracebacks,
                   "silent_loops": result.silent_loops, "canary_seconds": result.canary_seconds,
                   "answers": [vars(a) for a in result.answers]},
        "faults": {"summary": faults.summary(), "rounds": faults.as_json()},
        "seconds": round(seconds, 1),
    }, indent=1))
    print(render(result, faults, seconds))
    problems = failed(result, faults)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
