"""One operator on the local cluster over every sample, each in a fresh namespace, until nothing changes.

The operator (raykube's, or KubeRay's Go binary: they take the same flags) starts first; then every sample
is applied in its own namespace (``<prefix>-<index>``); the namespaces are read every few seconds and
normalised; the phase ends when no snapshot has changed for ``quiet`` seconds (after at least ``min_wait``,
so time-driven transitions such as a RayJob's grace period have happened), or at ``max_wait``.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.conformance.normalise import snapshot
from bench.conformance.samples import Sample
from raykube.local.binaries import binary
from raykube.operator.process import OperatorProcess

CLUSTER_SCOPED = ("ClusterRole", "ClusterRoleBinding", "Namespace", "PriorityClass", "StorageClass",
                  "IngressClass", "PersistentVolume")
READ_KINDS = ("pods,services,jobs.batch,secrets,serviceaccounts,roles.rbac.authorization.k8s.io,"
              "rolebindings.rbac.authorization.k8s.io,ingresses.networking.k8s.io,persistentvolumeclaims,"
              "rayclusters.ray.io,rayjobs.ray.io,rayservices.ray.io,raycronjobs.ray.io,events")
RAY_RESOURCES = "rayclusters.ray.io,rayjobs.ray.io,rayservices.ray.io,raycronjobs.ray.io"


@dataclass(frozen=True)
class Timing:
    """How long a phase waits: at least ``min_wait``, then until ``quiet`` seconds without change."""

    min_wait: float = 60.0
    quiet: float = 30.0
    max_wait: float = 300.0
    interval: float = 5.0


@dataclass
class PhaseResult:
    snapshots: dict[str, dict[str, Any]]
    apply_errors: dict[str, str] = field(default_factory=dict)
    settled: bool = True
    seconds: float = 0.0


def kubectl(kubeconfig: Path, *args: str, input: str | None = None, check: bool = True
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary("kubectl")), f"--kubeconfig={kubeconfig}", *args], input=input,
                          capture_output=True, text=True, check=check, timeout=300)


def namespaces(prefix: str, samples: list[Sample]) -> dict[str, str]:
    """Sample name -> its namespace in this phase."""
    return {s.name: f"{prefix}-{i:03d}" for i, s in enumerate(samples)}


def _in_namespace(doc: dict[str, Any], namespace: str) -> dict[str, Any]:
    if doc.get("kind") in CLUSTER_SCOPED:
        return doc
    return {**doc, "metadata": {**doc.get("metadata", {}), "namespace": namespace}}


def _create_namespaces(kubeconfig: Path, names: list[str]) -> None:
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in names]
    kubectl(kubeconfig, "apply", "-f", "-", input=yaml.safe_dump_all(docs))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # pods are refused until the namespace's default ServiceAccount exists
        items = json.loads(kubectl(kubeconfig, "get", "serviceaccounts", "-A", "-o", "json").stdout)["items"]
        ready = {i["metadata"]["namespace"] for i in items if i["metadata"]["name"] == "default"}
        if ready >= set(names):
            return
        time.sleep(1)
    raise TimeoutError("the samples' namespaces have no default ServiceAccount after 120 s")


APPLY_ATTEMPTS = 3


def _apply(kubeconfig: Path, sample: Sample, namespace: str, *, attempts: int = APPLY_ATTEMPTS,
           pause: float = 2.0) -> str:
    """Apply one sample; the error text when kubectl refused part of it (the rest is applied).

    A refused apply is tried again, up to ``attempts`` in all: apply is idempotent, and on a loaded two-core
    machine kubectl's create can reach the API server twice (its first answer lost, the request resent), the
    second failing AlreadyExists for an object the first made. An error that is the sample's own comes back
    every time and is returned.
    """
    if not sample.applied:
        return ""
    text = yaml.safe_dump_all([_in_namespace(d, namespace) for d in sample.applied])
    error = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(pause)
        done = kubectl(kubeconfig, "apply", "-f", "-", input=text, check=False)
        if not done.returncode:
            return ""
        error = done.stderr.strip()
    return error


def read_all(kubeconfig: Path, names: dict[str, str], samples: list[Sample]) -> dict[str, dict[str, Any]]:
    """Every sample's normalised snapshot, from one cluster-wide read."""
    items = json.loads(kubectl(kubeconfig, "get", READ_KINDS, "-A", "-o", "json").stdout)["items"]
    by_ns: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {ns: ([], []) for ns in names.values()}
    for item in items:
        bucket = by_ns.get(item.get("metadata", {}).get("namespace", ""))
        if bucket is not None:
            bucket[1 if item.get("kind") == "Event" else 0].append(item)
    return {s.name: snapshot(by_ns[names[s.name]][0], by_ns[names[s.name]][1], namespace=names[s.name],
                             applied=s.applied_keys) for s in samples}


def run_phase(kubeconfig: Path, work: Path, samples: list[Sample], *, prefix: str,
              program: tuple[str, ...] | None = None, extra: tuple[str, ...] = (), timing: Timing = Timing(),
              progress: Callable[[str], None] = lambda _: None) -> PhaseResult:
    """Run one operator over every sample (see the module docstring); the operator is stopped at the end."""
    names = namespaces(prefix, samples)
    _create_namespaces(kubeconfig, list(names.values()))
    options: dict[str, Any] = {"program": program} if program else {}
    op = OperatorProcess(kubeconfig, work, name=prefix, lease_namespace=next(iter(names.values())),
                         extra=extra, **options)
    try:
        op.wait_ready()
        start = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            errors = dict(zip(names, pool.map(lambda s: _apply(kubeconfig, s, names[s.name]), samples), strict=True))
        progress(f"{prefix}: {len(samples)} samples applied in {time.monotonic() - start:.0f} s; waiting to settle")
        last = read_all(kubeconfig, names, samples)
        changed = time.monotonic()
        while True:
            time.sleep(timing.interval)
            now_snap = read_all(kubeconfig, names, samples)
            now = time.monotonic()
            if now_snap != last:
                moving = sorted(k for k in now_snap if now_snap[k] != last.get(k))
                progress(f"{prefix}: {now - start:.0f} s, still changing: {', '.join(moving[:4])}"
                         f"{' ...' if len(moving) > 4 else ''}")
                last, changed = now_snap, now
            elapsed = now - start
            if elapsed >= timing.min_wait and now - changed >= timing.quiet:
                return PhaseResult(last, {k: v for k, v in errors.items() if v}, True, elapsed)
            if elapsed >= timing.max_wait:
                return PhaseResult(last, {k: v for k, v in errors.items() if v}, False, elapsed)
    finally:
        op.stop()


def remove(kubeconfig: Path, prefix: str, samples: list[Sample], *, wait: float = 120.0) -> None:
    """Delete a phase's namespaces, first releasing the finalizers its (now stopped) operator left behind."""
    names = set(namespaces(prefix, samples).values())
    items = json.loads(kubectl(kubeconfig, "get", RAY_RESOURCES, "-A", "-o", "json").stdout)["items"]
    for item in items:
        meta = item["metadata"]
        if meta.get("namespace") in names and meta.get("finalizers"):
            kubectl(kubeconfig, "patch", f"{item['kind'].lower()}.ray.io", meta["name"], "-n", meta["namespace"],
                    "--type=merge", "-p", '{"metadata":{"finalizers":null}}', check=False)
    kubectl(kubeconfig, "delete", "namespace", *sorted(names), "--wait=false", check=False)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        left = json.loads(kubectl(kubeconfig, "get", "namespaces", "-o", "json").stdout)["items"]
        if not names & {n["metadata"]["name"] for n in left}:
            return
        time.sleep(2)
