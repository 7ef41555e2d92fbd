"""Which Services a RayCluster gets, and which worker pods its plan stamps (replica indexes, multi-host)."""

from __future__ import annotations

from typing import Any

from raykube.builders.cluster import cluster_context, desired_children
from raykube.builders.replicas import choose_worker_slots
from raykube.builders.settings import OperatorSettings
from raykube.controllers.events import ObjectEvents
from raykube.controllers.raycluster.children import ChildrenActor
from raykube.runtime.errors import ApiError
from raykube.runtime.objects import ObjectKey
from tests.unit.controllers.fixtures import make_cluster
from tests.unit.runtime.test_events import CLUSTER, make

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


class _Client:
    """Creates succeed, except of the names in ``existing`` (AlreadyExists)."""

    def __init__(self, *existing: str) -> None:
        self.existing = set(existing)

    async def create(self, kind: object, obj: dict[str, Any], *, namespace: str | None = None) -> dict[str, Any]:
        name = obj["metadata"]["name"]
        if name in self.existing:
            raise ApiError(409, "AlreadyExists", f'secrets "{name}" already exists')
        self.existing.add(name)
        return obj


SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "rc"}}
KEY = ObjectKey("default", "rc")


async def _ensure(actor: ChildrenActor, *, has_pods: bool) -> list[tuple[str, str]]:
    sink, _, recorder = make()
    events = ObjectEvents.start(recorder, CLUSTER)
    await actor.ensure(KEY, make_cluster().obj(), [SECRET], [], events, has_pods=has_pods)
    events.emit()
    await recorder.flush()
    return [(e["type"], e["reason"]) for e in sink.created]


async def test_an_auth_secret_that_existed_before_the_cluster_had_pods_is_used_with_a_warning() -> None:
    # KubeRay uses a Secret of the expected name silently, whoever made it; raykube uses it too and says so.
    assert await _ensure(ChildrenActor(_Client("rc")), has_pods=False) == [("Warning", "UsedExistingSecret")]  # type: ignore[arg-type]


async def test_the_clusters_own_secret_gets_no_warning() -> None:
    client = _Client()
    assert await _ensure(ChildrenActor(client), has_pods=False) == [("Normal", "CreatedSecret")]  # type: ignore[arg-type]
    # Created by this process, then a pass failed before the pods (a refused Service): not someone else's.
    again = ChildrenActor(client)  # type: ignore[arg-type]
    again._made_secret[KEY] = "uid-1"
    assert await _ensure(again, has_pods=False) == []
    # After an operator restart the cluster has pods: its Secret is its own, nothing to say.
    assert await _ensure(ChildrenActor(client), has_pods=True) == []  # type: ignore[arg-type]
