"""The conformance normaliser: two runs that differ only in names, uids, times and addresses normalise alike."""

from __future__ import annotations

from typing import Any

from bench.conformance.normalise import renormalise, snapshot
from bench.conformance.samples import split


def _meta(name: str, uid: str, *, owner: tuple[str, str, str] | None = None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": uid, "resourceVersion": "17", "creationTimestamp": "2026-01-01T00:00:0"
                            + uid[-1] + "Z", **extra}
    if owner:
        meta["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "uid": owner[2], "controller": True}]
    return meta


def _run(ns: str, suffix: str, uid: str, ip: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One operator's objects for a RayJob `job` whose RayCluster got a random suffix."""
    cluster = f"job-{suffix}"
    objects = [
        {"kind": "RayJob", "metadata": _meta("job", f"{uid}-0000-0000-0000-000000000001"),
         "status": {"jobId": f"job-{suffix}x", "rayClusterName": cluster, "startTime": "2026-05-05T10:00:00Z",
                    "dashboardURL": f"{cluster}-head-svc.{ns}.svc.cluster.local:8265"}},
        {"kind": "RayCluster", "metadata": _meta(cluster, f"{uid}-0000-0000-0000-000000000002",
                                                 owner=("RayJob", "job", f"{uid}-0000-0000-0000-000000000001")),
         "spec": {"headGroupSpec": {}}, "status": {"head": {"podIP": ip}}},
        {"kind": "Pod", "metadata": _meta(f"{cluster}-head-{suffix[:3]}zz", f"{uid}-0000-0000-0000-000000000003",
                                          generateName=f"{cluster}-head-", labels={"ray.io/cluster": cluster},
                                          owner=("RayCluster", cluster, f"{uid}-0000-0000-0000-000000000002")),
         "spec": {"nodeName": f"node-{suffix}", "containers": [{"name": "ray-head"}]},
         "status": {"phase": "Running", "podIP": ip}},
        {"kind": "Service", "metadata": _meta(f"{cluster}-head-svc", f"{uid}-0000-0000-0000-000000000004"),
         "spec": {"clusterIP": ip, "clusterIPs": [ip], "ports": [{"name": "dashboard", "port": 8265}]}},
        {"kind": "Secret", "metadata": _meta(cluster, f"{uid}-0000-0000-0000-000000000005"),
         "data": {"auth_token": suffix}},
        {"kind": "ServiceAccount", "metadata": _meta("default", f"{uid}-0000-0000-0000-000000000006")},
        {"kind": "Pod", "metadata": _meta(f"redis-{suffix}", f"{uid}-0000-0000-0000-000000000007",
                                          owner=("ReplicaSet", "redis-abc", f"{uid}-0000-0000-0000-000000000008"))},
    ]
    events = [
        {"kind": "Event", "type": "Normal", "reason": "Created", "message": f"Created RayCluster {ns}/{cluster}",
         "involvedObject": {"apiVersion": "ray.io/v1", "kind": "RayJob", "name": "job"}},
        {"kind": "Event", "type": "Normal", "reason": "Scheduled", "message": f"node-{suffix}",
         "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "x"}},
    ]
    return objects, events


def test_two_runs_differing_only_in_generated_values_normalise_to_the_same_snapshot() -> None:
    a = snapshot(*_run("kuberay-001", "abcde", "aaaaaaaa", "10.0.0.5"), namespace="kuberay-001",
                 applied={("RayJob", "job")})
    b = snapshot(*_run("raykube-001", "vwxyz", "bbbbbbbb", "10.9.8.7"), namespace="raykube-001",
                 applied={("RayJob", "job")})
    assert a == b
    objects = a["objects"]
    assert set(objects) == {"RayJob/job", "RayCluster/job-<rand>", "Pod/job-<rand>-head-<rand>",
                            "Service/job-<rand>-head-svc", "Secret/job-<rand>"}
    assert objects["RayJob/job"]["status"]["jobId"] == "<jobid:job>"
    assert objects["RayJob/job"]["status"]["dashboardURL"] == "job-<rand>-head-svc.<ns>.svc.cluster.local:8265"
    assert objects["RayCluster/job-<rand>"]["status"]["head"]["podIP"] == "<ip>"
    assert objects["Secret/job-<rand>"]["data"] == {"auth_token": "<data>"}
    assert "nodeName" not in objects["Pod/job-<rand>-head-<rand>"]["spec"]
    assert a["events"] == {"RayJob/job Created": ["Normal: Created RayCluster <ns>/job-<rand>"]}


def test_a_real_difference_survives_normalisation() -> None:
    objects, events = _run("ns-a", "abcde", "aaaaaaaa", "10.0.0.5")
    other, _ = _run("ns-b", "vwxyz", "bbbbbbbb", "10.0.0.6")
    other[3]["spec"]["ports"][0]["port"] = 8266
    a = snapshot(objects, events, namespace="ns-a", applied=set())
    b = snapshot(other, [], namespace="ns-b", applied=set())
    assert a["objects"]["Service/job-<rand>-head-svc"] != b["objects"]["Service/job-<rand>-head-svc"]
    assert b["events"] == {}


def test_pods_of_one_group_get_numbered_keys_in_a_stable_order() -> None:
    pods = [{"kind": "Pod", "metadata": _meta(f"c-workers-{s}", f"{s}aaaaaa-0000-0000-0000-00000000000{i}",
                                              generateName="c-workers-",
                                              labels={"ray.io/worker-group-replica-index": str(i)})}
            for i, s in enumerate(("qq", "rr"))]
    a = snapshot(pods, [], namespace="test-ns", applied=set())
    b = snapshot(list(reversed(pods)), [], namespace="test-ns", applied=set())
    assert a == b
    assert set(a["objects"]) == {"Pod/c-workers-<rand>#1", "Pod/c-workers-<rand>#2"}


def test_sample_documents_of_kinds_a_plain_cluster_lacks_are_left_out() -> None:
    text = """
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: c}
---
apiVersion: scheduling.volcano.sh/v1beta1
kind: Queue
metadata: {name: q}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: code}
"""
    sample = split("s", text)
    assert [d["kind"] for d in sample.applied] == ["RayCluster", "ConfigMap"]
    assert sample.skipped == ["scheduling.volcano.sh/v1beta1/Queue q"]
    assert sample.ray_objects == [("RayCluster", "c")]


def test_renormalise_names_a_deleted_rayjob_cluster_and_drops_go_empty_structs_idempotently() -> None:
    snap = {
        "objects": {
            "RayJob/job": {"kind": "RayJob", "metadata": {"name": "job"},
                           "status": {"rayClusterName": "job-ab1c2", "rayJobInfo": {},
                                      "rayClusterStatus": {"head": {"podName": "job-ab1c2-head-x9z8y"}}}},
            "RayCluster/job-<rand>2": {"kind": "RayCluster", "metadata": {"name": "c"},
                                       "spec": {"headGroupSpec": {"template": {"metadata": {}}},
                                                "workerGroupSpecs": [{"scaleStrategy": {}, "template": {
                                                    "metadata": {"labels": {"a": "b"}}}}]}},
        },
        "events": {"RayJob/job CreatedRayCluster": ["Normal: Created RayCluster <ns>/job-ab1c2"]},
    }
    once = renormalise(snap)
    job = once["objects"]["RayJob/job"]["status"]
    assert job == {"rayClusterName": "job-<rand>", "rayClusterStatus": {"head": {"podName": "job-<rand>-head-<rand>"}}}
    assert once["events"] == {"RayJob/job CreatedRayCluster": ["Normal: Created RayCluster <ns>/job-<rand>"]}
    cluster = once["objects"]["RayCluster/job-<rand>2"]["spec"]
    assert cluster == {"headGroupSpec": {"template": {}},
                       "workerGroupSpecs": [{"template": {"metadata": {"labels": {"a": "b"}}}}]}
    assert renormalise(once) == once
    # A RayJob whose cluster is still there (or a user's cluster picked by clusterSelector) keeps its names.
    kept = {"objects": {"RayJob/j": {"kind": "RayJob", "metadata": {"name": "j"},
                                     "status": {"rayClusterName": "mine-ab1c2"}},
                        "RayCluster/mine-ab1c2": {"kind": "RayCluster", "metadata": {"name": "mine-ab1c2"}}},
            "events": {}}
    assert renormalise(kept) == kept


def test_renormalise_node_ports_combined_events_and_clusters_named_only_by_events() -> None:
    snap = {
        "objects": {"RayCluster/c": {"kind": "RayCluster", "metadata": {"name": "c"},
                                     "status": {"endpoints": {"client": "31928", "dashboard": "8265"}}}},
        "events": {"RayJob/j CreatedRayCluster": ["Normal: Created RayCluster <ns>/j-ws962"],
                   "RayCluster/j-ws962 CreatedWorkerPod": [
                       "Normal: (combined from similar events): Created worker Pod <ns>/j-ws962-g-worker-ab1c2",
                       "Normal: Created worker Pod <ns>/j-ws962-g-worker-ab1c2"]},
    }
    once = renormalise(snap)
    assert once["objects"]["RayCluster/c"]["status"]["endpoints"] == {"client": "<nodeport>", "dashboard": "8265"}
    assert once["events"] == {
        "RayCluster/j-<rand> CreatedWorkerPod": ["Normal: Created worker Pod <ns>/j-<rand>-g-worker-<rand>"],
        "RayJob/j CreatedRayCluster": ["Normal: Created RayCluster <ns>/j-<rand>"],
    }
    assert renormalise(once) == once


EMPTY = {"desiredCPU": "0", "desiredGPU": "0", "desiredMemory": "0", "desiredTPU": "0", "head": {}}


def test_renormalise_drops_go_empty_cluster_statuses_only_when_empty() -> None:
    snap = {
        "objects": {
            "RayService/s": {"kind": "RayService", "metadata": {"name": "s"},
                             "status": {"activeServiceStatus": {"rayClusterStatus": dict(EMPTY)},
                                        "pendingServiceStatus": {"rayClusterStatus": dict(EMPTY)}}},
            "RayJob/j": {"kind": "RayJob", "metadata": {"name": "j"}, "status": {"rayClusterStatus": dict(EMPTY)}},
            "RayJob/k": {"kind": "RayJob", "metadata": {"name": "k"},
                         "status": {"rayClusterStatus": {**EMPTY, "desiredCPU": "1"}}},
        },
        "events": {},
    }
    original = repr(snap)
    once = renormalise(snap)
    assert repr(snap) == original  # pure
    assert once["objects"]["RayService/s"]["status"] == {"pendingServiceStatus": {"rayClusterStatus": EMPTY}}
    assert once["objects"]["RayJob/j"]["status"] == {}
    assert once["objects"]["RayJob/k"]["status"] == {"rayClusterStatus": {**EMPTY, "desiredCPU": "1"}}
    assert renormalise(once) == once


def test_renormalise_drops_pod_creates_refused_for_a_service_account_that_came_later() -> None:
    refused = ('Warning: Failed to create head Pod <ns>/, pods "c-head-" is forbidden: error looking up service '
               'account <ns>/sa: serviceaccount "sa" not found')
    quota = 'Warning: Failed to create head Pod <ns>/, pods "c-head-" is forbidden: exceeded quota: q'
    snap = {
        "objects": {},
        "events": {
            "RayCluster/c FailedToCreateHeadPod": [refused, quota],
            "RayCluster/c CreatedHeadPod": ["Normal: Created head Pod <ns>/c-head-<rand>"],
            # never created: the ServiceAccount never came, the Warning stays
            "RayCluster/d FailedToCreateWorkerPod": [refused.replace("head Pod <ns>/", "worker Pod <ns>/d")],
            "RayCluster/e FailedToCreateWorkerPod": [refused],
            "RayCluster/e CreatedWorkerPod": ["Normal: Created worker Pod <ns>/e-g-worker-<rand>"],
        },
    }
    once = renormalise(snap)
    assert once["events"] == {
        "RayCluster/c CreatedHeadPod": ["Normal: Created head Pod <ns>/c-head-<rand>"],
        "RayCluster/c FailedToCreateHeadPod": [quota],
        "RayCluster/d FailedToCreateWorkerPod": snap["events"]["RayCluster/d FailedToCreateWorkerPod"],
        "RayCluster/e CreatedWorkerPod": ["Normal: Created worker Pod <ns>/e-g-worker-<rand>"],
    }
    assert renormalise(once) == once
