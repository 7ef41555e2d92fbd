"""The typed RayService status writes exactly the JSON the dict-based version wrote (hypothesis).

Each example is a short run of passes over one RayService: every pass draws the decision's part of the status
(active and pending cluster, suspension, a terminal reason, incremental-upgrade shares), the RayClusters and
their statuses, what Serve last answered and the endpoint count, computes the status both ways from the same
old status, and checks that the JSON, the "changed?" answer and the Events agree; the JSON then becomes the
next pass's old status (when it was written), as the API server would hand it back. Every pass runs twice, so
a time kept finer than ``metav1.Time``'s whole seconds shows as a change the text would not see.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from raykube import reasons
from raykube.builders.settings import OperatorSettings
from raykube.controllers.rayservice import status
from raykube.controllers.rayservice.incremental import Share
from raykube.controllers.rayservice.plan import Decision, Snapshot
from raykube.controllers.rayservice.view import ClusterServe
from raykube.ray.serve import ServeInstanceDetails
from tests.unit.controllers.rayservice import legacy_status as legacy
from tests.unit.controllers.rayservice.test_plan import SETTINGS, service

FAST = settings(max_examples=150, deadline=None)
NOW = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=dt.UTC)
SERVICE = service()
NAMES = ("svc-aaaaa", "svc-bbbbb")
C = reasons.RayServiceConditionType
R = reasons.RayServiceConditionReason


@dataclass(frozen=True)
class Pass:
    active: str
    pending: str
    suspended: bool
    terminal: tuple[reasons.RayServiceConditionReason, str] | None
    shares: dict[str, Share]
    clusters: dict[str, dict[str, Any]]
    serve: dict[str, ClusterServe]
    endpoints: int
    generation: int | None
    elapsed: dt.timedelta


_times = st.sampled_from(["2026-01-01T00:00:00Z", "2026-11-26T11:59:59Z"])
_app_statuses = st.sampled_from(["RUNNING", "DEPLOYING", "DEPLOY_FAILED", "UNHEALTHY", ""])
_messages = st.sampled_from(["", "boom"])
_deployment = st.fixed_dictionaries(
    {"status": st.sampled_from(["HEALTHY", "UNHEALTHY", "UPDATING"])}, optional={"message": _messages}
)
_applications = st.dictionaries(
    st.sampled_from(["", "fruit", "veg"]),
    st.fixed_dictionaries(
        {"status": _app_statuses, "message": _messages},
        optional={"deployments": st.dictionaries(st.sampled_from(["Stand", "Cart"]), _deployment, max_size=2)},
    ),
    max_size=2,
)
_views = st.one_of(
    st.just(ClusterServe()),
    _applications.map(lambda apps: ClusterServe(apps=ServeInstanceDetails.model_validate({"applications": apps}))),
)
#: RayCluster statuses as the operator writes them (whole-second times), one with a newer CRD's field.
_cluster_statuses = st.sampled_from(
    [
        {},
        {"state": "ready", "readyWorkerReplicas": 1, "desiredCPU": "1"},
        {
            "state": "ready",
            "conditions": [
                {
                    "type": "HeadPodReady",
                    "status": "True",
                    "reason": "HeadPodRunningAndReady",
                    "message": "",
                    "lastTransitionTime": "2026-11-26T11:00:00Z",
                }
            ],
            "head": {"podName": "svc-aaaaa-head", "podIP": "10.0.0.5"},
            "endpoints": {"dashboard": "8265"},
            "stateTransitionTimes": {"ready": "2026-11-26T11:00:00Z"},
            "lastUpdateTime": "2026-11-26T11:00:00Z",
            "observedGeneration": 1,
        },
        {"state": "suspended", "futureField": {"kept": True}},
    ]
)
_shares = st.builds(
    Share,
    capacity=st.one_of(st.none(), st.sampled_from([0, 25, 100])),
    traffic=st.one_of(st.none(), st.sampled_from([0, 50, 100])),
    migrated_at=st.one_of(st.none(), st.sampled_from([NOW, NOW + dt.timedelta(seconds=3, microseconds=999)])),
)
_terminal = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from([R.VALIDATION_FAILED, R.INITIALIZING_TIMEOUT]),
        st.sampled_from(["spec.x: invalid", "spec.x: " + "€" * 40_000, ""]),
    ),
)
_names = st.sampled_from(("", *NAMES))
_passes = st.builds(
    Pass,
    active=_names,
    pending=_names,
    suspended=st.booleans(),
    terminal=_terminal,
    shares=st.dictionaries(st.sampled_from(NAMES), _shares, max_size=2),
    clusters=st.dictionaries(st.sampled_from(NAMES), _cluster_statuses, max_size=2),
    serve=st.dictionaries(st.sampled_from(NAMES), _views, max_size=2),
    endpoints=st.integers(0, 3),
    generation=st.one_of(st.none(), st.integers(1, 3)),
    elapsed=st.sampled_from([dt.timedelta(0), dt.timedelta(seconds=1), dt.timedelta(minutes=5, microseconds=250)]),
)
_old_apps = st.dictionaries(
    st.sampled_from(["default", "fruit"]),
    st.fixed_dictionaries(
        {"status": _app_statuses},
        optional={"message": st.just("boom"), "serveDeploymentStatuses": st.just({"Stand": {"status": "HEALTHY"}})},
    ),
    min_size=1,
    max_size=2,
)
_old_service_status = st.fixed_dictionaries(
    {"rayClusterName": st.sampled_from(NAMES)},
    optional={
        "applicationStatuses": _old_apps,
        "rayClusterStatus": _cluster_statuses.filter(bool),
        "targetCapacity": st.sampled_from([0, 100]),
        "trafficRoutedPercent": st.sampled_from([0, 100]),
        "lastTrafficMigratedTime": _times,
    },
)
_old_condition = st.fixed_dictionaries(
    {
        "type": st.sampled_from([C.READY, C.UPGRADE_IN_PROGRESS, C.SUSPENDED]),
        "status": st.sampled_from(["True", "False", "Unknown"]),
        "reason": st.sampled_from(
            [R.NON_ZERO_SERVE_ENDPOINTS, R.ZERO_SERVE_ENDPOINTS, R.INITIALIZING, R.NO_PENDING_CLUSTER, "Other"]
        ),
        "message": st.sampled_from(["", "left by someone else"]),
        "lastTransitionTime": _times,
    },
    optional={"observedGeneration": st.integers(1, 3)},
)
_old_status: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.just({}),
    st.fixed_dictionaries(
        {},
        optional={
            "activeServiceStatus": _old_service_status,
            "pendingServiceStatus": _old_service_status,
            "conditions": st.lists(_old_condition, max_size=3, unique_by=lambda c: c["type"]),
            "numServeEndpoints": st.integers(0, 2),
            "serviceStatus": st.sampled_from(["", "Running"]),
            "observedGeneration": st.integers(0, 3),
            "lastUpdateTime": _times,
            "futureField": st.just({"kept": True}),  # a newer CRD's field: carried over by both
        },
    ),
)


def _snapshot(p: Pass, old: dict[str, Any], now: dt.datetime) -> Snapshot:
    metadata = {k: v for k, v in SERVICE.metadata.items() if k != "generation"}
    if p.generation is not None:
        metadata["generation"] = p.generation
    return Snapshot(
        svc=SERVICE.model_copy(update={"metadata": metadata}),
        status=status.read_status(old),
        now=now,
        settings=SETTINGS,
        operator=OperatorSettings(),
        clusters={name: {"metadata": {"name": name}, "status": raw} for name, raw in p.clusters.items()},
        serve=p.serve,
    )


def _one_pass(p: Pass, old: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """Both versions of one pass agree; returns the status now stored."""
    s = _snapshot(p, old, now)
    d = Decision(active=p.active, pending=p.pending, suspended=p.suspended, terminal=p.terminal, shares=p.shares)
    expected, expected_events = legacy.compute(s, d, endpoints=p.endpoints, old=old)
    typed, events = status.compute(s, d, endpoints=p.endpoints)
    assert typed.to_json() == expected
    assert events == expected_events
    changed = legacy.changed(old, expected)
    assert status.changed(s.status, typed) == changed
    return expected if changed else old


@FAST
@given(old=_old_status, passes=st.lists(_passes, min_size=1, max_size=4))
def test_the_typed_status_serialises_to_the_json_the_dict_version_wrote(
    old: dict[str, Any], passes: list[Pass]
) -> None:
    now = NOW
    for p in passes:
        now += p.elapsed
        old = _one_pass(p, old, now)
        old = _one_pass(p, old, now)  # the same pass on what it wrote: times read back must compare equal


@FAST
@given(old=_old_status)
def test_a_status_read_back_is_the_same_json(old: dict[str, Any]) -> None:
    assert status.read_status(old).to_json() == old


@FAST
@given(old=_old_status, later=st.sampled_from([dt.timedelta(0), dt.timedelta(minutes=5)]))
def test_only_a_new_last_update_time_is_no_change_either_way(old: dict[str, Any], later: dt.timedelta) -> None:
    typed = status.read_status(old)
    moved = typed.model_copy(update={"last_update_time": NOW + later})
    assert not status.changed(typed, moved)
    assert not legacy.changed(old, moved.to_json())
