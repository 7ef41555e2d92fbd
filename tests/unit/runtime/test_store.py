"""Store and index bookkeeping."""

from __future__ import annotations

from typing import Any

from raykube.runtime.objects import ObjectKey
from raykube.runtime.store import Store, controller_uid_index, index_value, label_index

from .fakes import obj


def pod(name: str, cluster: str | None, *, namespace: str = "ns", owner_uid: str | None = None) -> dict[str, Any]:
    labels = {"ray.io/cluster": cluster} if cluster else {}
    refs = [{"kind": "RayCluster", "name": cluster, "uid": owner_uid, "controller": True}] if owner_uid else []
    return obj(name, namespace=namespace, labels=labels, ownerReferences=refs)


def test_label_index_separates_equal_values_in_different_namespaces() -> None:
    store = Store({"cluster": label_index("ray.io/cluster")})
    store.upsert(pod("a", "rc"))
    store.upsert(pod("b", "rc", namespace="other"))
    store.upsert(pod("c", None))
    names = [p["metadata"]["name"] for p in store.by_index("cluster", index_value("ns", "rc"))]
    assert names == ["a"]


def test_index_follows_label_changes_and_removal() -> None:
    store = Store({"cluster": label_index("ray.io/cluster")})
    store.upsert(pod("a", "rc1"))
    store.upsert(pod("a", "rc2"))
    assert store.by_index("cluster", "ns/rc1") == []
    assert len(store.by_index("cluster", "ns/rc2")) == 1
    store.remove(ObjectKey("ns", "a"))
    assert store.by_index("cluster", "ns/rc2") == []


def test_controller_uid_index_finds_children_of_an_owner() -> None:
    store = Store({"owner": controller_uid_index})
    store.upsert(pod("a", "rc", owner_uid="u1"))
    store.upsert(pod("b", "rc", owner_uid="u2"))
    assert [p["metadata"]["name"] for p in store.by_index("owner", "u1")] == ["a"]


def test_indexer_added_later_covers_existing_objects() -> None:
    store = Store()
    store.upsert(pod("a", "rc"))
    store.add_indexer("cluster", label_index("ray.io/cluster"))
    assert len(store.by_index("cluster", "ns/rc")) == 1


def test_replace_reports_added_updated_and_vanished_objects() -> None:
    store = Store()
    store.upsert(obj("keep", "1"))
    store.upsert(obj("gone", "1"))
    diff = store.replace([obj("keep", "2"), obj("new", "3")])
    assert [o["metadata"]["name"] for o in diff.added] == ["new"]
    assert [(o["metadata"]["resourceVersion"], n["metadata"]["resourceVersion"]) for o, n in diff.updated] == [
        ("1", "2")
    ]
    assert [o["metadata"]["name"] for o in diff.deleted] == ["gone"]
    assert sorted(k.name for k in store) == ["keep", "new"]


def test_list_filters_by_namespace_and_labels() -> None:
    store = Store()
    store.upsert(pod("a", "rc"))
    store.upsert(pod("b", "rc", namespace="other"))
    store.upsert(pod("c", "rc2"))
    assert [p["metadata"]["name"] for p in store.list(namespace="ns", labels={"ray.io/cluster": "rc"})] == ["a"]


def test_managed_fields_are_not_kept_in_the_cache() -> None:
    store = Store()
    pod = {"metadata": {"name": "p", "namespace": "ns", "labels": {"a": "b"},
                        "managedFields": [{"manager": "kubelet", "fieldsV1": {"f:status": {}}}]}}
    store.upsert(pod)
    cached = store.get(ObjectKey("ns", "p"))
    assert cached is not None and "managedFields" not in cached["metadata"]
    assert cached["metadata"]["labels"] == {"a": "b"}
    store.replace([{"metadata": {"name": "q", "namespace": "ns", "managedFields": []}}])
    relisted = store.get(ObjectKey("ns", "q"))
    assert relisted is not None and "managedFields" not in relisted["metadata"]
