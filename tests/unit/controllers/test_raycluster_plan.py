"""The RayCluster pod planner: which pods to create and delete, and why."""

from __future__ import annotations

from typing import Any

import pytest

from raykube.controllers.raycluster.plan import Cause, Deletion, plan_pods
from tests.builders.pod import make_pod
from tests.unit.controllers.fixtures import make_cluster


def test_a_new_cluster_gets_a_head_and_its_workers() -> None:
    plan = plan_pods(make_cluster().worker_group("small", replicas=2).worker_group("big", replicas=3).obj(), [])
    assert plan.create_head
    assert plan.creates == {"small": 2, "big": 3}
    assert plan.deletions == []


@pytest.mark.parametrize(
    ("replicas", "min_replicas", "max_replicas", "hosts", "expected"),
    [
        pytest.param(5, 0, 3, 1, 3, id="capped-at-max"),
        pytest.param(1, 2, 5, 1, 2, id="raised-to-min"),
        pytest.param(None, 2, 5, 1, 2, id="unset-means-min"),
        pytest.param(2, 0, 5, 4, 8, id="multi-host-multiplies"),
        pytest.param(-1, 2, 5, 1, 2, id="negative-raised-to-min"),
    ],
)
def test_group_size_is_replicas_within_min_and_max_times_hosts(
    replicas: int | None, min_replicas: int, max_replicas: int, hosts: int, expected: int
) -> None:
    cluster = (
        make_cluster()
        .worker_group("g", replicas=replicas, min_replicas=min_replicas, max_replicas=max_replicas, hosts=hosts)
        .obj()
    )
    assert plan_pods(cluster, [make_pod("head")]).creates == {"g": expected}


@pytest.mark.parametrize("hosts", [0, -1])
def test_a_group_with_fewer_than_one_host_gets_no_pods_and_loses_those_it_had(hosts: int) -> None:
    """As KubeRay (replicas x numOfHosts pods): none for 0; -1 used to plan -3 pods. Never a negative count."""
    cluster = make_cluster().worker_group("g", replicas=3, hosts=hosts).obj()
    assert plan_pods(cluster, [make_pod("head")]).creates == {}
    plan = plan_pods(cluster, [make_pod("head"), make_pod("w1", group="g")])
    assert plan.creates == {} and [d.pod for d in plan.deletions] == ["w1"]


def test_a_healthy_cluster_needs_nothing() -> None:
    cluster = make_cluster().worker_group("g", replicas=2).obj()
    plan = plan_pods(cluster, [make_pod("head"), make_pod("w1", group="g"), make_pod("w2", group="g")])
    assert plan.empty


def test_workers_to_delete_removes_exactly_the_named_pods() -> None:
    # The autoscaler lowers replicas and names the pods in one patch: exactly those go, nothing is created.
    cluster = make_cluster().worker_group("g", replicas=1, to_delete=["w2", "w3", "gone-already"]).obj()
    pods = [make_pod("head"), make_pod("w1", group="g"), make_pod("w2", group="g"), make_pod("w3", group="g")]
    plan = plan_pods(cluster, pods)
    assert [d.pod for d in plan.deletions] == ["w2", "w3"]
    assert plan.creates == {}


def test_workers_to_delete_are_deleted_even_when_replicas_was_not_lowered() -> None:
    cluster = make_cluster().worker_group("g", replicas=2, to_delete=["w1"]).obj()
    plan = plan_pods(cluster, [make_pod("head"), make_pod("w1", group="g"), make_pod("w2", group="g")])
    assert plan.deletions == [Deletion("g", "w1", "listed in scaleStrategy.workersToDelete", Cause.WORKERS_TO_DELETE)]
    assert plan.creates == {"g": 1}


def test_a_failed_worker_is_deleted_and_replaced_on_the_next_pass() -> None:
    cluster = make_cluster().worker_group("g", replicas=2).obj()
    plan = plan_pods(cluster, [make_pod("head"), make_pod("w1", group="g"), make_pod("w2", group="g", phase="Failed")])
    assert [d.pod for d in plan.deletions] == ["w2"]
    assert "phase Failed" in plan.deletions[0].reason
    assert plan.creates == {}
    # next pass, the failed pod is gone: a replacement is created
    assert plan_pods(cluster, [make_pod("head"), make_pod("w1", group="g")]).creates == {"g": 1}


def test_a_running_pod_whose_ray_container_ended_under_restart_policy_never_is_replaced() -> None:
    cluster = make_cluster().obj()
    head = make_pod("head", restart_policy="Never", terminated=True)
    plan = plan_pods(cluster, [head])
    assert plan.deletions == [Deletion("headgroup", "head", plan.deletions[0].reason)]
    assert "restartPolicy is Never" in plan.deletions[0].reason


def test_a_missing_head_is_created_but_not_when_restart_is_disabled_after_provisioning() -> None:
    assert plan_pods(make_cluster().obj(), []).create_head
    disabled = (
        make_cluster()
        .annotate("ray.io/disable-provisioned-head-restart", "true")
        .conditions(RayClusterProvisioned=True)
        .obj()
    )
    assert not plan_pods(disabled, []).create_head


def test_two_head_pods_are_reported_not_guessed_at() -> None:
    plan = plan_pods(make_cluster().obj(), [make_pod("h1"), make_pod("h2")])
    assert plan.errors == ["found 2 head pods (h1, h2); a RayCluster has exactly one"]
    assert plan.deletions == [] and not plan.create_head


def test_surplus_workers_go_unready_first_then_newest_when_autoscaling_is_off() -> None:
    cluster = make_cluster().worker_group("g", replicas=1).obj()
    pods = [
        make_pod("head"),
        make_pod("old", group="g", created="2026-01-01T00:00:00Z"),
        make_pod("new", group="g", created="2026-01-02T00:00:00Z"),
        make_pod("sick", group="g", created="2025-01-01T00:00:00Z", ready=False),
    ]
    assert [d.pod for d in plan_pods(cluster, pods).deletions] == ["sick", "new"]


def test_with_autoscaling_on_surplus_workers_are_left_to_the_autoscaler() -> None:
    cluster = make_cluster().autoscaling().worker_group("g", replicas=1).obj()
    pods = [make_pod("head"), make_pod("w1", group="g"), make_pod("w2", group="g")]
    assert plan_pods(cluster, pods).empty


def test_terminating_pods_do_not_count_towards_the_group() -> None:
    cluster = make_cluster().worker_group("g", replicas=2).obj()
    pods = [make_pod("head"), make_pod("w1", group="g"), make_pod("w2", group="g", terminating=True)]
    assert plan_pods(cluster, pods).creates == {"g": 1}


def test_a_group_with_unsatisfied_expectations_is_skipped() -> None:
    cluster = make_cluster().worker_group("busy", replicas=3).worker_group("idle", replicas=1).obj()
    plan = plan_pods(cluster, [make_pod("head")], expectations_satisfied=lambda g: g != "busy")
    assert plan.creates == {"idle": 1}
    assert plan.skipped_groups == ["busy"]


def test_a_suspended_worker_group_loses_its_pods() -> None:
    cluster = make_cluster().worker_group("g", replicas=2, suspend=True).obj()
    plan = plan_pods(cluster, [make_pod("head"), make_pod("w1", group="g"), make_pod("w2", group="g")])
    assert sorted(d.pod for d in plan.deletions) == ["w1", "w2"]
    assert plan.creates == {}


def test_suspend_deletes_all_pods_only_once_the_cluster_is_suspending() -> None:
    pods = [make_pod("head"), make_pod("w1", group="g")]
    asked = make_cluster().worker_group("g").suspend().obj()
    assert plan_pods(asked, pods).empty  # the status step sets Suspending first
    suspending = make_cluster().worker_group("g").suspend().conditions(RayClusterSuspending=True).obj()
    deletions = plan_pods(suspending, pods).deletions
    assert [(d.group, d.pod, d.reason) for d in deletions] == [
        ("headgroup", "head", "the RayCluster is suspending"),
        ("g", "w1", "the RayCluster is suspending"),
    ]
    suspended = make_cluster().worker_group("g").suspend().conditions(RayClusterSuspended=True).obj()
    assert plan_pods(suspended, []).empty


def _stamped_head(cluster_spec_hash: str, version: str = "v1.7.0") -> dict[str, object]:
    head = make_pod("head")
    head["metadata"]["annotations"] = {
        "ray.io/upgrade-strategy-recreate-hash": cluster_spec_hash,
        "ray.io/kuberay-version": version,
    }
    return head


def test_recreate_strategy_replaces_every_pod_after_a_spec_change_but_not_after_scaling() -> None:
    from raykube.builders.spec_hash import recreate_hash

    old_hash = recreate_hash(make_cluster().worker_group("g", replicas=1).obj().spec)
    pods = [_stamped_head(old_hash), make_pod("w", group="g")]
    scaled = make_cluster().upgrade("Recreate").worker_group("g", replicas=3).obj()  # scaling is no spec change
    assert plan_pods(scaled, pods).creates == {"g": 2}

    changed = make_cluster().upgrade("Recreate").worker_group("g", replicas=1, cpu="2").obj()
    plan = plan_pods(changed, pods)
    assert sorted(d.pod for d in plan.deletions) == ["head", "w"]
    assert {d.reason for d in plan.deletions} == {"upgradeStrategy Recreate: the cluster spec changed"}
    # Without the strategy nothing is recreated; nor is a head stamped by another operator version.
    assert plan_pods(make_cluster().worker_group("g", replicas=1, cpu="2").obj(), pods).empty
    assert plan_pods(changed, [_stamped_head(old_hash, "v1.6.0"), make_pod("w", group="g")]).deletions == []


def test_without_the_status_conditions_gate_suspend_deletes_every_pod_at_once() -> None:
    cluster = make_cluster().worker_group("g").suspend().obj()
    pods = [make_pod("head"), make_pod("w1", group="g")]
    assert plan_pods(cluster, pods).deletions == []  # with the gate: the status step sets Suspending first
    plan = plan_pods(cluster, pods, status_conditions=False)
    assert sorted(d.pod for d in plan.deletions) == ["head", "w1"]
    assert {d.cause for d in plan.deletions} == {Cause.SUSPENDING}


def test_one_pass_creates_at_most_its_budget_and_counts_the_rest_as_deferred() -> None:
    # replicas 2^31-1 must not make one pass build two billion slots: the budget bounds the work of a pass.
    cluster = (
        make_cluster().worker_group("a", replicas=2**31 - 1, max_replicas=2**31 - 1).worker_group("b", replicas=3).obj()
    )
    plan = plan_pods(cluster, [], max_creates=10)
    assert plan.create_head
    assert plan.creates == {"a": 9}
    assert plan.deferred == (2**31 - 1 - 9) + 3
    assert len(plan.pods_to_create.workers) == 9


def test_later_passes_continue_where_the_budget_stopped() -> None:
    cluster = make_cluster().worker_group("g", replicas=5).obj()
    pods = [make_pod("head"), make_pod("w0", group="g", labels={"ray.io/worker-group-replica-index": "0"})]
    plan = plan_pods(cluster, pods, max_creates=2)
    assert plan.creates == {"g": 2}
    assert [s.replica_index for s in plan.new_workers["g"]] == [1, 2]
    assert plan.deferred == 2


def test_a_multi_host_replica_cut_by_the_budget_is_completed_by_the_next_pass() -> None:
    cluster = make_cluster().worker_group("g", replicas=1, hosts=4).obj()
    first = plan_pods(cluster, [make_pod("head")], max_creates=3)
    assert [s.host_index for s in first.new_workers["g"]] == [0, 1, 2]
    replica = first.new_workers["g"][0].replica_name
    made = [
        make_pod(
            f"w{s.host_index}",
            group="g",
            labels={
                "ray.io/worker-group-replica-index": "0",
                "ray.io/worker-group-replica-name": str(replica),
                "ray.io/replica-host-index": str(s.host_index),
            },
        )
        for s in first.new_workers["g"]
    ]
    second = plan_pods(cluster, [make_pod("head"), *made], max_creates=3)
    assert [(s.replica_name, s.host_index) for s in second.new_workers["g"]] == [(replica, 3)]
    assert second.deferred == 0


def _queued(name: str, **spec: str) -> dict[str, Any]:
    """A worker pod of group g that waits for the scheduler's first attempt (Pending, no node, no PodScheduled)."""
    pod = make_pod(name, group="g", phase="Pending", ready=False)
    pod["status"]["conditions"] = []
    pod["spec"].update(spec)
    return pod


def test_new_workers_wait_while_the_scheduler_has_a_queue_of_the_clusters_pods() -> None:
    cluster = make_cluster().worker_group("g", replicas=1000, max_replicas=1000).obj()
    queued = [_queued(f"q{i}") for i in range(30)]
    plan = plan_pods(cluster, [make_pod("head"), *queued], max_awaiting_scheduler=100)
    assert plan.creates == {"g": 70}  # 100 in the queue at most, counting the 30 already there
    assert plan.deferred == plan.held_for_scheduler == 1000 - 30 - 70
    assert plan.awaiting_scheduler == 30
    full = plan_pods(cluster, [make_pod("head"), *[_queued(f"q{i}") for i in range(100)]], max_awaiting_scheduler=100)
    assert full.creates == {} and full.deferred == 900


def test_pods_the_scheduler_has_seen_or_another_scheduler_owns_do_not_hold_new_workers() -> None:
    cluster = make_cluster().worker_group("g", replicas=40, max_replicas=40).obj()
    bound = [_queued(f"b{i}", nodeName="node-1") for i in range(10)]
    no_node = [_queued(f"u{i}") for i in range(10)]
    for pod in no_node:  # tried, no node fits: waiting for a cluster autoscaler, not for the scheduler's queue
        pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]
    gang = [_queued(f"v{i}", schedulerName="volcano") for i in range(10)]
    plan = plan_pods(cluster, [make_pod("head"), *bound, *no_node, *gang], max_awaiting_scheduler=5)
    assert plan.creates == {"g": 5}
    assert plan.deferred == 5


def test_the_head_is_created_whatever_the_scheduler_queue() -> None:
    cluster = make_cluster().worker_group("g", replicas=20).obj()
    plan = plan_pods(cluster, [_queued(f"q{i}") for i in range(10)], max_awaiting_scheduler=10)
    assert plan.create_head and plan.creates == {}
