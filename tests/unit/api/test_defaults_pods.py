"""How many pods a RayCluster asks for (the per-cluster limit counts these)."""

from __future__ import annotations

from raykube.api.defaults import desired_pod_count
from tests.unit.controllers.fixtures import make_cluster


def test_desired_pods_count_the_head_and_each_group_within_min_max_times_hosts() -> None:
    cluster = (
        make_cluster()
        .worker_group("a", replicas=3, hosts=2)
        .worker_group("b", replicas=50, max_replicas=4)
        .worker_group("c", replicas=7, suspend=True)
        .obj()
    )
    assert desired_pod_count(cluster.spec) == 1 + 6 + 4 + 0
