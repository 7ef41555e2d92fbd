"""Which Services a RayCluster gets, and the multi-host replica stamping."""

from __future__ import annotations

from raykube.builders.settings import OperatorSettings
from raykube.controllers.raycluster.children import desired_services
from raykube.controllers.raycluster.replicas import pods_to_create
from tests.unit.controllers.fixtures import make_cluster, make_pod

SETTINGS = OperatorSettings()


def test_a_plain_cluster_gets_only_its_head_service_even_with_a_serve_port() -> None:
    # No container ports: KubeRay's default ports include serve (8000), yet no serve Service without the annotation.
    cluster = make_cluster("plain").worker_group("g").obj()
    assert [s["metadata"]["name"] for s in desired_services(cluster, SETTINGS)] == ["plain-head-svc"]


def test_the_serve_service_needs_the_annotation() -> None:
    cluster = make_cluster("served").annotate("ray.io/enable-serve-service", "true").worker_group("g").obj()
    assert [s["metadata"]["name"] for s in desired_services(cluster, SETTINGS)] == [
        "served-head-svc",
        "served-serve-svc",
    ]


def test_multi_host_groups_get_a_headless_service() -> None:
    cluster = make_cluster("tpu").worker_group("g", hosts=4).obj()
    assert "tpu-headless" in [s["metadata"]["name"] for s in desired_services(cluster, SETTINGS)]


def _labelled(name: str, **labels: str) -> dict[str, object]:
    pod = make_pod(name, group="g")
    pod["metadata"]["labels"].update(labels)  # type: ignore[index]
    return pod


def test_new_workers_take_the_lowest_free_replica_indexes() -> None:
    cluster = make_cluster().worker_group("g", replicas=4).obj()
    group = cluster.spec.worker_group_specs[0]  # type: ignore[index]
    members = [
        _labelled("a", **{"ray.io/worker-group-replica-index": "0"}),
        _labelled("b", **{"ray.io/worker-group-replica-index": "2"}),
    ]
    pods = pods_to_create({"metadata": {"labels": {}}}, group, members, 2, SETTINGS)
    assert [p["metadata"]["labels"]["ray.io/worker-group-replica-index"] for p in pods] == ["1", "3"]


def test_a_multi_host_replica_missing_a_host_gets_exactly_that_host_back() -> None:
    cluster = make_cluster().worker_group("g", replicas=2, hosts=2).obj()
    group = cluster.spec.worker_group_specs[0]  # type: ignore[index]
    replica = {"ray.io/worker-group-replica-index": "0", "ray.io/worker-group-replica-name": "g-abcde"}
    members = [_labelled("h0", **replica, **{"ray.io/replica-host-index": "0"})]
    pods = pods_to_create({"metadata": {"labels": {}}}, group, members, 3, SETTINGS, suffix=lambda: "zzzzz")
    labels = [p["metadata"]["labels"] for p in pods]
    assert [(lab["ray.io/worker-group-replica-name"], lab["ray.io/replica-host-index"]) for lab in labels] == [
        ("g-abcde", "1"),
        ("g-zzzzz", "0"),
        ("g-zzzzz", "1"),
    ]
    assert [lab["ray.io/worker-group-replica-index"] for lab in labels] == ["0", "1", "1"]
