"""The RayService decision and status as pure functions: a snapshot in, actions, status and Events out."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from raykube.api.cluster_options import ClusterUpgradeStrategy
from raykube.api.defaults import apply_crd_defaults
from raykube.api.rayservice import RayService, RayServiceStatuses
from raykube.builders import parents
from raykube.builders.settings import OperatorSettings
from raykube.controllers.event import Event
from raykube.controllers.rayservice import actions as a
from raykube.controllers.rayservice import status as st
from raykube.controllers.rayservice.plan import Decision, RayServiceSettings, Snapshot, decide, parse_duration
from raykube.controllers.rayservice.reconciler import cluster_suffix
from raykube.controllers.rayservice.serve import Applied, ClusterServe
from raykube.ray.serve import ServeInstanceDetails

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
CONFIG = "applications:\n- name: fruit\n  import_path: fruit.app\n"
SETTINGS = RayServiceSettings(dashboard_url_override="http://127.0.0.1:9999")


def service(*, env: str = "1", config: str = CONFIG, **spec: Any) -> RayService:
    container = {"name": "ray-head", "image": "rayproject/ray:2.52.0", "env": [{"name": "V", "value": env}]}
    worker = {"name": "ray-worker", "image": "rayproject/ray:2.52.0"}
    body = {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": {
            "name": "svc",
            "namespace": "ns",
            "uid": "svc-uid",
            "generation": 3,
            "creationTimestamp": "2026-01-01T11:00:00Z",
            "finalizers": ["ray.io/rayservice-finalizer"],
        },
        "spec": {
            "serveConfigV2": config,
            **spec,
            "rayClusterConfig": {
                "headGroupSpec": {"rayStartParams": {}, "template": {"spec": {"containers": [container]}}},
                "workerGroupSpecs": [
                    {
                        "groupName": "w",
                        "replicas": 1,
                        "rayStartParams": {},
                        "template": {"spec": {"containers": [worker]}},
                    }
                ],
            },
        },
    }
    return apply_crd_defaults(RayService.model_validate(body))


def cluster(svc: RayService, name: str, *, head_ready: bool = True) -> dict[str, Any]:
    body = parents.build_service_cluster(svc, cluster_name=name, settings=OperatorSettings())
    condition = {
        "type": "HeadPodReady",
        "status": "True" if head_ready else "False",
        "reason": "HeadPodRunningAndReady",
    }
    return {**body, "status": {"state": "ready", "conditions": [condition]}}


def head(name: str, *, uid: str = "head-uid", serve: str = "false") -> dict[str, Any]:
    return {
        "metadata": {"name": f"{name}-head", "uid": uid, "labels": {"ray.io/serve": serve}},
        "status": {"podIP": "10.0.0.5"},
    }


def running(config: str = CONFIG, uid: str = "head-uid", status: str = "RUNNING") -> ClusterServe:
    apps = ServeInstanceDetails.model_validate(
        {
            "applications": {
                "fruit": {
                    "status": status,
                    "message": "boom" if status != "RUNNING" else "",
                    "deployments": {"Stand": {"status": "HEALTHY"}},
                }
            }
        }
    )
    return ClusterServe(apps=apps, applied=Applied(config, uid), proxies=(("10.0.0.5", True),))


def snap(svc: RayService, *, active: str = "", pending: str = "", **kwargs: Any) -> Snapshot:
    status: dict[str, Any] = dict(kwargs.pop("status", {}))
    if active:
        status["activeServiceStatus"] = {"rayClusterName": active}
    if pending:
        status["pendingServiceStatus"] = {"rayClusterName": pending}
    finalizers = tuple(svc.metadata.get("finalizers") or ())
    return Snapshot(
        svc=svc,
        status=RayServiceStatuses.model_validate(status),  # as the API server hands it back
        now=NOW,
        settings=SETTINGS,
        operator=OperatorSettings(),
        finalizers=finalizers,
        suffix="zzzzz",
        **kwargs,
    )


def compute_json(s: Snapshot, d: Decision, *, endpoints: int) -> tuple[dict[str, Any], list[Event]]:
    """The status as it is written (JSON), and the Events."""
    new, events = st.compute(s, d, endpoints=endpoints)
    return new.to_json(), events


def of(kind: type, actions: tuple[a.Action, ...]) -> list[Any]:
    return [x for x in actions if isinstance(x, kind)]


def test_a_new_rayservice_creates_its_first_cluster_as_pending() -> None:
    d = decide(snap(service()))
    (create,) = of(a.CreateCluster, d.actions)
    assert create.body["metadata"]["name"] == "svc-zzzzz" and d.pending == "svc-zzzzz" and not d.active
    assert create.body["metadata"]["labels"]["ray.io/originated-from-crd"] == "RayService"


def test_the_config_is_put_to_a_ready_head_once_and_not_again() -> None:
    svc = service()
    clusters, heads = {"svc-aaaaa": cluster(svc, "svc-aaaaa")}, {"svc-aaaaa": head("svc-aaaaa")}
    first = decide(snap(svc, pending="svc-aaaaa", clusters=clusters, heads=heads))
    (deploy,) = of(a.DeployConfig, first.actions)
    assert deploy.config == {"applications": [{"name": "fruit", "import_path": "fruit.app"}]}
    assert deploy.endpoint.url == "http://127.0.0.1:9999"
    assert deploy.endpoint.host == "svc-aaaaa-head-svc.ns.svc.cluster.local:8265"
    again = decide(snap(svc, active="svc-aaaaa", clusters=clusters, heads=heads, serve={"svc-aaaaa": running()}))
    assert not of(a.DeployConfig, again.actions) and of(a.PollApplications, again.actions)


@pytest.mark.parametrize(
    ("serve", "why"),
    [
        pytest.param(running(config="old"), "config changed", id="config-changed"),
        pytest.param(running(uid="old-head"), "head restarted", id="head-restarted"),
    ],
)
def test_the_config_is_put_again_when_it_or_the_head_changed(serve: ClusterServe, why: str) -> None:
    svc = service()
    d = decide(
        snap(
            svc,
            active="svc-aaaaa",
            clusters={"svc-aaaaa": cluster(svc, "svc-aaaaa")},
            heads={"svc-aaaaa": head("svc-aaaaa")},
            serve={"svc-aaaaa": serve},
        )
    )
    assert len(of(a.DeployConfig, d.actions)) == 1, why


def test_no_config_goes_to_a_head_that_is_not_ready() -> None:
    svc = service()
    d = decide(
        snap(
            svc,
            pending="svc-aaaaa",
            clusters={"svc-aaaaa": cluster(svc, "svc-aaaaa", head_ready=False)},
            heads={"svc-aaaaa": head("svc-aaaaa")},
        )
    )
    assert not of(a.DeployConfig, d.actions) and not of(a.ApplyService, d.actions)


def test_a_pending_cluster_whose_apps_run_gets_the_services_and_is_promoted() -> None:
    svc = service()
    clusters = {"svc-aaaaa": cluster(svc, "svc-aaaaa")}
    d = decide(
        snap(
            svc,
            pending="svc-aaaaa",
            clusters=clusters,
            heads={"svc-aaaaa": head("svc-aaaaa")},
            serve={"svc-aaaaa": running()},
        )
    )
    assert (d.active, d.pending, d.promoted) == ("svc-aaaaa", "", True)
    names = sorted(x.body["metadata"]["name"] for x in of(a.ApplyService, d.actions))
    assert names == ["svc-head-svc", "svc-serve-svc"]
    assert of(a.LabelHeadPod, d.actions) == [a.LabelHeadPod("svc-aaaaa-head", "true")]


def test_an_app_not_running_keeps_the_cluster_pending() -> None:
    svc = service()
    d = decide(
        snap(
            svc,
            pending="svc-aaaaa",
            clusters={"svc-aaaaa": cluster(svc, "svc-aaaaa")},
            heads={"svc-aaaaa": head("svc-aaaaa")},
            serve={"svc-aaaaa": running(status="DEPLOYING")},
        )
    )
    assert (d.active, d.pending, d.promoted) == ("", "svc-aaaaa", False) and not of(a.ApplyService, d.actions)


def test_only_a_cluster_spec_change_makes_a_new_cluster_and_only_with_newcluster() -> None:
    old = service()
    clusters = {"svc-aaaaa": cluster(old, "svc-aaaaa")}
    rescaled = service()
    rescaled.spec.ray_cluster_config.worker_group_specs[0].replicas = 5  # type: ignore[index]
    for svc, new_cluster in (
        (rescaled, False),
        (service(config="applications: []\n"), False),
        (service(env="2"), True),
        (service(env="2", upgradeStrategy={"type": "None"}), False),
    ):
        d = decide(
            snap(
                svc,
                active="svc-aaaaa",
                clusters=clusters,
                heads={"svc-aaaaa": head("svc-aaaaa")},
                serve={"svc-aaaaa": running()},
            )
        )
        assert bool(of(a.CreateCluster, d.actions)) is new_cluster
        assert d.pending == ("svc-zzzzz" if new_cluster else "")


def _serving(svc: RayService, clusters: dict[str, Any], **kwargs: Any) -> Decision:
    return decide(snap(svc, active="svc-aaaaa", clusters=clusters, heads={"svc-aaaaa": head("svc-aaaaa")},
                       serve={"svc-aaaaa": running()}, **kwargs))


def test_a_suspend_toggle_updates_the_active_cluster_in_place() -> None:
    clusters = {"svc-aaaaa": cluster(service(), "svc-aaaaa")}
    suspended = service()
    suspended.spec.ray_cluster_config.suspend = True
    d = _serving(suspended, clusters)
    (update,) = of(a.UpdateCluster, d.actions)
    assert (update.role, update.body["metadata"]["name"], update.body["spec"]["suspend"]) == ("active", "svc-aaaaa",
                                                                                            True)
    assert not of(a.CreateCluster, d.actions) and d.pending == ""
    # once updated (its annotations now carry the new hash), nothing more happens
    assert not of(a.UpdateCluster, _serving(suspended, {"svc-aaaaa": cluster(suspended, "svc-aaaaa")}).actions)


def test_worker_groups_appended_update_the_cluster_in_place_and_any_other_change_makes_a_new_one() -> None:
    clusters = {"svc-aaaaa": cluster(service(), "svc-aaaaa")}
    grown = service()
    groups = grown.spec.ray_cluster_config.worker_group_specs or []
    groups.append(groups[0].model_copy(update={"group_name": "extra"}))
    d = _serving(grown, clusters)
    (update,) = of(a.UpdateCluster, d.actions)
    assert [g["groupName"] for g in update.body["spec"]["workerGroupSpecs"]] == ["w", "extra"]
    assert update.body["metadata"]["annotations"]["ray.io/num-worker-groups"] == "2"
    assert not of(a.CreateCluster, d.actions)
    # a group removed, or a group changed besides the one appended: a new cluster, no update
    for changed in (service(env="2"), _without_groups(service())):
        d = _serving(changed, clusters)
        assert not of(a.UpdateCluster, d.actions) and len(of(a.CreateCluster, d.actions)) == 1


def _without_groups(svc: RayService) -> RayService:
    svc.spec.ray_cluster_config.worker_group_specs = []
    return svc


def test_tolerations_scheduling_gates_and_the_upgrade_strategy_never_make_a_new_cluster() -> None:
    clusters = {"svc-aaaaa": cluster(service(), "svc-aaaaa")}
    admitted = service()
    config = admitted.spec.ray_cluster_config
    for template in (config.head_group_spec.template, *(g.template for g in config.worker_group_specs or [])):
        pod = template["spec"]
        pod["tolerations"] = [{"key": "kueue", "operator": "Exists"}]
        pod["schedulingGates"] = [{"name": "kueue.x-k8s.io/admission"}]
    config.upgrade_strategy = ClusterUpgradeStrategy.model_validate({"type": "Recreate"})
    assert "tolerations" in config.to_json()["headGroupSpec"]["template"]["spec"]
    d = _serving(admitted, clusters)
    assert not of(a.CreateCluster, d.actions) and not of(a.UpdateCluster, d.actions)


def test_a_cluster_of_another_operator_version_is_updated_unless_an_upgrade_is_in_progress() -> None:
    old = cluster(service(), "svc-aaaaa")
    old["metadata"]["annotations"]["ray.io/kuberay-version"] = "v1.5.0"
    d = _serving(service(), {"svc-aaaaa": old})
    (update,) = of(a.UpdateCluster, d.actions)
    assert update.body["metadata"]["annotations"]["ray.io/kuberay-version"] == OperatorSettings().kuberay_version
    upgrading = _serving(service(env="2"), {"svc-aaaaa": old, "svc-bbbbb": cluster(service(env="2"), "svc-bbbbb")},
                         pending="svc-bbbbb")
    assert not of(a.UpdateCluster, upgrading.actions)


def test_traffic_moves_to_the_pending_cluster_only_once_its_head_is_in_the_serve_service() -> None:
    old, svc = service(), service(env="2")
    clusters = {"svc-aaaaa": cluster(old, "svc-aaaaa"), "svc-bbbbb": cluster(svc, "svc-bbbbb")}
    serve = {"svc-aaaaa": running(), "svc-bbbbb": running()}

    def upgrade(new_head_label: str) -> Decision:
        heads = {"svc-aaaaa": head("svc-aaaaa", serve="true"), "svc-bbbbb": head("svc-bbbbb", serve=new_head_label)}
        return decide(snap(svc, active="svc-aaaaa", pending="svc-bbbbb", clusters=clusters, heads=heads, serve=serve))

    # Applications RUNNING, proxy healthy, but the label is not on the pod yet: the label first, traffic stays.
    first = upgrade("false")
    assert (first.active, first.pending, first.promoted) == ("svc-aaaaa", "svc-bbbbb", False)
    assert of(a.LabelHeadPod, first.actions) == [a.LabelHeadPod("svc-bbbbb-head", "true")]
    assert {x.body["spec"]["selector"]["ray.io/cluster"] for x in of(a.ApplyService, first.actions)} == {"svc-aaaaa"}
    # The next pass sees the label: the Services switch and the pending cluster is promoted.
    second = upgrade("true")
    assert (second.active, second.pending, second.promoted) == ("svc-bbbbb", "", True)
    selectors = {x.body["metadata"]["name"]: x.body["spec"]["selector"] for x in of(a.ApplyService, second.actions)}
    assert selectors["svc-serve-svc"] == {"ray.io/cluster": "svc-bbbbb", "ray.io/serve": "true"}


def test_the_old_cluster_is_deleted_only_after_the_delay() -> None:
    svc = service(rayClusterDeletionDelaySeconds=30)
    clusters = {n: cluster(svc, n) for n in ("svc-aaaaa", "svc-bbbbb")}
    common: dict[str, Any] = dict(
        active="svc-bbbbb", clusters=clusters, heads={"svc-bbbbb": head("svc-bbbbb")}, serve={"svc-bbbbb": running()}
    )
    first = decide(snap(svc, **common))
    assert not of(a.DeleteCluster, first.actions) and first.dangling == {"svc-aaaaa": NOW}
    assert first.requeue_after is not None and first.requeue_after <= 2
    later = decide(snap(svc, dangling_since={"svc-aaaaa": NOW - dt.timedelta(seconds=31)}, **common))
    assert [x.name for x in of(a.DeleteCluster, later.actions)] == ["svc-aaaaa"]


def test_suspend_deletes_everything_and_deletion_removes_the_finalizer_last() -> None:
    svc = service(suspend=True)
    clusters = {"svc-aaaaa": cluster(svc, "svc-aaaaa")}
    d = decide(snap(svc, active="svc-aaaaa", clusters=clusters, serve_svc={"metadata": {"name": "svc-serve-svc"}}))
    assert d.suspended and [x.name for x in of(a.DeleteCluster, d.actions)] == ["svc-aaaaa"]
    assert [x.name for x in of(a.DeleteService, d.actions)] == ["svc-serve-svc"]
    gone = decide(snap(service(), clusters=clusters, deleting=True))
    assert isinstance(gone.actions[-1], a.RemoveFinalizer) and of(a.DeleteCluster, gone.actions)


def test_an_invalid_spec_is_terminal_with_a_warning() -> None:
    d = decide(snap(service(), problems=("spec.upgradeStrategy.type value X is invalid",)))
    assert d.terminal == ("ValidationFailed", "spec.upgradeStrategy.type value X is invalid")
    assert (d.events[0].type, d.events[0].reason) == ("Warning", "InvalidRayServiceSpec") and d.requeue_after is None


def test_a_validation_message_past_the_condition_limit_is_cut_so_the_status_can_be_written() -> None:
    # Found by the chaos run: a 100 KiB value echoed in the message made every status write fail with 422.
    problem = "spec.x: " + "€" * 40_000
    s = snap(service(), problems=(problem,))
    new, events = compute_json(s, decide(s), endpoints=0)
    ready = next(c for c in new["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ValidationFailed")
    assert ready["message"] == "spec.x: " + "€" * 10_920  # 8 + 10,920 * 3 = 32,768 bytes
    assert events and events[0].reason == "ValidationFailed"


def test_the_initializing_timeout_tears_down_and_sticks() -> None:
    svc = service()
    svc.metadata["annotations"] = {"ray.io/initializing-timeout": "30m"}
    clusters = {"svc-aaaaa": cluster(svc, "svc-aaaaa")}
    d = decide(snap(svc, pending="svc-aaaaa", clusters=clusters))
    assert d.terminal is not None and d.terminal[0] == "InitializingTimeout" and of(a.DeleteCluster, d.actions)
    svc.metadata["annotations"] = {"ray.io/initializing-timeout": "2h"}
    assert decide(snap(svc, pending="svc-aaaaa", clusters=clusters)).terminal is None


def test_go_durations_and_seconds() -> None:
    assert parse_duration("1h30m") == 5400 and parse_duration("90") == 90 and parse_duration("500ms") == 0.5
    assert parse_duration("") is None and parse_duration("soon") is None and parse_duration("0") is None


def test_status_reports_apps_endpoints_and_conditions_with_events() -> None:
    svc = service()
    s = snap(
        svc,
        pending="svc-aaaaa",
        clusters={"svc-aaaaa": cluster(svc, "svc-aaaaa")},
        heads={"svc-aaaaa": head("svc-aaaaa")},
        serve={"svc-aaaaa": running()},
    )
    new, events = compute_json(s, decide(s), endpoints=2)
    assert new["activeServiceStatus"]["applicationStatuses"] == {
        "fruit": {"status": "RUNNING", "serveDeploymentStatuses": {"Stand": {"status": "HEALTHY"}}}
    }
    assert "pendingServiceStatus" not in new and new["numServeEndpoints"] == 2 and new["serviceStatus"] == "Running"
    conditions = {c["type"]: (c["status"], c["reason"]) for c in new["conditions"]}
    assert conditions == {
        "Ready": ("True", "NonZeroServeEndpoints"),
        "UpgradeInProgress": ("False", "NoPendingCluster"),
    }
    assert new["observedGeneration"] == 3 and new["lastUpdateTime"] == "2026-01-01T12:00:00Z"
    assert [(e.type, e.reason) for e in events] == [("Normal", "NonZeroServeEndpoints")]
    dropped, events = compute_json(
        snap(
            svc,
            active="svc-aaaaa",
            status=new,
            clusters=s.clusters,
            heads=s.heads,
            serve={"svc-aaaaa": running(status="DEPLOY_FAILED")},
        ),
        decide(snap(svc, active="svc-aaaaa", status=new, clusters=s.clusters)),
        endpoints=0,
    )
    assert [(c["status"], c["reason"]) for c in dropped["conditions"] if c["type"] == "Ready"] == [
        ("False", "ZeroServeEndpoints")
    ]
    assert ("Warning", "ServeApplicationUnhealthy") in [(e.type, e.reason) for e in events]
    assert any("fruit" in note and "DEPLOY_FAILED: boom" in note for note in (e.message for e in events))
    # KubeRay's omitempty: no endpoint and not Running leave both fields out (blank `kubectl get` cells)
    assert "numServeEndpoints" not in dropped and "serviceStatus" not in dropped


def test_both_clusters_mean_an_upgrade_in_progress() -> None:
    svc = service(env="2")
    old = cluster(service(), "svc-aaaaa")
    s = snap(
        svc,
        active="svc-aaaaa",
        clusters={"svc-aaaaa": old},
        heads={"svc-aaaaa": head("svc-aaaaa")},
        serve={"svc-aaaaa": running()},
    )
    new, _ = compute_json(s, decide(s), endpoints=1)
    assert new["pendingServiceStatus"]["rayClusterName"] == "svc-zzzzz"
    assert [(c["status"], c["reason"]) for c in new["conditions"] if c["type"] == "UpgradeInProgress"] == [
        ("True", "BothActivePendingClustersExist")
    ]


def test_endpoints_count_distinct_ready_pods() -> None:
    slices = [
        {
            "endpoints": [
                {"targetRef": {"uid": "a"}, "conditions": {"ready": True}},
                {"targetRef": {"uid": "b"}, "conditions": {"ready": False}},
            ]
        },
        {"endpoints": [{"targetRef": {"uid": "a"}, "conditions": {"ready": True}}]},
    ]
    assert st.count_serve_endpoints(slices) == 1


def test_without_zero_downtime_an_unset_strategy_never_makes_a_new_cluster() -> None:
    clusters = {"svc-aaaaa": cluster(service(), "svc-aaaaa")}
    s = snap(
        service(env="2"),
        active="svc-aaaaa",
        clusters=clusters,
        heads={"svc-aaaaa": head("svc-aaaaa")},
        serve={"svc-aaaaa": running()},
    )
    assert of(a.CreateCluster, decide(s).actions)
    off = dataclasses.replace(s, settings=RayServiceSettings(zero_downtime=False))
    assert not of(a.CreateCluster, decide(off).actions) and decide(off).pending == ""


def test_serve_calls_go_through_the_api_server_with_the_kubernetes_proxy() -> None:
    svc = service()
    proxied = RayServiceSettings(kubernetes_proxy_base="https://127.0.0.1:6443")
    s = dataclasses.replace(
        snap(
            svc,
            active="svc-aaaaa",
            clusters={"svc-aaaaa": cluster(svc, "svc-aaaaa")},
            heads={"svc-aaaaa": head("svc-aaaaa")},
        ),
        settings=proxied,
    )
    actions = decide(s).actions
    (poll,) = of(a.PollApplications, actions)
    (check,) = of(a.CheckProxy, actions)
    base = "https://127.0.0.1:6443/api/v1/namespaces/ns"
    assert poll.endpoint.url == f"{base}/services/svc-aaaaa-head-svc:dashboard/proxy" and poll.endpoint.host is None
    assert check.endpoint.url == f"{base}/pods/svc-aaaaa-head:8000/proxy" and check.pod_ip == "10.0.0.5"
    direct = decide(dataclasses.replace(s, settings=RayServiceSettings())).actions
    assert of(a.CheckProxy, direct)[0].endpoint.url == "http://10.0.0.5:8000"
    assert of(a.PollApplications, direct)[0].endpoint.url == "http://svc-aaaaa-head-svc.ns.svc.cluster.local:8265"


def test_a_cluster_created_by_a_pass_whose_status_write_never_happened_is_named_again_not_duplicated() -> None:
    obj = service().model_dump(by_alias=True, exclude_none=True)
    obj["metadata"]["generation"] = 3
    assert cluster_suffix(obj) == cluster_suffix(obj)  # the retry of the same spec names the same cluster
    changed = {**obj, "metadata": {**obj["metadata"], "generation": 4}}
    assert cluster_suffix(changed) != cluster_suffix(obj)  # a new spec, a new cluster
    # The first pass created svc-<suffix>, then failed (e.g. a Gateway refused): no status names the cluster.
    svc = service()
    orphan = f"svc-{cluster_suffix(obj)}"
    d = decide(dataclasses.replace(snap(svc, clusters={orphan: cluster(svc, orphan, head_ready=False)}),
                                   suffix=cluster_suffix(obj)))
    assert not of(a.CreateCluster, d.actions) and d.pending == orphan
    assert not of(a.DeleteCluster, d.actions)
