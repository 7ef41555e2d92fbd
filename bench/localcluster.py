"""The benchmarks' local cluster: fake nodes sized for the run, raykube's CRDs installed, down at the end."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from raykube.local.binaries import binary
from raykube.local.cluster import ClusterConfig, LocalCluster

REPO = Path(__file__).resolve().parents[1]
CRDS = REPO / "config" / "crd" / "bases"
#: What `kubectl wait` answers, at once instead of waiting, for a CRD the API server has not given any status
#: condition yet (it reads a nil list): the CRD is simply not Established yet.
NO_CONDITIONS_YET = ".status.conditions accessor error"


def ray_crd_names(directory: Path = CRDS) -> list[str]:
    """``crd/<plural>.ray.io`` for each ray.io CRD file (``ray.io_<plural>.yaml``) in ``directory``."""
    return [f"crd/{p.stem.split('_', 1)[1]}.ray.io" for p in sorted(directory.glob("ray.io_*.yaml"))]


def wait_established(kubeconfig: Path, crds: Sequence[str], *, timeout: float = 180.0) -> None:
    """Wait until every CRD named in ``crds`` (`kubectl wait` arguments: ``crd/<name>`` or ``crd --all``) is
    Established; raises with kubectl's own message on any other failure or at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        left = max(1, round(deadline - time.monotonic()))
        done = subprocess.run([str(binary("kubectl")), f"--kubeconfig={kubeconfig}", "wait",
                               "--for=condition=Established", f"--timeout={left}s", *crds],
                              capture_output=True, text=True, check=False, timeout=left + 30)
        if done.returncode == 0:
            return
        if NO_CONDITIONS_YET not in done.stderr or time.monotonic() >= deadline:
            raise RuntimeError(f"kubectl wait --for=condition=Established failed: {done.stderr.strip()}")
        time.sleep(0.5)


@contextmanager
def bench_cluster(work: Path, *, fake_nodes: int, node_pods: int, control_plane_qps: int = 0,
                  fake_node_workers: int = 0) -> Iterator[LocalCluster]:
    """A cluster under ``work/cluster`` whose fake nodes never run short (1000 CPUs, 4 Ti, ``node_pods`` pods
    each), with the ray.io CRDs applied; torn down when the block ends, however it ends."""
    cluster = LocalCluster(ClusterConfig(state_dir=work / "cluster", fake_nodes=fake_nodes, node_pods=node_pods,
                                         node_cpu="1000", node_memory="4Ti", control_plane_qps=control_plane_qps,
                                         fake_node_workers=fake_node_workers))
    cluster.up()
    try:
        subprocess.run([str(binary("kubectl")), f"--kubeconfig={cluster.kubeconfig}", "apply", "--server-side",
                        "-f", str(CRDS)], check=True, capture_output=True)
        yield cluster
    finally:
        cluster.down()
