"""The typed RayCluster status writes exactly the JSON the dict-based version wrote (hypothesis).

Each example is a short run of reconcile passes over one cluster: every pass draws a spec, pods, head Service,
reconcile failure and feature gate, computes the status both ways from the same old status, and checks that
the JSON, the "changed?" answer and the transition Events agree; the JSON then becomes the next pass's old
status, as the API server would hand it back. Some passes are invalid-spec passes instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from raykube import reasons
from raykube.api.raycluster import RayCluster, RayClusterStatus
from raykube.controllers.raycluster import conditions, status
from tests.builders.pod import make_pod
from tests.unit.controllers import legacy_raycluster_status as legacy
from tests.unit.controllers.fixtures import make_cluster

FAST = settings(max_examples=150, deadline=None)
NOW = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=dt.UTC)
R = reasons.RayClusterConditionReason
C = reasons.RayClusterConditionType


@dataclass(frozen=True)
class Group:
    replicas: int | None
    min_replicas: int
    max_replicas: int
    hosts: int
    suspend: bool | None
    pods: tuple[tuple[str, bool, bool, bool], ...]  # phase, ready, terminating, terminated


@dataclass(frozen=True)
class Pass:
    groups: tuple[Group, ...]
    suspend: bool | None
    generation: int
    heads: tuple[tuple[str, bool, bool, bool, str], ...]  # phase, ready, terminating, terminated, IP
    service: dict[str, Any] | None
    failure: status.ReconcileFailure | None
    conditions_enabled: bool
    invalid: str | None
    elapsed: dt.timedelta


_pod = st.tuples(st.sampled_from(["Running", "Pending", "Failed"]), st.booleans(), st.booleans(), st.booleans())
_head = st.tuples(
    st.sampled_from(["Running", "Pending"]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["10.244.0.7", ""]),
)
_groups = st.builds(
    Group,
    replicas=st.one_of(st.none(), st.integers(0, 3)),
    min_replicas=st.integers(0, 2),
    max_replicas=st.integers(0, 5),
    hosts=st.integers(1, 2),
    suspend=st.one_of(st.none(), st.booleans()),
    pods=st.lists(_pod, max_size=3).map(tuple),
)
_ports = [
    {"name": "dashboard", "port": 8265, "targetPort": 8265},
    {"name": "gcs-server", "port": 6379, "targetPort": 6379, "nodePort": 30079},
    {"port": 10001},
]
_services = st.one_of(
    st.none(),
    st.sampled_from(["None", "10.96.0.12", ""]).map(
        lambda ip: {"metadata": {"name": "rc-head-svc"}, "spec": {"clusterIP": ip, "ports": _ports}}
    ),
)
_failures = st.one_of(
    st.none(),
    st.builds(
        status.ReconcileFailure,
        reason=st.sampled_from([R.FAILED_CREATE_HEAD_POD, R.FAILED_CREATE_SERVICE, R.REPLICAS_OVER_LIMIT]),
        message=st.sampled_from(["", "pods is forbidden: exceeded quota"]),
    ),
)
_passes = st.builds(
    Pass,
    groups=st.lists(_groups, max_size=2).map(tuple),
    suspend=st.one_of(st.none(), st.booleans()),
    generation=st.integers(0, 3),
    heads=st.lists(_head, max_size=2).map(tuple),
    service=_services,
    failure=_failures,
    conditions_enabled=st.booleans() | st.just(True),
    invalid=st.one_of(st.none(), st.sampled_from(["spec.headGroupSpec: required", "x" * 40_000])),
    elapsed=st.sampled_from([dt.timedelta(0), dt.timedelta(seconds=1), dt.timedelta(minutes=5, microseconds=250)]),
)
_old_condition = st.fixed_dictionaries(
    {
        "type": st.sampled_from([C.PROVISIONED, C.HEAD_POD_READY, C.SUSPENDING, C.SUSPENDED, C.REPLICA_FAILURE]),
        "status": st.sampled_from(["True", "False", "Unknown"]),
        "reason": st.sampled_from(["SomeReason", "RayClusterSuspended"]),
        "message": st.sampled_from(["", "left by someone else"]),
        "lastTransitionTime": st.sampled_from(["2026-01-01T00:00:00Z", "2026-11-26T11:59:59Z"]),
    },
    optional={"observedGeneration": st.integers(1, 3)},
)
_old_status: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.just({}),
    st.fixed_dictionaries(
        {},
        optional={
            "state": st.sampled_from(["ready", "suspended", "failed"]),
            "reason": st.sampled_from(["", "the head pod crashed"]),
            "readyWorkerReplicas": st.integers(0, 2),
            "desiredCPU": st.sampled_from(["1", "0"]),
            "endpoints": st.just({}),
            "head": st.just({"podName": "old-head"}),
            "stateTransitionTimes": st.just({"ready": "2026-01-01T00:00:00Z"}),
            "lastUpdateTime": st.just("2026-01-01T00:00:00Z"),
            "conditions": st.lists(_old_condition, max_size=4, unique_by=lambda c: c["type"]),
            "futureField": st.just({"kept": True}),  # a newer CRD's field: dropped by a full pass, kept otherwise
        },
    ),
)


def _cluster(p: Pass, old: dict[str, Any]) -> tuple[RayCluster, list[dict[str, Any]]]:
    builder = make_cluster()
    pods = [
        make_pod(f"h{i}", phase=phase, ready=ready, terminating=term, terminated=dead, ip=ip)
        for i, (phase, ready, term, dead, ip) in enumerate(p.heads)
    ]
    for number, group in enumerate(p.groups):
        name = f"g{number}"
        builder.worker_group(
            name,
            replicas=group.replicas,
            min_replicas=group.min_replicas,
            max_replicas=group.max_replicas,
            hosts=group.hosts,
            suspend=group.suspend,
        )
        pods += [
            make_pod(f"{name}-{i}", group=name, phase=phase, ready=ready, terminating=term, terminated=dead)
            for i, (phase, ready, term, dead) in enumerate(group.pods)
        ]
    if p.suspend is not None:
        builder.suspend(p.suspend)
    if old:
        builder.status(**old)
    cluster = builder.obj()
    if p.generation:
        cluster.metadata["generation"] = p.generation
    else:
        del cluster.metadata["generation"]
    return cluster, pods


def _typed(old: dict[str, Any]) -> RayClusterStatus | None:
    return RayClusterStatus.model_validate(old) if old else None


def _one_pass(p: Pass, old: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """Both versions of one pass agree; returns the status now stored."""
    if p.invalid is not None:
        expected = legacy.invalid_spec_status(old, p.invalid, now=now, conditions_enabled=p.conditions_enabled)
        typed = status.invalid_spec_status(_typed(old), p.invalid, now=now, conditions_enabled=p.conditions_enabled)
        assert (typed.to_json() if typed is not None else {}) == expected
        if typed is None:
            return old
        assert status.status_changed(_typed(old), typed) == legacy.status_changed(old, expected)
        return expected
    cluster, pods = _cluster(p, old)
    kwargs: dict[str, Any] = {
        "head_service": p.service,
        "failure": p.failure,
        "now": now,
        "conditions_enabled": p.conditions_enabled,
    }
    expected = legacy.compute_status(cluster, pods, **kwargs)
    typed_new = status.compute_status(cluster, pods, **kwargs)
    assert typed_new.to_json() == expected
    changed = legacy.status_changed(old, expected)
    assert status.status_changed(_typed(old), typed_new) == changed
    assert conditions.transition_events(_typed(old), typed_new) == legacy.transition_events(old, expected)
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


@FAST
@given(old=_old_status, later=st.sampled_from([dt.timedelta(0), dt.timedelta(minutes=5)]))
def test_only_a_new_last_update_time_is_no_change_either_way(old: dict[str, Any], later: dt.timedelta) -> None:
    typed = _typed(old)
    if typed is None:
        return
    moved = typed.model_copy(update={"last_update_time": NOW + later})
    assert not status.status_changed(typed, moved)
    assert not legacy.status_changed(old, moved.to_json())
