"""The faults of the chaos suite, each in rounds on its own namespace and operator processes.

* ``kill9``: ``kill -9`` of the operator in the middle of a 40-worker scale-up (a slow client stretches it),
  then a fresh operator: every replica index 0-39 exactly once, one head, no orphan.
* ``freeze``: two operators; the leader is frozen (SIGSTOP), the cluster scaled 2 -> 6, the follower takes
  over and scales; the frozen one resumes (SIGCONT): still exactly 6 workers, the ex-leader up.
* ``outage``: the operator reaches the API server through a TCP relay, cut for 20 s (past the lease) while
  the cluster is scaled 1 -> 4; restored: the process is still up and converges.
* ``expiry``: the relay is cut for 9 s while the cluster is scaled; the chaos cluster compacts etcd every
  5 s without a watch cache, so the informers' resourceVersions are gone when they reconnect (410 Gone):
  they must relist and converge.

Each round records whether the operator crashed, its convergence time (from the moment it could act
again until the cluster had exactly what it asked for), and lost or duplicate pods.
"""

from __future__ import annotations

import os
import signal
import statistics
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.chaos.api import Api
from bench.chaos.corpus import cluster_spec
from bench.chaos.relay import Relay
from raykube.operator.process import OperatorProcess


@dataclass
class Round:
    fault: str
    crashed: bool = False
    converge_seconds: float | None = None
    duplicates: int = 0
    lost: int = 0
    relists: int = 0
    tracebacks: int = 0
    note: str = ""


@dataclass
class FaultResult:
    rounds: list[Round] = field(default_factory=list)

    def summary(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for fault in dict.fromkeys(r.fault for r in self.rounds):
            rounds = [r for r in self.rounds if r.fault == fault]
            times = [r.converge_seconds for r in rounds if r.converge_seconds is not None]
            out[fault] = {
                "rounds": len(rounds), "crashes": sum(r.crashed for r in rounds),
                "not_converged": sum(r.converge_seconds is None for r in rounds),
                "duplicates": sum(r.duplicates for r in rounds), "lost": sum(r.lost for r in rounds),
                "relists": sum(r.relists for r in rounds), "tracebacks": sum(r.tracebacks for r in rounds),
                "converge_min_s": min(times) if times else None,
                "converge_median_s": round(statistics.median(times), 1) if times else None,
                "converge_max_s": max(times) if times else None,
            }
        return out

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.rounds]


def _cluster(name: str, workers: int) -> dict[str, Any]:
    spec = cluster_spec()
    spec["workerGroupSpecs"][0].update(replicas=workers, maxReplicas=100)
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": name}, "spec": spec}


def _wait(probe: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until ``probe`` held, or None after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if probe():
            return round(time.monotonic() - started, 1)
        time.sleep(0.3)
    return None


class Faults:
    def __init__(self, api: Api, kubeconfig: Path, log_dir: Path) -> None:
        self.api, self.kubeconfig, self.log_dir = api, kubeconfig, log_dir
        self.result = FaultResult()

    # -- helpers ---------------------------------------------------------------------------------------

    def _pods(self, ns: str) -> list[dict[str, Any]]:
        return [p for p in self.api.items(f"/api/v1/namespaces/{ns}/pods")
                if not p["metadata"].get("deletionTimestamp")]

    def _workers(self, ns: str) -> list[dict[str, Any]]:
        return [p for p in self._pods(ns) if p["metadata"]["labels"].get("ray.io/node-type") == "worker"]

    def _scale(self, ns: str, name: str, workers: int) -> None:
        self.api.merge_patch(Api.ray_path(ns, "RayCluster", name), {"spec": {"workerGroupSpecs": [
            {**cluster_spec()["workerGroupSpecs"][0], "replicas": workers, "maxReplicas": 100}]}})

    def _exact(self, ns: str, workers: int) -> bool:
        pods = self._pods(ns)
        heads = [p for p in pods if p["metadata"]["labels"].get("ray.io/node-type") == "head"]
        return len(heads) == 1 and len(pods) - 1 == workers

    def _count_errors(self, ns: str, workers: int, rnd: Round) -> None:
        """After a settle: worker indexes duplicated or missing, pods without an owner."""
        time.sleep(3)
        pods = self._workers(ns)
        indexes = Counter(p["metadata"]["labels"].get("ray.io/worker-group-replica-index") for p in pods)
        rnd.duplicates = sum(n - 1 for n in indexes.values() if n > 1) + max(
            0, len([p for p in self._pods(ns) if p["metadata"]["labels"].get("ray.io/node-type") == "head"]) - 1)
        rnd.lost = max(0, workers - len(indexes))
        rnd.duplicates += sum(1 for p in self._pods(ns) if not p["metadata"].get("ownerReferences"))

    def _operator(self, ns: str, name: str, kubeconfig: Path | None = None,
                  extra: tuple[str, ...] = ()) -> OperatorProcess:
        op = OperatorProcess(kubeconfig or self.kubeconfig, self.log_dir, name=f"{ns}-{name}",
                             lease_namespace=ns, extra=(f"--watch-namespace={ns}", *extra))
        op.wait_ready()
        return op

    def _relay(self, tag: str) -> tuple[Relay, Path]:
        config = yaml.safe_load(self.kubeconfig.read_text())
        server = urllib.parse.urlsplit(config["clusters"][0]["cluster"]["server"])
        relay = Relay(server.hostname or "127.0.0.1", server.port or 443)
        config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{relay.port}"
        path = self.log_dir / f"{tag}.kubeconfig"
        path.write_text(yaml.safe_dump(config))
        return relay, path

    @staticmethod
    def _log_text(op: OperatorProcess) -> str:
        return op.log_path.read_text(errors="replace")

    def _namespace(self, fault: str) -> str:
        return self.api.namespace(f"{fault}-{uuid.uuid4().hex[:5]}")

    # -- faults ----------------------------------------------------------------------------------------

    def kill9(self, rounds: int, workers: int = 40) -> None:
        for _ in range(rounds):
            self.result.rounds.append(self._kill9(workers))

    def _kill9(self, workers: int) -> Round:
        ns, rnd = self._namespace("kill9"), Round("kill -9 during scale-up")
        first = self._operator(ns, "slow", extra=("--qps=5", "--burst=1"))
        self.api.create(Api.ray_path(ns, "RayCluster"), _cluster("big", workers))
        _wait(lambda: len(self._workers(ns)) >= 5, 60)
        first.kill()
        rnd.note = f"{len(self._workers(ns))} of {workers} workers at the kill"
        second = self._operator(ns, "fresh")
        rnd.converge_seconds = _wait(lambda: self._exact(ns, workers), 180)
        self._count_errors(ns, workers, rnd)
        rnd.crashed = second.proc.poll() is not None
        rnd.tracebacks = self._log_text(second).count("Traceback")
        second.stop()
        self.api.delete(f"/api/v1/namespaces/{ns}")
        return rnd

    def freeze(self, rounds: int) -> None:
        for _ in range(rounds):
            self.result.rounds.append(self._freeze())

    def _freeze(self) -> Round:
        ns, rnd = self._namespace("freeze"), Round("leader frozen (SIGSTOP/SIGCONT)")
        one, two = self._operator(ns, "one"), self._operator(ns, "two")
        try:
            _wait(lambda: one.is_leader() or two.is_leader(), 60)
            leader, follower = (one, two) if one.is_leader() else (two, one)
            self.api.create(Api.ray_path(ns, "RayCluster"), _cluster("frozen", 2))
            _wait(lambda: self._exact(ns, 2), 90)
            os.killpg(leader.proc.pid, signal.SIGSTOP)
            self._scale(ns, "frozen", 6)
            started = time.monotonic()
            _wait(follower.is_leader, 60)
            _wait(lambda: self._exact(ns, 6), 90)
            rnd.converge_seconds = round(time.monotonic() - started, 1)
            os.killpg(leader.proc.pid, signal.SIGCONT)
            stepped = _wait(lambda: "Lost leadership" in self._log_text(leader), 60)
            rnd.note = "ex-leader stepped down" if stepped is not None else "ex-leader did not log stepping down"
            self._count_errors(ns, 6, rnd)
            rnd.crashed = leader.proc.poll() is not None or follower.proc.poll() is not None
            rnd.tracebacks = sum(self._log_text(o).count("Traceback") for o in (one, two))
        finally:
            for op in (one, two):
                if op.proc.poll() is None:
                    os.killpg(op.proc.pid, signal.SIGCONT)
                op.stop()
        self.api.delete(f"/api/v1/namespaces/{ns}")
        return rnd

    def cut(self, rounds: int, *, fault: str, seconds: float) -> None:
        """The API server unreachable for ``seconds`` while the cluster is scaled 1 -> 4 (outage, expiry)."""
        for _ in range(rounds):
            self.result.rounds.append(self._cut(fault, seconds))

    def _cut(self, fault: str, seconds: float) -> Round:
        ns, rnd = self._namespace(fault.split()[0].lower()), Round(fault)
        relay, kubeconfig = self._relay(ns)
        op = self._operator(ns, "relayed", kubeconfig=kubeconfig)
        try:
            _wait(op.is_leader, 60)
            self.api.create(Api.ray_path(ns, "RayCluster"), _cluster("cut", 1))
            _wait(lambda: self._exact(ns, 1), 90)
            before = self._log_text(op).count("watch expired, relisting")
            relay.cut()
            time.sleep(1)
            self._scale(ns, "cut", 4)
            for _step in range(20):  # more changes, so the informers' resourceVersions age
                self.api.merge_patch(Api.ray_path(ns, "RayCluster", "cut"),
                                     {"metadata": {"annotations": {"chaos/step": str(_step)}}})
            time.sleep(max(0.0, seconds - 1))
            relay.restore()
            rnd.converge_seconds = _wait(lambda: self._exact(ns, 4), 180)
            self._count_errors(ns, 4, rnd)
            log = self._log_text(op)
            rnd.relists = log.count("watch expired, relisting") - before
            rnd.tracebacks = log.count("Traceback")
            rnd.crashed = op.proc.poll() is not None
            rnd.note = "lease lost and regained" if "Lost leadership" in log else "lease kept"
        finally:
            op.stop()
            relay.close()
        self.api.delete(f"/api/v1/namespaces/{ns}")
        return rnd
