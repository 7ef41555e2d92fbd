"""Ray's autoscaler played by the test: 200 seeded random scaling decisions on 5 RayClusters on fake nodes.

The test talks to the API server exactly as Ray's KubeRay node provider does (ray
`python/ray/autoscaler/_private/kuberay/node_provider.py`): it reads the RayCluster and lists the cluster's
pods (those with a deletionTimestamp do not count), and changes only the spec, with JSON patches
(`application/json-patch+json`) of `/spec/workerGroupSpecs/<i>/replicas` (capped at `maxReplicas`, sent only
when it changes) and `/spec/workerGroupSpecs/<i>/scaleStrategy` = `{"workersToDelete": [pods]}`. A scale-down
lowers `replicas` to the group's live pods minus the named ones and names exactly those; before every decision
its `safe_to_scale` rule applies: while a pod named in some `workersToDelete` still exists it backs off, and
once they are all gone it patches the lists back to `[]` itself (the operator never clears them).

After each round of decisions the pods must converge to what was asked: as many live workers per group as
`replicas`, every named pod gone, every unnamed one still there. A `kubectl get pods -w` records every pod
the operator created or deleted over the whole run: no pod deleted that was not named, and exactly as many
workers created as the decisions asked for.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.core_v1 import Pod
from lightkube.types import PatchType

from tests.builders import make_raycluster
from tests.integration.kube import apply, client, eventually, scratch_namespace
from tests.integration.operator import OperatorProcess, running_operator
from tests.integration.watch import Recorder

pytestmark = pytest.mark.integration

RayCluster = create_namespaced_resource("ray.io", "v1", "RayCluster", "rayclusters")

SEED = 18
DECISIONS = 200
CLUSTERS = 5
GROUPS = {"small": 5, "large": 3}  # groupName → maxReplicas


def _manifest(name: str) -> dict[str, Any]:
    cluster = make_raycluster(name).ray_version("2.46.0").autoscaling().resources(cpu="10m", memory="16Mi")
    for group, most in GROUPS.items():
        cluster.worker_group(group, replicas=1, max_replicas=most)
    return cluster.json()


@dataclass
class Asked:
    """One decision: the replicas asked per group, the pods named, and the live workers it was taken on."""

    replicas: dict[str, int]
    named: set[str]
    live: dict[str, set[str]]

    def created(self) -> int:
        """Workers the operator must create for it: what was asked beyond the live pods that stay."""
        return sum(max(0, self.replicas[g] - len(self.live[g] - self.named)) for g in GROUPS)


@dataclass
class Autoscaler:
    """Ray's KubeRay node provider for one RayCluster: what it reads, its back-off rule, what it patches."""

    kube: Client
    ns: str
    name: str
    decisions: list[Asked] = field(default_factory=list)
    backoffs: int = 0
    clears: int = 0

    def _patch(self, ops: list[dict[str, Any]]) -> None:
        self.kube.patch(RayCluster, self.name, ops, namespace=self.ns, patch_type=PatchType.JSON)

    def read(self) -> tuple[dict[str, Any], dict[str, set[str]]]:
        """The RayCluster, and its live (not terminating) worker pods per group, as the provider sees them."""
        cluster: dict[str, Any] = self.kube.get(RayCluster, self.name, namespace=self.ns).to_dict()  # type: ignore[no-untyped-call]
        live: dict[str, set[str]] = {g: set() for g in GROUPS}
        for pod in self.kube.list(Pod, namespace=self.ns, labels={"ray.io/cluster": self.name}):
            assert pod.metadata is not None and pod.metadata.labels is not None
            if pod.metadata.deletionTimestamp is None and pod.metadata.labels.get("ray.io/node-type") == "worker":
                live[pod.metadata.labels["ray.io/group"]].add(str(pod.metadata.name))
        return cluster, live

    def safe_to_scale(self, cluster: dict[str, Any], live: dict[str, set[str]]) -> bool:
        """Back off while a named pod still exists; once all are gone, clear the lists (Ray does, not us)."""
        alive = set().union(*live.values())
        clear = []
        for index, group in enumerate(cluster["spec"]["workerGroupSpecs"]):
            named = (group.get("scaleStrategy") or {}).get("workersToDelete") or []
            if alive & set(named):
                self.backoffs += 1
                return False
            if named:
                clear.append({"op": "replace", "path": f"/spec/workerGroupSpecs/{index}/scaleStrategy",
                              "value": {"workersToDelete": []}})
        if clear:
            self._patch(clear)
            self.clears += 1
        return True

    def decide(self, rng: random.Random) -> Asked | None:
        """One autoscaler update: a random up- or down-scale per group, sent as Ray sends it."""
        cluster, live = self.read()
        if not self.safe_to_scale(cluster, live):
            return None
        groups = cluster["spec"]["workerGroupSpecs"]
        desired = {g: len(pods) for g, pods in live.items()}
        named: dict[str, list[str]] = {}
        moves = {g: rng.choice(["up", "down", "keep"]) for g in GROUPS}
        if all(m == "keep" for m in moves.values()):
            moves[rng.choice(sorted(GROUPS))] = "up"
        for group, move in moves.items():
            if move == "up":
                desired[group] += rng.randint(1, 3)
            elif move == "down" and live[group]:
                named[group] = rng.sample(sorted(live[group]), rng.randint(1, len(live[group])))
                desired[group] -= len(named[group])
        ops: list[dict[str, Any]] = []
        for index, group in enumerate(groups):
            target = min(desired[group["groupName"]], group["maxReplicas"])
            if target != group.get("replicas", 1):
                ops.append({"op": "replace", "path": f"/spec/workerGroupSpecs/{index}/replicas", "value": target})
            desired[group["groupName"]] = target
        for index, group in enumerate(groups):
            if group["groupName"] in named:
                ops.append({"op": "replace", "path": f"/spec/workerGroupSpecs/{index}/scaleStrategy",
                            "value": {"workersToDelete": named[group["groupName"]]}})
        if not ops:
            return None  # Ray submits no scale request when nothing changes
        self._patch(ops)
        asked = Asked(desired, {p for pods in named.values() for p in pods}, live)
        self.decisions.append(asked)
        return asked

    def converged(self, asked: Asked) -> bool:
        """Live workers per group as asked, every named pod gone, every unnamed one kept."""
        _, live = self.read()
        for group in GROUPS:
            kept = asked.live[group] - asked.named
            assert kept <= live[group], f"{self.name}/{group}: unnamed pods {sorted(kept - live[group])} went"
            if len(live[group]) != asked.replicas[group] or live[group] & asked.named:
                return False
        return True


def _settle(scaler: Autoscaler, asked: Asked, operator: OperatorProcess) -> None:
    try:
        eventually(lambda: scaler.converged(asked), timeout=120, what=f"{scaler.name} to converge")
    except AssertionError as err:
        raise AssertionError(f"{err}: asked {asked.replicas} without {sorted(asked.named)}\n"
                             f"{operator.log_tail()}") from None


@pytest.fixture(scope="module")
def operator(kubeconfig: Path, ray_crds: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    yield from running_operator(kubeconfig, tmp_path_factory.mktemp("operator"), lease_namespace="kube-system")


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "autosim")


def test_random_autoscaler_decisions_converge_and_delete_only_named_pods(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    kube = client(kubeconfig)
    pods = Recorder(kubeconfig, ns, "pods")
    try:
        names = [f"sim-{i}" for i in range(CLUSTERS)]
        for name in names:
            apply(kubeconfig, ns, _manifest(name))
        scalers = [Autoscaler(kube, ns, name) for name in names]
        start = [Asked(dict.fromkeys(GROUPS, 1), set(), {g: set() for g in GROUPS}) for _ in scalers]
        for scaler, asked in zip(scalers, start, strict=True):
            _settle(scaler, asked, operator)
        rng = random.Random(SEED)
        made = 0
        while made < DECISIONS:
            round_ = [(s, a) for s in rng.sample(scalers, len(scalers)) if (a := s.decide(rng)) is not None]
            made += len(round_)
            for scaler, asked in round_:
                _settle(scaler, asked, operator)
        named = {p for s in scalers for a in s.decisions for p in a.named}
        eventually(lambda: named <= set(pods.deleted()), what="the watch to report every named pod deleted")
    finally:
        pods.stop()

    deleted = pods.deleted()
    assert sum(len(s.decisions) for s in scalers) >= DECISIONS
    assert set(deleted) == named, f"deleted but never named: {sorted(set(deleted) - named)}"
    assert len(deleted) == len(named)
    heads = [p for p in pods.created() if "-head-" in p]
    assert len(heads) == CLUSTERS, heads  # no head was ever replaced
    workers = [p for p in pods.created() if "-worker-" in p]
    asked_for = sum(a.created() for s in scalers for a in s.decisions) + CLUSTERS * len(GROUPS)
    assert len(workers) == asked_for, (len(workers), asked_for)
    # The simulation exercised Ray's clearing of workersToDelete (the list is never cleared by the operator).
    assert sum(s.clears for s in scalers) > 0
