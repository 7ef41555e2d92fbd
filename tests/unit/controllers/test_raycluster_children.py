"""Which Services a RayCluster gets, and which worker pods its plan stamps (replica indexes, multi-host)."""

from __future__ import annotations

from raykube.builders.cluster import cluster_context, desired_children
from raykube.builders.replicas import choose_worker_slots
from raykube.builders.settings import OperatorSettings
from tests.unit.controllers.fixtures import make_cluster

SETTINGS = OperatorSettings()


def _services(cluster: object) -> list[str]:
    children, _ = desired_children(cluster_context(cluster, SETTINGS), auth_token="t")  # type: ignore[arg-type]
    return [o["metadata"]["name"] for o in children if o["kind"] == "Service"]


def test_a_plain_cluster_gets_only_its_head_service_even_with_a_serve_port() -> None:
    # No container ports: KubeRay's default ports include serve (8000), yet no serve Service without the annotation.
    cluster = make_cluster("plain").worker_group("g").obj()
    assert _services(cluster) == ["plain-head-svc"]


def test_the_serve_service_needs_the_annotation() -> None:
    cluster = make_cluster("served").annotate("ray.io/enable-serve-service", "true").worker_group("g").obj()
    assert _services(cluster) == ["served-head-svc", "served-serve-svc"]


def test_multi_host_groups_get_a_headless_service() -> None:
    cluster = make_cluster("tpu").worker_group("g", hosts=4).obj()
    assert "tpu-headless" in _services(cluster)


def test_new_workers_take_the_lowest_free_replica_indexes() -> None:
    cluster = make_cluster().worker_group("g", replicas=4).obj()
    group = cluster.spec.worker_group_specs[0]  # type: ignore[index]
    members = [{"ray.io/worker-group-replica-index": "0"}, {"ray.io/worker-group-replica-index": "2"}]
    assert [s.replica_index for s in choose_worker_slots(group, members, 2)] == [1, 3]


def test_a_multi_host_replica_missing_a_host_gets_exactly_that_host_back() -> None:
    cluster = make_cluster().worker_group("g", replicas=2, hosts=2).obj()
    group = cluster.spec.worker_group_specs[0]  # type: ignore[index]
    replica = {"ray.io/worker-group-replica-index": "0", "ray.io/worker-group-replica-name": "g-abcde"}
    members = [{**replica, "ray.io/replica-host-index": "0"}]
    slots = choose_worker_slots(group, members, 3, suffix=lambda: "zzzzz")
    assert [(s.replica_name, s.host_index, s.replica_index) for s in slots] == [
        ("g-abcde", 1, 0),
        ("g-zzzzz", 0, 1),
        ("g-zzzzz", 1, 1),
    ]
