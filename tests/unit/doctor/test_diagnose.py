"""The doctor's rules as pure functions: API objects in, findings out (no cluster)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from raykube.doctor.diagnose import diagnose
from raykube.doctor.snapshot import OperatorView, Snapshot

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def stamp(seconds_ago: float) -> str:
    return (NOW - dt.timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def live_lease(holder: str = "op-1", renewed_ago: float = 2) -> dict[str, Any]:
    return {"metadata": {"name": "ray-operator-leader", "namespace": "kube-system"},
            "spec": {"holderIdentity": holder, "renewTime": stamp(renewed_ago), "leaseDurationSeconds": 15}}


OPERATOR = OperatorView(leases=(live_lease(),))


def cluster(name: str = "rc", state: str = "ready", **status: Any) -> dict[str, Any]:
    return {"kind": "RayCluster", "metadata": {"name": name, "namespace": "ns", "creationTimestamp": stamp(300)},
            "spec": {}, "status": {"state": state, **status}}


def pod(name: str, *, role: str = "worker", phase: str = "Running", conditions: list[dict[str, Any]] | None = None,
        containers: list[dict[str, Any]] | None = None, init: list[dict[str, Any]] | None = None,
        spec: dict[str, Any] | None = None, cluster_name: str = "rc") -> dict[str, Any]:
    ready = [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}]
    return {"metadata": {"name": name, "namespace": "ns",
                         "labels": {"ray.io/cluster": cluster_name, "ray.io/node-type": role}},
            "spec": {"containers": [{"name": "ray", "resources": {"requests": {"cpu": "2"},
                                                                  "limits": {"memory": "1Gi"}}}], **(spec or {})},
            "status": {"phase": phase, "conditions": ready if conditions is None else conditions,
                       "containerStatuses": containers or [], "initContainerStatuses": init or []}}


def snap(obj: dict[str, Any], *pods: dict[str, Any], kind: str = "RayCluster", events: tuple[Any, ...] = (),
         quotas: tuple[Any, ...] = (), clusters: tuple[Any, ...] = (),
         operator: OperatorView = OPERATOR) -> Snapshot:
    return Snapshot(kind=kind, obj=obj, now=NOW, pods=pods, events=events, quotas=quotas, clusters=clusters,
                    operator=operator)


def codes(snapshot: Snapshot) -> list[str]:
    return [f.code for f in diagnose(snapshot)]


def unschedulable(message: str) -> list[dict[str, Any]]:
    return [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}]


def test_a_ready_cluster_with_ready_pods_is_healthy() -> None:
    assert diagnose(snap(cluster(), pod("h", role="head"), pod("w"))) == []


@pytest.mark.parametrize(("message", "code"), [
    pytest.param("0/2 nodes are available: 2 Insufficient cpu.", "pod-unschedulable-resources", id="resources"),
    pytest.param("0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
                 "pod-unschedulable-selector", id="selector"),
    pytest.param("0/2 nodes are available: 2 node(s) had untolerated taint {gpu: true}.",
                 "pod-unschedulable-taints", id="taints"),
    pytest.param("0/2 nodes are available: 2 node(s) had volume node affinity conflict.", "pod-unschedulable",
                 id="other"),
])
def test_the_schedulers_message_names_the_cause(message: str, code: str) -> None:
    pending = pod("w", phase="Pending", conditions=unschedulable(message))
    found = diagnose(snap(cluster(state=""), pod("h", role="head"), pending))
    assert [f.code for f in found] == [code]
    assert found[0].evidence[0] == f"PodScheduled=False (Unschedulable): {message}"
    assert found[0].subject == "worker pod ns/w"


def test_image_pull_failures_quote_the_kubelet() -> None:
    waiting = {"name": "ray", "image": "nope:1", "state": {"waiting": {"reason": "ImagePullBackOff",
                                                                       "message": "Back-off pulling image"}}}
    found = diagnose(snap(cluster(state=""), pod("w", phase="Pending", containers=[waiting])))
    assert [f.code for f in found] == ["image-pull-failed"]
    assert "'nope:1'" in found[0].summary and "Back-off pulling image" in found[0].evidence[0]


def test_oomkilled_wins_over_the_crash_loop_it_causes() -> None:
    status = {"name": "ray", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
              "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}
    found = diagnose(snap(cluster(), pod("w", containers=[status])))
    assert [f.code for f in found] == ["container-oomkilled"]
    assert found[0].evidence[1] == "memory limits: {'ray': '1Gi'}"


def test_a_plain_crash_loop_points_at_the_previous_log() -> None:
    status = {"name": "ray", "restartCount": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
              "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}}
    found = diagnose(snap(cluster(), pod("w", containers=[status])))
    assert [f.code for f in found] == ["container-crashloop"]
    assert "--previous" in found[0].fix and "exit code 1" in found[0].evidence[1]


def test_workers_waiting_for_gcs_only_after_a_while() -> None:
    def waiting(started_ago: float) -> dict[str, Any]:
        return pod("w", phase="Pending", conditions=[{"type": "Initialized", "status": "False"}],
                   init=[{"name": "wait-gcs-ready", "state": {"running": {"startedAt": stamp(started_ago)}}}])

    assert codes(snap(cluster(), waiting(60))) == ["worker-waiting-for-gcs"]
    assert codes(snap(cluster(), waiting(2))) == []


def test_an_unready_head_quotes_probe_events() -> None:
    head = pod("h", role="head", conditions=[{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}])
    probe = {"type": "Warning", "reason": "Unhealthy", "message": "Readiness probe failed: timeout", "count": 4,
             "involvedObject": {"kind": "Pod", "name": "h"}}
    found = diagnose(snap(cluster(state=""), head, events=(probe,)))
    assert [f.code for f in found] == ["head-not-ready"]
    assert "Event Warning Unhealthy (x4): Readiness probe failed: timeout" in found[0].evidence


def test_a_quota_refusal_names_the_full_quota() -> None:
    event = {"type": "Warning", "reason": "FailedToCreateWorkerPod", "involvedObject": {"name": "rc"},
             "message": 'pods "rc-w-1" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, '
                        "limited: pods=2"}
    quota = {"metadata": {"name": "q"},
             "status": {"hard": {"pods": "2", "cpu": "10"}, "used": {"pods": "2", "cpu": "4"}}}
    found = diagnose(snap(cluster(state=""), events=(event,), quotas=(quota,)))
    assert [f.code for f in found] == ["pod-creation-quota"]
    assert found[0].evidence[-1] == "ResourceQuota q: pods used 2 of 2"


def test_rbac_and_webhook_refusals_are_told_apart() -> None:
    def refused(message: str) -> list[str]:
        event = {"type": "Warning", "reason": "FailedToCreateHeadPod", "involvedObject": {"name": "rc"},
                 "message": message}
        return codes(snap(cluster(state=""), events=(event,)))

    assert refused('pods is forbidden: User "system:serviceaccount:x:y" cannot create resource "pods"') == [
        "pod-creation-forbidden"]
    assert refused('admission webhook "policy.example" denied the request: no root') == ["pod-creation-rejected"]
    policy = ('pods "rc-w-1" is forbidden: ValidatingAdmissionPolicy \'no-gpu\' with binding \'no-gpu\' denied '
              'request: no GPUs here')
    assert refused(policy) == ["pod-creation-rejected"]


def test_no_operator_when_the_lease_is_released_or_stale() -> None:
    for lease in (live_lease(holder=""), live_lease(renewed_ago=120)):
        assert codes(snap(cluster(), operator=OperatorView(leases=(lease,)))) == ["operator-not-running"]
    assert codes(snap(cluster(), operator=OperatorView())) == ["operator-not-running"]


def test_unknown_operator_state_is_not_reported() -> None:
    unreadable = Snapshot(kind="RayCluster", obj=cluster(), now=NOW, operator_known=False)
    assert diagnose(unreadable) == []


def test_a_chart_operator_watching_other_namespaces() -> None:
    deployment = {"metadata": {"name": "kuberay-operator", "namespace": "ray-system"}, "status": {"readyReplicas": 1},
                  "spec": {"template": {"spec": {"containers": [{"name": "op", "args": ["--watch-namespace=a,b"]}]}}}}
    found = diagnose(snap(cluster(), operator=OperatorView(deployments=(deployment,))))
    assert [f.code for f in found] == ["operator-not-watching-namespace"]
    assert found[0].evidence == ("Deployment ray-system/kuberay-operator: --watch-namespace=a,b",)


def test_an_object_the_running_operator_never_touched() -> None:
    fresh = cluster()
    fresh.pop("status")
    assert codes(snap(fresh)) == ["operator-not-reconciling"]
    fresh["metadata"]["creationTimestamp"] = stamp(3)
    assert codes(snap(fresh)) == []


def test_a_rayjob_waiting_for_a_sick_cluster() -> None:
    job = {"metadata": {"name": "job", "namespace": "ns", "creationTimestamp": stamp(60)},
           "status": {"jobDeploymentStatus": "Initializing", "rayClusterName": "job-abc"}}
    head = pod("h", role="head", cluster_name="job-abc",
               conditions=[{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}])
    found = diagnose(snap(job, head, kind="RayJob", clusters=(cluster("job-abc", state=""),)))
    assert [f.code for f in found] == ["rayjob-stuck-initializing", "head-not-ready"]
    assert found[0].evidence[0] == "jobDeploymentStatus: Initializing; RayCluster job-abc: not ready"


def test_a_failed_submitter_pod_and_a_dead_dashboard() -> None:
    job = {"metadata": {"name": "job", "namespace": "ns", "creationTimestamp": stamp(60)},
           "status": {"jobDeploymentStatus": "Running", "rayClusterName": "job-abc",
                      "jobStatusCheckFailureStartTime": stamp(30)}}
    submitter = pod("job-x", phase="Failed", cluster_name="", containers=[
        {"name": "ray-job-submitter", "state": {"terminated": {"reason": "Error", "exitCode": 1}}}])
    submitter["metadata"]["labels"] = {"batch.kubernetes.io/job-name": "job"}
    found = diagnose(snap(job, submitter, kind="RayJob", clusters=(cluster("job-abc"),)))
    assert [f.code for f in found] == ["rayjob-dashboard-unreachable", "rayjob-submitter-failed"]
    assert found[1].evidence == ("container ray-job-submitter: terminated Error, exit code 1, restarts 0",)


def test_failing_serve_applications() -> None:
    service = {"metadata": {"name": "svc", "namespace": "ns", "creationTimestamp": stamp(60)},
               "status": {"activeServiceStatus": {"rayClusterName": "svc-1", "applicationStatuses": {
                   "app": {"status": "DEPLOY_FAILED", "message": "ModuleNotFoundError: no module named 'x'"}}}}}
    found = diagnose(snap(service, kind="RayService", clusters=(cluster("svc-1"),)))
    assert [f.code for f in found] == ["serve-application-failing"]
    assert "ModuleNotFoundError" in found[0].evidence[0]


def autoscaling_cluster() -> dict[str, Any]:
    obj = cluster()
    obj["spec"] = {"enableInTreeAutoscaling": True}
    return obj


ROLE: dict[str, Any] = {"metadata": {"name": "rc"}, "rules": [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "patch"]},
    {"apiGroups": ["ray.io"], "resources": ["rayclusters"], "verbs": ["get", "patch"]}]}
BINDING = {"metadata": {"name": "rc"}, "roleRef": {"kind": "Role", "name": "rc"}}


def test_autoscaler_rbac_in_place_is_healthy() -> None:
    healthy = Snapshot(kind="RayCluster", obj=autoscaling_cluster(), now=NOW, operator=OPERATOR, roles=(ROLE,),
                       role_bindings=(BINDING,))
    assert diagnose(healthy) == []


def test_a_removed_or_narrowed_autoscaler_role() -> None:
    removed = Snapshot(kind="RayCluster", obj=autoscaling_cluster(), now=NOW, operator=OPERATOR,
                       role_bindings=(BINDING,))
    found = diagnose(removed)
    assert [f.code for f in found] == ["autoscaler-rbac-missing"]
    assert found[0].evidence == ("Role ns/rc: not found",)
    narrow = {**ROLE, "rules": ROLE["rules"][:1]}
    found = diagnose(Snapshot(kind="RayCluster", obj=autoscaling_cluster(), now=NOW, operator=OPERATOR,
                              roles=(narrow,), role_bindings=(BINDING,)))
    assert found[0].evidence == ("Role ns/rc lacks rayclusters.ray.io: get, patch",)
    unknown = Snapshot(kind="RayCluster", obj=autoscaling_cluster(), now=NOW, operator=OPERATOR, rbac_known=False)
    assert diagnose(unknown) == []
