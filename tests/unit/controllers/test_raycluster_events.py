"""The Events a pod plan produces: KubeRay's reasons and texts, one per pod, one per collection deletion."""

from __future__ import annotations

import asyncio
from typing import Any

from raykube.builders.cluster import DesiredCluster
from raykube.builders.replicas import WorkerSlot
from raykube.controllers.events import ObjectEvents
from raykube.controllers.kinds import POD
from raykube.controllers.raycluster.act import PodActor
from raykube.controllers.raycluster.plan import Cause, Deletion, Plan, plan_pods
from raykube.controllers.raycluster.pods import state_summary
from raykube.runtime.events import PendingEvents
from raykube.runtime.expectations import ScaleExpectations
from raykube.runtime.objects import ObjectKey
from tests.builders.pod import make_pod
from tests.unit.controllers.fixtures import make_cluster
from tests.unit.controllers.rayjob.fakeapi import FakeApi

KEY = ObjectKey("ns", "rc")


def _run(plan: Plan, desired: DesiredCluster, pods: list[dict[str, Any]] = ()) -> list[tuple[str, str, str]]:  # type: ignore[assignment]
    api = FakeApi()
    for pod in pods:
        api.put(POD, {**pod, "metadata": {**pod["metadata"], "namespace": "ns"}})
    cluster = make_cluster("rc").worker_group("g", replicas=2).obj()
    events = ObjectEvents({"metadata": {"name": "rc"}}, PendingEvents(None))  # type: ignore[arg-type]
    actor = PodActor(api, cluster, ScaleExpectations(api.informers.pods.store), events)  # type: ignore[arg-type]
    asyncio.run(actor.carry_out(KEY, plan, desired))
    return [(type_, reason, note) for _, type_, reason, note, _ in events.pending.items]


def _pod(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": {"containers": [{"name": "ray"}]}}


def test_every_created_pod_gets_kuberays_created_event() -> None:
    workers = ((WorkerSlot("g", 0), _pod("rc-g-worker-a")), (WorkerSlot("g", 1), _pod("rc-g-worker-b")))
    desired = DesiredCluster((), _pod("rc-head"), workers)
    assert _run(Plan(create_head=True), desired) == [
        ("Normal", "CreatedHeadPod", "Created head Pod ns/rc-head"),
        ("Normal", "CreatedWorkerPod", "Created worker Pod ns/rc-g-worker-a"),
        ("Normal", "CreatedWorkerPod", "Created worker Pod ns/rc-g-worker-b"),
    ]


def test_a_suspension_deletes_all_pods_under_one_deleted_pod_event() -> None:
    pods = [make_pod("h"), make_pod("w1", group="g"), make_pod("w2", group="g")]
    cluster = make_cluster("rc").worker_group("g").suspend().conditions(RayClusterSuspending=True).obj()
    plan = plan_pods(cluster, pods)
    assert {d.cause for d in plan.deletions} == {Cause.SUSPENDING}
    assert _run(plan, DesiredCluster((), None, ()), pods) == [
        ("Normal", "DeletedPod", "Deleted Pods for RayCluster ns/rc due to suspension")
    ]


def test_an_unhealthy_worker_is_deleted_with_its_state_in_the_event() -> None:
    dead = make_pod("w1", group="g", phase="Failed")
    plan = Plan(deletions=[Deletion("g", "w1", "failed", state=state_summary(dead))])
    assert _run(plan, DesiredCluster((), None, ()), [dead]) == [
        (
            "Normal",
            "DeletedWorkerPod",
            "Deleted worker Pod ns/w1; Pod status: Failed; Pod restart policy: ; Ray container terminated status: nil",
        )
    ]


def test_workers_to_delete_and_scale_down_use_kuberays_two_spellings() -> None:
    pods = [make_pod("w1", group="g"), make_pod("w2", group="g")]
    plan = Plan(
        deletions=[Deletion("g", "w1", "x", Cause.WORKERS_TO_DELETE), Deletion("g", "w2", "y", Cause.SCALE_DOWN)]
    )
    assert _run(plan, DesiredCluster((), None, ()), pods) == [
        ("Normal", "DeletedWorkerPod", "Deleted pod ns/w1"),
        ("Normal", "DeletedWorkerPod", "Deleted Pod ns/w2"),
    ]


def test_a_suspended_worker_group_gets_one_event() -> None:
    pods = [make_pod("w1", group="g"), make_pod("w2", group="g")]
    plan = Plan(deletions=[Deletion("g", n, "s", Cause.GROUP_SUSPENDED) for n in ("w1", "w2")])
    assert _run(plan, DesiredCluster((), None, ()), pods) == [
        ("Normal", "DeletedWorkerPod", "Deleted all pods for suspended worker group g in RayCluster ns/rc")
    ]


def test_a_terminated_ray_container_prints_as_go_does() -> None:
    pod = make_pod("h", restart_policy="Never", terminated=True)
    assert state_summary(pod) == (
        "Pod status: Running; Pod restart policy: Never; Ray container terminated status: "
        "&ContainerStateTerminated{ExitCode:1,Signal:0,Reason:Error,Message:,"
        "StartedAt:0001-01-01 00:00:00 +0000 UTC,FinishedAt:0001-01-01 00:00:00 +0000 UTC,ContainerID:,}"
    )


def test_a_failed_create_is_a_warning_and_a_replica_failure_joined_as_go_joins_errors() -> None:
    api = FakeApi()
    api.put(POD, _pod("rc-head"))
    cluster = make_cluster("rc").obj()
    events = ObjectEvents({"metadata": {"name": "rc"}}, PendingEvents(None))  # type: ignore[arg-type]
    actor = PodActor(api, cluster, ScaleExpectations(api.informers.pods.store), events)  # type: ignore[arg-type]
    failure = asyncio.run(actor.carry_out(KEY, Plan(create_head=True), DesiredCluster((), _pod("rc-head"), ())))
    assert failure is not None and (failure.reason, failure.message) == (
        "FailedCreateHeadPod",
        "FailedCreateHeadPod\nrc-head exists",
    )
    assert [(t, r, n) for _, t, r, n, _ in events.pending.items] == [
        ("Warning", "FailedToCreateHeadPod", "Failed to create head Pod ns/rc-head, rc-head exists")
    ]
