"""RayCluster status: counts, resources, the sticky ready state, conditions and the suspend machine.

The status is computed typed; these tests assert on the JSON the reconciler writes, so the functions
under test are called through thin wrappers that parse their dict inputs and serialise their results.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from raykube import reasons
from raykube.api.raycluster import RayCluster, RayClusterStatus
from raykube.controllers.event import Event
from raykube.controllers.raycluster import conditions as typed_conditions
from raykube.controllers.raycluster import status as typed
from raykube.controllers.raycluster.pods import Pod
from raykube.controllers.raycluster.status import ReconcileFailure
from tests.builders.pod import make_pod
from tests.unit.controllers.fixtures import make_cluster

NOW = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=5)
HEAD_SVC = {
    "metadata": {"name": "rc-head-svc"},
    "spec": {
        "clusterIP": "None",
        "ports": [
            {"name": "dashboard", "port": 8265, "targetPort": 8265},
            {"name": "gcs-server", "port": 6379, "targetPort": 6379},
        ],
    },
}


def _typed(status: dict[str, Any]) -> RayClusterStatus | None:
    return RayClusterStatus.model_validate(status) if status else None


def compute_status(cluster: RayCluster, observed: list[Pod], **kwargs: Any) -> dict[str, Any]:
    return typed.compute_status(cluster, observed, **kwargs).to_json()


def desired_resources(cluster: RayCluster) -> dict[str, str]:
    found = typed.desired_resources(cluster)
    return {"desiredCPU": found.cpu, "desiredMemory": found.memory, "desiredGPU": found.gpu, "desiredTPU": found.tpu}


def invalid_spec_status(old: dict[str, Any], message: str, **kwargs: Any) -> dict[str, Any]:
    new = typed.invalid_spec_status(_typed(old), message, **kwargs)
    return new.to_json() if new is not None else {}


def status_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return typed.status_changed(_typed(old), RayClusterStatus.model_validate(new))


def transition_events(old: dict[str, Any], new: dict[str, Any]) -> list[Event]:
    return typed_conditions.transition_events(_typed(old), RayClusterStatus.model_validate(new))


def _cond(status: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in status["conditions"] if c["type"] == kind), None)


def test_the_walkthrough_cluster_shows_kuberays_columns() -> None:
    # ray-cluster chart with memory edited to 2G: 1 head + 1 worker, 1 CPU and 2G each.
    cluster = make_cluster().worker_group("workergroup", replicas=1).obj()
    status = compute_status(
        cluster, [make_pod("h"), make_pod("w", group="workergroup")], head_service=HEAD_SVC, failure=None, now=NOW
    )
    assert (status["desiredWorkerReplicas"], status["availableWorkerReplicas"]) == (1, 1)
    assert (status["desiredCPU"], status["desiredMemory"], status["desiredGPU"]) == ("2", "4G", "0")
    assert status["state"] == "ready"
    assert status["stateTransitionTimes"] == {"ready": "2026-11-26T12:00:00Z"}


def test_desired_resources_sum_requests_and_use_go_quantity_formatting() -> None:
    cluster = (
        make_cluster()
        .worker_group("a", replicas=2, cpu="500m", memory="1Gi")
        .worker_group("b", replicas=1, cpu="2", memory="512Mi")
        .obj()
    )
    # head 1 CPU / 2G first: the sum keeps the first non-zero operand's (decimal) format
    assert desired_resources(cluster) == {
        "desiredCPU": "4",
        "desiredMemory": "4684354560",
        "desiredGPU": "0",
        "desiredTPU": "0",
    }


def test_counts_ready_and_available_workers_separately() -> None:
    cluster = make_cluster().worker_group("g", replicas=3, min_replicas=1, max_replicas=5).obj()
    pods = [
        make_pod("h"),
        make_pod("w1", group="g"),
        make_pod("w2", group="g", ready=False),
        make_pod("w3", group="g", phase="Pending", ready=False),
    ]
    status = compute_status(cluster, pods, head_service=HEAD_SVC, failure=None, now=NOW)
    assert (status["readyWorkerReplicas"], status["availableWorkerReplicas"]) == (1, 2)
    assert (status["minWorkerReplicas"], status["maxWorkerReplicas"], status["desiredWorkerReplicas"]) == (1, 5, 3)
    assert "state" not in status
    assert _cond(status, "RayClusterProvisioned")["status"] == "False"  # type: ignore[index]


def test_ready_is_sticky_and_provisioned_stays_true() -> None:
    cluster = make_cluster().worker_group("g", replicas=1).obj()
    first = compute_status(
        cluster, [make_pod("h"), make_pod("w", group="g")], head_service=HEAD_SVC, failure=None, now=NOW
    )
    again = make_cluster().worker_group("g", replicas=1).status(**first).obj()
    later = compute_status(
        again, [make_pod("h"), make_pod("w", group="g", ready=False)], head_service=HEAD_SVC, failure=None, now=LATER
    )
    assert later["state"] == "ready"
    provisioned = _cond(later, "RayClusterProvisioned")
    assert provisioned == {
        "type": "RayClusterProvisioned",
        "status": "True",
        "reason": "AllPodRunningAndReadyFirstTime",
        "message": "All Ray Pods are ready for the first time",
        "lastTransitionTime": "2026-11-26T12:00:00Z",
    }


def test_head_pod_ready_mirrors_the_head_pod() -> None:
    cluster = make_cluster().obj()
    missing = compute_status(cluster, [], head_service=None, failure=None, now=NOW)
    assert _cond(missing, "HeadPodReady")["reason"] == "HeadPodNotFound"  # type: ignore[index]
    running = compute_status(cluster, [make_pod("h", ip="10.244.0.7")], head_service=HEAD_SVC, failure=None, now=NOW)
    assert _cond(running, "HeadPodReady")["reason"] == "HeadPodRunningAndReady"  # type: ignore[index]
    assert running["head"] == {
        "podName": "h",
        "podIP": "10.244.0.7",
        "serviceName": "rc-head-svc",
        "serviceIP": "10.244.0.7",
    }  # headless: the service IP is the head pod's
    assert running["endpoints"] == {"dashboard": "8265", "gcs-server": "6379"}


def test_a_reconcile_failure_shows_as_replica_failure_and_clears_on_success() -> None:
    cluster = make_cluster().obj()
    failed = compute_status(
        cluster,
        [],
        head_service=None,
        now=NOW,
        failure=ReconcileFailure(
            reasons.RayClusterConditionReason.FAILED_CREATE_HEAD_POD, "pods is forbidden: exceeded quota"
        ),
    )
    assert _cond(failed, "ReplicaFailure") == {
        "type": "ReplicaFailure",
        "status": "True",
        "reason": "FailedCreateHeadPod",
        "message": "pods is forbidden: exceeded quota",
        "lastTransitionTime": "2026-11-26T12:00:00Z",
    }
    recovered = compute_status(
        make_cluster().status(**failed).obj(), [make_pod("h")], head_service=HEAD_SVC, failure=None, now=LATER
    )
    assert _cond(recovered, "ReplicaFailure") is None


def test_suspend_goes_suspending_then_suspended_then_resumes() -> None:
    pods = [make_pod("h"), make_pod("w", group="g")]
    cluster = make_cluster().worker_group("g").suspend()
    s1 = compute_status(cluster.obj(), pods, head_service=HEAD_SVC, failure=None, now=NOW)
    assert _cond(s1, "RayClusterSuspending")["status"] == "True"  # type: ignore[index]
    s2 = compute_status(cluster.status(**s1).obj(), pods, head_service=HEAD_SVC, failure=None, now=NOW)
    assert _cond(s2, "RayClusterSuspending")["status"] == "True"  # type: ignore[index]  # pods still there
    s3 = compute_status(cluster.status(**s2).obj(), [], head_service=HEAD_SVC, failure=None, now=LATER)
    assert _cond(s3, "RayClusterSuspending")["status"] == "False"  # type: ignore[index]
    assert _cond(s3, "RayClusterSuspended")["status"] == "True"  # type: ignore[index]
    assert _cond(s3, "RayClusterProvisioned")["status"] == "False"  # type: ignore[index]
    assert s3["state"] == "suspended"
    resumed = make_cluster().worker_group("g").suspend(False).status(**s3).obj()
    s4 = compute_status(resumed, [], head_service=HEAD_SVC, failure=None, now=LATER)
    assert _cond(s4, "RayClusterSuspended")["status"] == "False"  # type: ignore[index]


def test_only_last_update_time_changing_is_not_a_change() -> None:
    cluster = make_cluster().obj()
    first = compute_status(cluster, [make_pod("h")], head_service=HEAD_SVC, failure=None, now=NOW)
    second = compute_status(
        make_cluster().status(**first).obj(), [make_pod("h")], head_service=HEAD_SVC, failure=None, now=LATER
    )
    assert second["lastUpdateTime"] != first["lastUpdateTime"]
    assert not status_changed(first, second)
    assert status_changed(first, {**second, "readyWorkerReplicas": 3})


def test_condition_flips_become_events_and_steady_state_is_silent() -> None:
    cluster = make_cluster().worker_group("g", replicas=1)
    provisioning = compute_status(cluster.obj(), [make_pod("h")], head_service=HEAD_SVC, failure=None, now=NOW)
    ready = compute_status(
        cluster.status(**provisioning).obj(),
        [make_pod("h"), make_pod("w", group="g")],
        head_service=HEAD_SVC,
        failure=None,
        now=LATER,
    )
    assert transition_events(provisioning, ready) == []  # provisioned: the condition only, as KubeRay
    assert transition_events(ready, ready) == []
    head_down = compute_status(
        cluster.status(**ready).obj(),
        [make_pod("h", ready=False), make_pod("w", group="g")],
        head_service=HEAD_SVC,
        failure=None,
        now=LATER,
    )
    assert [e.reason for e in transition_events(ready, head_down)] == ["HeadPodNotReady"]


def test_a_cluster_that_never_suspended_carries_suspending_and_suspended_false() -> None:
    status = compute_status(make_cluster().obj(), [make_pod("h")], head_service=HEAD_SVC, failure=None, now=NOW)
    by_type = {c["type"]: (c["status"], c["reason"], c["message"]) for c in status["conditions"]}
    assert by_type["RayClusterSuspending"] == ("False", "RayClusterSuspending", "")
    assert by_type["RayClusterSuspended"] == ("False", "RayClusterSuspended", "")
    assert by_type["RayClusterProvisioned"] == (
        "True",
        "AllPodRunningAndReadyFirstTime",
        "All Ray Pods are ready for the first time",
    )


def test_condition_messages_are_kuberays() -> None:
    missing = compute_status(make_cluster().obj(), [], head_service=None, failure=None, now=NOW)
    assert _cond(missing, "HeadPodReady")["message"] == "Head Pod not found"  # type: ignore[index]
    assert _cond(missing, "RayClusterProvisioned")["message"] == (  # type: ignore[index]
        "RayCluster Pods are being provisioned for first time"
    )
    suspending = make_cluster().suspend().conditions(RayClusterSuspending=True).obj()
    suspended = compute_status(suspending, [], head_service=None, failure=None, now=NOW)
    assert _cond(suspended, "RayClusterProvisioned")["message"] == "RayCluster has been suspended"  # type: ignore[index]


def test_zero_worker_counts_are_left_out_as_kuberays_omitempty_fields() -> None:
    status = compute_status(make_cluster().obj(), [make_pod("h")], head_service=HEAD_SVC, failure=None, now=NOW)
    for field in (
        "readyWorkerReplicas",
        "availableWorkerReplicas",
        "desiredWorkerReplicas",
        "minWorkerReplicas",
        "maxWorkerReplicas",
    ):
        assert field not in status
    assert status["desiredCPU"] == "1"  # a Quantity is never omitted by Go's encoder
    scaled = make_cluster().worker_group("g", replicas=2).obj()
    counted = compute_status(scaled, [make_pod("h")], head_service=HEAD_SVC, failure=None, now=NOW)
    assert counted["desiredWorkerReplicas"] == 2 and "readyWorkerReplicas" not in counted


def test_without_the_status_conditions_gate_no_condition_is_written() -> None:
    suspended = make_cluster().worker_group("g").suspend().obj()
    status = compute_status(suspended, [], head_service=None, failure=None, now=NOW, conditions_enabled=False)
    assert status["conditions"] == []
    assert status["state"] == "suspended"  # spec.suspend and no pods, as KubeRay with the gate off


def test_replica_counts_saturate_at_int32_so_the_status_write_is_never_refused() -> None:
    # Found as a hostile user: two groups of 2^31-1 made desiredWorkerReplicas exceed the schema's int32.
    big = 2**31 - 1
    cluster = (
        make_cluster().worker_group("a", replicas=big, max_replicas=big).worker_group("b", replicas=5).obj()
    )
    failure = ReconcileFailure(reasons.RayClusterConditionReason.REPLICAS_OVER_LIMIT, "too many")
    status = compute_status(cluster, [], head_service=None, failure=failure, now=NOW)
    assert status["desiredWorkerReplicas"] == big
    assert status["maxWorkerReplicas"] == big
    assert _cond(status, "ReplicaFailure") is not None


def test_an_invalid_spec_is_a_replica_failure_condition_that_a_valid_spec_clears() -> None:
    message = "metadata.name: RayCluster name should be no more than 53 characters (got 253)"
    old: dict[str, Any] = {"state": "ready", "readyWorkerReplicas": 1,
           "conditions": [{"type": "HeadPodReady", "status": "True", "reason": "HeadPodRunningAndReady",
                           "message": "", "lastTransitionTime": "2026-11-26T11:00:00Z"}]}
    status = invalid_spec_status(old, message, now=NOW)
    failure = _cond(status, "ReplicaFailure")
    assert failure is not None
    assert (failure["status"], failure["reason"], failure["message"]) == ("True", "InvalidRayClusterSpec", message)
    assert _cond(status, "HeadPodReady") == old["conditions"][0], "what was observed before stays"
    assert (status["state"], status["readyWorkerReplicas"]) == ("ready", 1)
    # The same failure again is no change (no status write, no new transition time).
    later = NOW + dt.timedelta(minutes=5)
    assert not status_changed(status, invalid_spec_status(status, message, now=later))
    # Once the spec is fixed, the next full status drops the condition.
    cluster = make_cluster().status(**status).obj()
    fixed = compute_status(cluster, [make_pod("h")], head_service=HEAD_SVC, failure=None, now=later)
    assert _cond(fixed, "ReplicaFailure") is None


def test_an_invalid_spec_leaves_the_status_alone_when_conditions_are_off() -> None:
    old = {"state": "ready"}
    assert invalid_spec_status(old, "bad", now=NOW, conditions_enabled=False) == old


def test_a_huge_validation_message_fits_the_crds_condition_message() -> None:
    status = invalid_spec_status({}, "x" * 100_000, now=NOW)
    assert len(status["conditions"][0]["message"]) == 32768


def test_a_multi_byte_condition_message_is_cut_by_bytes_between_characters() -> None:
    # 32,768 characters of "€" are 98,304 bytes: a cut by characters was still refused by the API server.
    status = invalid_spec_status({}, "a" + "€" * 40_000, now=NOW)
    message = status["conditions"][0]["message"]
    assert message == "a" + "€" * 10_922  # 1 + 10,922 * 3 = 32,767 bytes; the next "€" would not fit
    failure = ReconcileFailure(reasons.RayClusterConditionReason.FAILED_CREATE_HEAD_POD, "€" * 40_000)
    status = compute_status(make_cluster().obj(), [], head_service=None, failure=failure, now=NOW)
    replica_failure = _cond(status, "ReplicaFailure")
    assert replica_failure is not None and len(replica_failure["message"].encode()) <= 32768


def test_a_deletion_held_by_the_cleanup_finalizer_only_sets_the_reason() -> None:
    old = {"state": "ready", "readyWorkerReplicas": 1, "lastUpdateTime": "2026-11-26T11:00:00Z",
           "head": {"podName": "rc-head-x"}}
    new = typed.deleting_status(_typed(old), "Deleting: waiting for the Redis clean-up Job ns/rc-redis-cleanup",
                                now=NOW).to_json()
    assert new == {**old, "reason": "Deleting: waiting for the Redis clean-up Job ns/rc-redis-cleanup",
                   "lastUpdateTime": "2026-11-26T12:00:00Z"}
    assert status_changed(old, new)
    again = typed.deleting_status(_typed(new), new["reason"], now=LATER).to_json()
    assert not status_changed(new, again)  # the same reason later: nothing to write
    assert typed.deleting_status(None, "Deleting: x", now=NOW).to_json() == {
        "reason": "Deleting: x", "lastUpdateTime": "2026-11-26T12:00:00Z"}
