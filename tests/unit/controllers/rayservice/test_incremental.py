"""The step schedule of NewClusterWithIncrementalUpgrade (KubeRay v1.7.0's rules) as pure functions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from typing import Any

import pytest

from raykube.controllers.rayservice import actions as a
from raykube.controllers.rayservice import status as st
from raykube.controllers.rayservice.incremental import (
    Options,
    Share,
    Step,
    is_complete,
    next_capacity,
    next_traffic,
    schedule,
    seconds_to_next_traffic,
)
from raykube.controllers.rayservice.plan import Snapshot, decide
from raykube.controllers.rayservice.serve import Applied, ClusterServe
from tests.unit.controllers.rayservice.test_plan import CONFIG, cluster, head, running, service, snap

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def test_the_schedule_alternates_capacity_and_traffic_moves_until_all_traffic_moved() -> None:
    steps = schedule(Options(step=25, interval=1, max_surge=50))
    assert steps == [
        Step(100, 0, 100, 0),
        Step(100, 50, 100, 0),  # pending capacity up by maxSurge
        Step(100, 50, 75, 25),  # traffic in steps of stepSize, up to the pending capacity
        Step(100, 50, 50, 50),
        Step(50, 50, 50, 50),  # capacities add up to more than 100: active capacity down
        Step(50, 100, 50, 50),
        Step(50, 100, 25, 75),
        Step(50, 100, 0, 100),
        Step(0, 100, 0, 100),  # complete: active capacity 0, pending traffic 100
    ]


@pytest.mark.parametrize(("step", "surge"), [(100, 100), (10, 10), (5, 20), (30, 40), (1, 100), (7, 7), (33, 50)])
def test_every_schedule_keeps_the_invariants_and_completes(step: int, surge: int) -> None:
    steps = schedule(Options(step=step, interval=30, max_surge=surge))
    assert steps[0] == Step(100, 0, 100, 0) and steps[-1] == Step(0, 100, 0, 100)
    for before, after in itertools.pairwise(steps):
        assert after.active_traffic + after.pending_traffic == 100
        assert after.pending_traffic <= after.pending_capacity  # never more traffic than capacity
        assert after.active_capacity + after.pending_capacity <= 100 + surge  # the surge bound
        assert after.pending_traffic - before.pending_traffic in range(0, step + 1)
        assert after.active_capacity <= before.active_capacity and after.pending_capacity >= before.pending_capacity
        moved = [
            after.active_capacity != before.active_capacity,
            after.pending_capacity != before.pending_capacity,
            after.pending_traffic != before.pending_traffic,
        ]
        assert sum(moved) == 1  # one move at a time


def test_options_that_cannot_finish_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot complete"):
        schedule(Options(step=0, interval=1, max_surge=50))
    with pytest.raises(ValueError, match="cannot complete"):
        schedule(Options(step=10, interval=1, max_surge=0))


def test_traffic_waits_for_a_ready_pending_cluster_and_the_interval() -> None:
    options = Options(step=10, interval=30)
    active, pending = Share(100, 100), Share(40, 10, NOW - dt.timedelta(seconds=29))
    assert next_traffic(active, pending, options, now=NOW, pending_ready=True) == (100, 10)  # interval not over
    assert seconds_to_next_traffic(pending, options, now=NOW) == pytest.approx(1)
    later = NOW + dt.timedelta(seconds=1)
    assert next_traffic(active, pending, options, now=later, pending_ready=True) == (80, 20)
    assert next_traffic(active, pending, options, now=later, pending_ready=False) == (100, 10)
    capped = Share(15, 10, NOW - dt.timedelta(hours=1))
    assert next_traffic(active, capped, options, now=NOW, pending_ready=True) == (85, 15)  # never past capacity
    full = Share(15, 15, NOW - dt.timedelta(hours=1))
    assert next_traffic(Share(100, 85), full, options, now=NOW, pending_ready=True) == (85, 15)
    assert seconds_to_next_traffic(full, options, now=NOW) is None


def test_unset_shares_read_as_all_traffic_on_the_active_cluster() -> None:
    assert next_traffic(Share(), Share(), Options(step=10, interval=1), now=NOW, pending_ready=True) == (100, 0)
    assert next_capacity(Share(), Share(), Options(step=10, interval=1, max_surge=30)) == ("pending", 30)


def test_capacity_waits_for_traffic_to_catch_up() -> None:
    options = Options(step=10, interval=1, max_surge=30)
    assert next_capacity(Share(100, 80), Share(30, 20), options) is None
    assert next_capacity(Share(100, 70), Share(30, 30), options) == ("active", 70)
    assert next_capacity(Share(70, 70), Share(30, 30), options) == ("pending", 60)
    assert next_capacity(Share(10, 0), Share(100, 100), options) == ("active", 0)
    assert next_capacity(Share(0, 0), Share(100, 100), options) is None


def test_complete_means_active_capacity_zero_and_all_traffic_pending() -> None:
    assert is_complete(Share(0, 0), Share(100, 100))
    assert not is_complete(Share(10, 0), Share(100, 100)) and not is_complete(Share(0, 10), Share(100, 90))


# -- the RayService decision driving a whole upgrade against a simulated cluster ------------------------------


INCREMENTAL = {
    "type": "NewClusterWithIncrementalUpgrade",
    "clusterUpgradeOptions": {
        "gatewayClassName": "istio",
        "stepSizePercent": 25,
        "intervalSeconds": 2,
        "maxSurgePercent": 50,
    },
}


class World:
    """What the API server, the gateway controller and Serve would hold, changed by the decided actions."""

    def __init__(self, *, gateway_controller: bool = True) -> None:
        old = service(upgradeStrategy=INCREMENTAL)
        self.clusters = {"svc-aaaaa": cluster(old, "svc-aaaaa")}
        self.heads = {"svc-aaaaa": head("svc-aaaaa", uid="uid-a", serve="true")}
        self.serve = {"svc-aaaaa": _running("uid-a", 100)}
        self.status: dict[str, Any] = {
            "activeServiceStatus": {"rayClusterName": "svc-aaaaa", "targetCapacity": 100, "trafficRoutedPercent": 100}
        }
        self.routing: dict[str, dict[str, Any]] = {}
        self.serve_svcs: dict[str, dict[str, Any]] = {}
        self.gateway_controller = gateway_controller
        self.now = NOW
        self.dangling: dict[str, dt.datetime] = {}
        self.events: list[str] = []

    def snapshot(self, svc: Any) -> Snapshot:
        base = snap(svc, status=self.status, clusters=dict(self.clusters), heads=dict(self.heads))
        return Snapshot(
            **{
                **base.__dict__,
                "now": self.now,
                "serve": dict(self.serve),
                "gateway": self.routing.get("Gateway"),
                "httproute": self.routing.get("HTTPRoute"),
                "cluster_serve_svcs": dict(self.serve_svcs),
                "dangling_since": self.dangling,
            }
        )

    def carry_out(self, actions: tuple[a.Action, ...]) -> None:
        for action in actions:
            match action:
                case a.CreateCluster(body=body):
                    name = body["metadata"]["name"]
                    self.clusters[name] = {
                        **body,
                        "status": {"conditions": [{"type": "HeadPodReady", "status": "True"}]},
                    }
                    self.heads[name] = head(name, uid=f"uid-{name}", serve="true")
                case a.DeleteCluster(name=name):
                    self.clusters.pop(name, None)
                    self.serve_svcs.pop(name, None)
                case a.DeployConfig(cluster=name, applied=applied, config=config, capacity_only=only):
                    assert config.get("target_capacity") == applied.target_capacity
                    self.serve[name] = _running(applied.head_uid, applied.target_capacity, applied.config)
                    self.events.append(f"{'capacity' if only else 'config'} {name} {applied.target_capacity}")
                case a.ApplyRouting(kind=kind, body=body):
                    self.routing[kind] = {**body, "status": _accepted(kind) if self.gateway_controller else {}}
                case a.ApplyService(body=body) if body["metadata"]["name"].startswith("svc-") and body["metadata"][
                    "name"
                ] not in ("svc-serve-svc", "svc-head-svc"):
                    self.serve_svcs[body["metadata"]["name"].removesuffix("-serve-svc")] = body

    def weights(self) -> tuple[tuple[str, int], ...]:
        route = self.routing.get("HTTPRoute") or {"spec": {"rules": [{"backendRefs": []}]}}
        return tuple((r["name"], r["weight"]) for r in route["spec"]["rules"][0]["backendRefs"])


def _running(uid: str, capacity: int | None, config: str = CONFIG) -> ClusterServe:
    view = running(config=config, uid=uid)
    return ClusterServe(apps=view.apps, applied=Applied(config, uid, capacity), proxies=view.proxies)


def _accepted(kind: str) -> dict[str, Any]:
    def cond(name: str) -> dict[str, str]:
        return {"type": name, "status": "True"}

    if kind == "Gateway":
        return {"conditions": [cond("Accepted"), cond("Programmed")]}
    parent = {
        "parentRef": {"name": "svc-gateway", "namespace": "ns"},
        "conditions": [cond("Accepted"), cond("ResolvedRefs")],
    }
    return {"parents": [parent]}


def _run(world: World, svc: Any, passes: int) -> list[tuple[tuple[str, int], ...]]:
    seen: list[tuple[tuple[str, int], ...]] = []
    for _ in range(passes):
        s = world.snapshot(svc)
        d = decide(s)
        world.carry_out(d.actions)
        world.status = st.compute(s, d, endpoints=2)[0].to_json()  # as written, read back next pass
        world.dangling = dict(d.dangling)
        if not seen or seen[-1] != world.weights():
            seen.append(world.weights())
        world.now += dt.timedelta(seconds=1)
    return seen


def test_a_cluster_spec_change_moves_the_route_weights_in_steps_and_promotes_the_new_cluster() -> None:
    world = World()
    svc = service(env="2", upgradeStrategy=INCREMENTAL, rayClusterDeletionDelaySeconds=5)
    seen = _run(world, svc, 60)
    old, new = "svc-aaaaa-serve-svc", "svc-zzzzz-serve-svc"
    assert seen == [
        ((old, 100),),  # steady state: the Gateway and the route to the active cluster
        ((old, 100), (new, 0)),  # the pending cluster joins the route with no traffic
        ((old, 75), (new, 25)),
        ((old, 50), (new, 50)),
        ((old, 25), (new, 75)),
        ((old, 0), (new, 100)),
        ((new, 100),),  # promoted: the old cluster leaves the route
    ]
    assert world.events == [
        "config svc-zzzzz 0",  # the new config, at capacity 0
        "capacity svc-zzzzz 50",
        "capacity svc-aaaaa 50",
        "capacity svc-zzzzz 100",
        "capacity svc-aaaaa 0",
    ]
    assert list(world.clusters) == ["svc-zzzzz"]  # the old one deleted after the delay
    active = world.status["activeServiceStatus"]
    assert (active["rayClusterName"], active["targetCapacity"], active["trafficRoutedPercent"]) == (
        "svc-zzzzz",
        100,
        100,
    )
    assert "lastTrafficMigratedTime" in active and not world.status.get("pendingServiceStatus")
    assert set(world.serve_svcs) == {"svc-zzzzz"}
    assert decide(world.snapshot(svc)).endpoint_services == ("svc-zzzzz-serve-svc",)  # numServeEndpoints from it
    assert world.routing["Gateway"]["spec"]["gatewayClassName"] == "istio"
    assert "replicas" not in world.clusters["svc-zzzzz"]["spec"]["workerGroupSpecs"][0]  # grows from minReplicas


def test_traffic_moves_no_further_than_capacity_without_a_gateway_controller() -> None:
    world = World(gateway_controller=False)
    svc = service(env="2", upgradeStrategy=INCREMENTAL)
    seen = _run(world, svc, 20)
    assert seen[-1] == (("svc-aaaaa-serve-svc", 100), ("svc-zzzzz-serve-svc", 0))
    pending = world.status["pendingServiceStatus"]
    assert (pending["targetCapacity"], pending["trafficRoutedPercent"]) == (0, 0)  # capacity waits for a ready Gateway
    conditions = {c["type"]: c["reason"] for c in world.status["conditions"]}
    assert conditions["UpgradeInProgress"] == "BothActivePendingClustersExist"


def test_the_first_cluster_takes_full_capacity_and_is_served_through_the_route_once_active() -> None:
    world = World()
    world.clusters, world.heads, world.serve, world.status = {}, {}, {}, {}
    svc = service(upgradeStrategy=INCREMENTAL)
    seen = _run(world, svc, 6)
    assert seen[-1] == (("svc-zzzzz-serve-svc", 100),)
    assert world.events[0] == "config svc-zzzzz 100"
    assert world.status["activeServiceStatus"]["targetCapacity"] == 100


def test_suspend_deletes_the_gateway_and_the_route_with_the_clusters() -> None:
    world = World()
    svc = service(upgradeStrategy=INCREMENTAL)
    _run(world, svc, 3)
    assert set(world.routing) == {"Gateway", "HTTPRoute"}
    suspended = service(upgradeStrategy=INCREMENTAL, suspend=True)
    d = decide(world.snapshot(suspended))
    assert d.suspended
    assert [(x.kind, x.name) for x in d.actions if isinstance(x, a.DeleteRouting)] == [
        ("HTTPRoute", "svc-httproute"),
        ("Gateway", "svc-gateway"),
    ]
    assert [x.name for x in d.actions if isinstance(x, a.DeleteCluster)] == ["svc-aaaaa"]


def test_with_the_feature_gate_off_the_strategy_makes_no_new_cluster_and_no_gateway() -> None:
    world = World()
    svc = service(env="2", upgradeStrategy=INCREMENTAL)
    s = world.snapshot(svc)
    off = Snapshot(**{**s.__dict__, "settings": dataclasses.replace(s.settings, incremental_upgrade=False)})
    d = decide(off)
    assert d.pending == "" and not [x for x in d.actions if isinstance(x, (a.CreateCluster, a.ApplyRouting))]
