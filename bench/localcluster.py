"""The benchmarks' local cluster: fake nodes sized for the run, raykube's CRDs installed, down at the end."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from raykube.local.binaries import binary
from raykube.local.cluster import ClusterConfig, LocalCluster

REPO = Path(__file__).resolve().parents[1]
CRDS = REPO / "config" / "crd" / "bases"


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
