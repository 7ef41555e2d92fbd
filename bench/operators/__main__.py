"""`python -m bench.operators`: the scenarios of issue 16, raykube and KubeRay in one run on one local cluster.

One local cluster (etcd, kube-apiserver, controller-manager, scheduler, kwok fake nodes) for the whole run,
its scheduler's and controller-manager's client limits at ``--control-plane-qps`` (`raykube local up
--control-plane-qps`; 0 keeps their defaults), so the operators, not the scheduler, are what is measured.
Phases run one after another, each operator alone on the cluster in its own namespace (deleted before the
next phase); each scenario measures its own baseline (bare pods, or the minimum writes) in the same run.

Full size (see docs/benchmarks.md):
  python -m bench.operators --scenario throughput --clusters 10,100,1000
  python -m bench.operators --scenario scaleup --big-workers 1000 --small-clusters 20
  python -m bench.operators --scenario steady --steady-clusters 1000 --idle-seconds 60 --changes 60
  python -m bench.operators --scenario writes --writes-clusters 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.localcluster import bench_cluster
from bench.operators import chart as charts
from bench.operators import measure, report, scaleup, steady, throughput, writes
from raykube.local.cluster import LocalCluster
from raykube.runtime.client import KubeClient

REPO = Path(__file__).resolve().parents[2]
SCENARIOS: dict[str, ModuleType] = {"throughput": throughput, "scaleup": scaleup, "steady": steady,
                                    "writes": writes}


def _csv(kind: Callable[[str], Any]) -> Callable[[str], list[Any]]:
    def parse(text: str) -> list[Any]:
        return [kind(part) for part in text.split(",") if part.strip()]

    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.operators", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", type=_csv(str), default=list(SCENARIOS),
                   help=f"comma-separated, of {', '.join(SCENARIOS)} (default: all, in that order)")
    p.add_argument("--operators", type=_csv(str), default=list(measure.OPERATORS),
                   help="raykube,kuberay (default both)")
    p.add_argument("--workers", type=int, default=4, help="workers of each RayCluster (1 head + this)")
    p.add_argument("--settings", type=_csv(str), default=None,
                   help="throughput: defaults,raised,tuned (default all three); other scenarios: one of them "
                        "(default raised)")
    p.add_argument("--client-qps", type=float, default=1000, help="--qps of both operators when raised")
    p.add_argument("--client-burst", type=int, default=2000, help="--burst of both operators when raised")
    p.add_argument("--control-plane-qps", type=int, default=1000,
                   help="the local scheduler's and controller-manager's client limit (0: their defaults)")
    p.add_argument("--fake-node-workers", type=int, default=32,
                   help="pods kwok (every fake node's kubelet) moves to Running at a time (0: kwok's default, 4)")
    g = p.add_argument_group("throughput")
    g.add_argument("--clusters", type=_csv(int), default=[10, 100, 1000], help="sizes, comma-separated")
    g = p.add_argument_group("scaleup")
    g.add_argument("--big-workers", type=int, default=1000)
    g.add_argument("--small-clusters", type=int, default=20)
    g.add_argument("--interval", type=float, default=1.0, help="seconds between small clusters / spec changes")
    g = p.add_argument_group("steady")
    g.add_argument("--steady-clusters", type=int, default=1000)
    g.add_argument("--idle-seconds", type=float, default=60)
    g.add_argument("--changes", type=int, default=60, help="spec changes, one per --interval")
    g.add_argument("--settle", type=float, default=10, help="seconds after all are ready before measuring")
    g = p.add_argument_group("writes")
    g.add_argument("--writes-clusters", type=int, default=100)
    g = p.add_argument_group("output")
    g.add_argument("--json", action="store_true", help="print the raw numbers (and the tables' rows) as JSON")
    g.add_argument("--chart", type=Path, default=Path("operators.png"),
                   help="PNG path; the scenario's name is added before the suffix (operators-throughput.png)")
    g.add_argument("--keep-logs", type=Path, help="copy every operator's log into this directory")
    g.add_argument("--profile", type=Path,
                   help="record raykube's CPU profile (py-spy, collapsed stacks) per phase into this directory")
    g.add_argument("--fake-nodes", type=int, default=4)
    return p


def validate(args: argparse.Namespace) -> None:
    unknown = [s for s in args.scenario if s not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario {unknown}: one of {', '.join(SCENARIOS)}")
    if [o for o in args.operators if o not in measure.OPERATORS]:
        raise SystemExit("--operators: raykube and/or kuberay")
    for name in args.settings or ():
        measure.settings(name, qps=1, burst=1)  # raises on an unknown name


def _one_setting(args: argparse.Namespace) -> str:
    if not args.settings:
        return "raised"
    if len(args.settings) != 1:
        raise SystemExit("--settings: the scaleup, steady and writes scenarios take one")
    return str(args.settings[0])


def scenario_run(name: str, bench: measure.Bench, args: argparse.Namespace) -> Coroutine[Any, Any, dict[str, Any]]:
    ops = tuple(args.operators)
    if name == "throughput":
        return throughput.run(bench, sizes=args.clusters, workers=args.workers,
                              settings_names=args.settings or list(measure.SETTINGS_NAMES), operators=ops)
    if name == "scaleup":
        return scaleup.run(bench, big_workers=args.big_workers, small=args.small_clusters, interval=args.interval,
                           workers=args.workers, settings_name=_one_setting(args), operators=ops)
    if name == "steady":
        plan = steady.Plan(count=args.steady_clusters, workers=args.workers, idle_seconds=args.idle_seconds,
                           changes=args.changes, interval=args.interval, settle=args.settle)
        return steady.run(bench, plan, settings_name=_one_setting(args), operators=ops)
    return writes.run(bench, count=args.writes_clusters, workers=args.workers, settle=args.settle,
                      settings_name=_one_setting(args), operators=ops)


def chart_path(base: Path, scenario: str) -> Path:
    return base.with_name(f"{base.stem}-{scenario}{base.suffix or '.png'}")


def finish(name: str, result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The scenario's table rows (with ratios) and chart added to its result."""
    module = SCENARIOS[name]
    rows: list[report.Row] = module.rows(result)
    path = charts.write(module.chart(result), chart_path(args.chart, name))
    result["table"] = [r.as_dict() for r in rows]
    result["chart"] = str(path)
    result["text"] = report.render(f"{module.TITLE} ({_describe(name, result, args)})", rows, module.BASELINE)
    return result


def _describe(name: str, result: dict[str, Any], args: argparse.Namespace) -> str:
    limits = f"raised = --qps {args.client_qps:g} --burst {args.client_burst}"
    plane = (f"control plane client limit {args.control_plane_qps or 'default'}; "
             f"fake-node workers {args.fake_node_workers or 'default'}")
    settings_text = result.get("settings")
    if isinstance(settings_text, list):
        settings_text = ",".join(settings_text)
    return f"settings {settings_text}; {limits}; {plane}"


async def run_all(args: argparse.Namespace, cluster: LocalCluster, work: Path) -> dict[str, Any]:
    client = KubeClient.from_kubeconfig(str(cluster.kubeconfig), qps=2000, burst=4000)
    bench = measure.Bench(cluster, work, client, keep_logs=args.keep_logs, client_qps=args.client_qps,
                          client_burst=args.client_burst, progress=lambda m: print(m, file=sys.stderr, flush=True),
                          profile=args.profile)
    out: dict[str, Any] = {"control_plane_qps": args.control_plane_qps, "fake_node_workers": args.fake_node_workers,
                           "client_qps": args.client_qps,
                           "client_burst": args.client_burst, "scenarios": {}}
    try:
        bench.progress("== warm-up")
        await measure.warm_up(bench)
        for name in args.scenario:
            bench.progress(f"== {name}")
            result = finish(name, await scenario_run(name, bench, args), args)
            out["scenarios"][name] = result
            if not args.json:
                print(result["text"])
                print(f"chart: {result['chart']}\n", flush=True)
    finally:
        await client.close()
    return out


def _pods_needed(args: argparse.Namespace) -> int:
    per = args.workers + 1
    return int(max(max(args.clusters, default=0) * per, args.big_workers + 2 * args.small_clusters * per,
               args.steady_clusters * per + args.changes, args.writes_clusters * per))


def main() -> None:
    args = parser().parse_args()
    validate(args)
    if "kuberay" in args.operators:
        subprocess.run([str(REPO / "tools" / "build.sh"), "kuberay-operator"], check=True, stdout=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="raykube-bench-") as tmp:
        work = Path(tmp)
        node_pods = max(2000, 2 * _pods_needed(args) // max(args.fake_nodes, 1))
        with bench_cluster(work, fake_nodes=args.fake_nodes, node_pods=node_pods,
                           control_plane_qps=args.control_plane_qps,
                           fake_node_workers=args.fake_node_workers) as cluster:
            result = asyncio.run(run_all(args, cluster, work))
    if args.json:
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
