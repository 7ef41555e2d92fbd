"""Ray's own autoscaler (v1 and v2) scaling a RayCluster run by raykube on the real node, as in KubeRay's guide.

KubeRay's `ray-cluster.autoscaler.yaml` and `ray-cluster.autoscaler-v2.yaml` samples, unchanged except for
CPU requests lowered so that both fit on this machine's two cores at once (limits, and so what Ray sees,
unchanged) and `idleTimeoutSeconds` lowered from the samples' 60 to 20 (the scale-down waits it out; 20 is
still four of the autoscaler's 5 s update periods): a detached actor asks for a CPU the head does not offer,
the autoscaler raises the worker group's `replicas`, a worker comes; the actor is killed, and after
`idleTimeoutSeconds` the autoscaler names the idle worker in `workersToDelete` and lowers `replicas`, and
the worker goes.

Every spec change the autoscaler made and every pod the operator created or deleted is recorded by a watch,
and they must match one for one: no pod created that was not asked for, none deleted that was not named.
The two versions run side by side, each in its own namespace, to halve the wait.
"""

from __future__ import annotations

import functools
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.kube import eventually, kubectl
from tests.integration.operator import OperatorProcess, running_operator
from tests.integration.watch import Recorder

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SAMPLES = {"v1": "ray-cluster.autoscaler.yaml", "v2": "ray-cluster.autoscaler-v2.yaml"}
CLUSTER = "raycluster-autoscaler"
GROUP = "small-group"
# requests only; the samples' limits (1 CPU for the Ray containers) stay, so Ray still sees 1 CPU a worker
CPU_REQUESTS = {"ray-head": "200m", "ray-worker": "500m", "autoscaler": "200m"}
# The "down" step waits this out once per run (both samples side by side); the samples' 60 s only cost time.
IDLE_TIMEOUT_SECONDS = 20


def fit_two_cores(manifest: str) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(manifest) if d]
    for doc in docs:
        if doc["kind"] != "RayCluster":
            continue
        spec = doc["spec"]
        spec["autoscalerOptions"]["resources"]["requests"]["cpu"] = CPU_REQUESTS["autoscaler"]
        spec["autoscalerOptions"]["idleTimeoutSeconds"] = IDLE_TIMEOUT_SECONDS
        for group in [spec["headGroupSpec"], *spec["workerGroupSpecs"]]:
            for container in group["template"]["spec"]["containers"]:
                container["resources"]["requests"]["cpu"] = CPU_REQUESTS[container["name"]]
    return docs


@dataclass
class Run:
    """One sample in its namespace: the recorders, and when each step happened."""

    version: str
    ns: str
    clusters: Recorder
    pods: Recorder
    times: dict[str, float] = field(default_factory=dict)

    def head(self, kubeconfig: Path) -> str:
        out = kubectl(kubeconfig, "get", "pods", "-n", self.ns, "-l", f"ray.io/cluster={CLUSTER},ray.io/node-type=head",
                      "-o", "jsonpath={.items[0].metadata.name}")
        return out.stdout.strip()

    def workers(self, kubeconfig: Path) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = json.loads(kubectl(
            kubeconfig, "get", "pods", "-n", self.ns, "-l", f"ray.io/cluster={CLUSTER},ray.io/group={GROUP}",
            "-o", "json").stdout)["items"]
        return items

    def replicas(self, kubeconfig: Path) -> int:
        out = kubectl(kubeconfig, "get", "raycluster", CLUSTER, "-n", self.ns,
                      "-o", "jsonpath={.spec.workerGroupSpecs[0].replicas}")
        return int(out.stdout.strip() or 0)

    def ray(self, kubeconfig: Path, script: str) -> None:
        kubectl(kubeconfig, "exec", "-n", self.ns, self.head(kubeconfig), "-c", "ray-head", "--",
                "python", f"/home/ray/samples/{script}", "actor1")


def _running(pod: dict[str, Any]) -> bool:
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))
    return pod["status"].get("phase") == "Running" and ready and not pod["metadata"].get("deletionTimestamp")


def _diagnostics(kubeconfig: Path, run: Run, operator: OperatorProcess) -> str:
    head = run.head(kubeconfig)
    logs = kubectl(kubeconfig, "logs", "-n", run.ns, head, "-c", "autoscaler", "--tail=40", check=False)
    pods = kubectl(kubeconfig, "get", "pods", "-n", run.ns, "-o", "wide", check=False)
    return (f"[{run.version}] pods:\n{pods.stdout}\nautoscaler log:\n{logs.stdout}{logs.stderr}\n"
            f"operator log:\n{operator.log_tail()}")


@pytest.fixture(scope="module")
def operator(real_kubeconfig: Path, real_crds: None, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[OperatorProcess]:
    yield from running_operator(real_kubeconfig, tmp_path_factory.mktemp("operator"), lease_namespace="kube-system")


@pytest.fixture(scope="module")
def runs(real_kubeconfig: Path, operator: OperatorProcess, kuberay_reference: Path, ray_image: str
         ) -> Iterator[dict[str, Run]]:
    """Both samples through 0 → 1 → 0 workers, step by step side by side; the recorded runs."""
    kube = real_kubeconfig
    samples = {v: fit_two_cores((kuberay_reference / "v1.7.0" / "samples" / f).read_text()) for v, f in SAMPLES.items()}
    images = {c["image"] for docs in samples.values() for d in docs if d["kind"] == "RayCluster"
              for g in [d["spec"]["headGroupSpec"], *d["spec"]["workerGroupSpecs"]]
              for c in g["template"]["spec"]["containers"]}
    assert images == {ray_image}, f"the samples' image {images} is the one built here ({ray_image})"
    result: dict[str, Run] = {}
    for version in SAMPLES:
        ns = f"autoscaler-{version}"
        kubectl(kube, "create", "namespace", ns)
        result[version] = Run(version, ns, Recorder(kube, ns, "rayclusters.ray.io"),
                              Recorder(kube, ns, "pods", "-l", f"ray.io/cluster={CLUSTER}"))
    try:
        for run in result.values():
            kubectl(kube, "apply", "-n", run.ns, "-f", "-", input=yaml.safe_dump_all(samples[run.version]))

        def each(step: str, action: Any, done: Any, timeout: float) -> None:
            for run in result.values():
                if action is not None:
                    action(run)
                run.times[f"{step}-start"] = time.monotonic()
            for run in result.values():
                try:
                    eventually(functools.partial(done, run), timeout=timeout, what=f"[{run.version}] {step}")
                except AssertionError as err:
                    raise AssertionError(f"{err}\n{_diagnostics(kube, run, operator)}") from None
                run.times[step] = time.monotonic() - run.times[f"{step}-start"]

        head_ready = lambda r: any(_running(p) for p in json.loads(kubectl(  # noqa: E731
            kube, "get", "pods", "-n", r.ns, "-l", "ray.io/node-type=head", "-o", "json").stdout)["items"])
        each("head", None, head_ready, 300)
        # The autoscaler container must be up before it can react; the actor's demand waits for it anyway.
        each("up", lambda r: r.ray(kube, "detached_actor.py"),
             lambda r: any(_running(p) for p in r.workers(kube)), 300)
        each("down", lambda r: r.ray(kube, "terminate_detached_actor.py"),
             lambda r: not r.workers(kube) and r.replicas(kube) == 0, 400)
        yield result
    finally:
        for run in result.values():
            run.clusters.stop()
            run.pods.stop()
            kubectl(kube, "delete", "namespace", run.ns, "--wait=false", check=False)


def _spec_changes(run: Run) -> list[tuple[int, tuple[str, ...]]]:
    """(replicas, workersToDelete) of the worker group after each change of the RayCluster's spec."""
    changes: list[tuple[int, tuple[str, ...]]] = []
    for _, obj in run.clusters.snapshot():
        group = obj["spec"]["workerGroupSpecs"][0]
        value = (int(group.get("replicas", 0)), tuple(group.get("scaleStrategy", {}).get("workersToDelete") or ()))
        if not changes or changes[-1] != value:
            changes.append(value)
    return changes


def _check(run: Run) -> None:
    changes = _spec_changes(run)
    workers_created = [n for n in run.pods.created() if f"-{GROUP}-worker-" in n]
    workers_deleted = [n for n in run.pods.deleted() if f"-{GROUP}-worker-" in n]
    heads = [n for n in run.pods.created() if n.startswith(f"{CLUSTER}-head-")]
    print(f"[{run.version}] spec changes {changes}; workers created {workers_created}, deleted {workers_deleted}; "
          f"head ready {run.times['head']:.1f}s, worker Running {run.times['up']:.1f}s after the actor asked, "
          f"gone {run.times['down']:.1f}s after it ended")
    assert changes and workers_created, f"[{run.version}] the watches recorded nothing"
    replicas = [r for r, _ in changes]
    # Asked: 0 → 1 → 0. Every rise of `replicas` is one created worker; nothing else was created.
    assert replicas[0] == 0 and max(replicas) == 1 and replicas[-1] == 0, changes
    rises = sum(max(0, b - a) for a, b in itertools.pairwise(replicas))
    assert len(workers_created) == rises == 1, (changes, workers_created)
    # Every worker deleted was named by the autoscaler in workersToDelete; the head was never replaced.
    named = {name for _, names in changes for name in names}
    assert workers_deleted == workers_created and set(workers_deleted) <= named, (changes, workers_deleted)
    assert len(heads) == 1, heads


def test_autoscaler_v1_scales_a_worker_up_and_down(runs: dict[str, Run]) -> None:
    _check(runs["v1"])


def test_autoscaler_v2_scales_a_worker_up_and_down(runs: dict[str, Run]) -> None:
    _check(runs["v2"])
