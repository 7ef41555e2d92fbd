"""Scale expectations against a store and a fake clock."""

from __future__ import annotations

from raykube.runtime.clock import FakeClock
from raykube.runtime.expectations import Action, ScaleExpectations
from raykube.runtime.objects import ObjectKey
from raykube.runtime.store import Store

from .fakes import obj

RC = ObjectKey("ns", "rc")


def setup() -> tuple[Store, FakeClock, ScaleExpectations]:
    store, clock = Store(), FakeClock()
    return store, clock, ScaleExpectations(store, clock=clock)


def test_group_without_expectations_is_satisfied() -> None:
    _, _, exp = setup()
    assert exp.satisfied(RC, "workers")


def test_create_is_unsatisfied_until_the_pod_reaches_the_cache() -> None:
    store, _, exp = setup()
    exp.expect_create(RC, "workers", "w-1")
    assert not exp.satisfied(RC, "workers")
    store.upsert(obj("w-1"))
    assert exp.satisfied(RC, "workers")
    assert exp.pending(RC, "workers") == {}


def test_pod_seen_before_the_expectation_was_recorded_still_counts() -> None:
    store, _, exp = setup()
    store.upsert(obj("w-1"))  # the informer was faster than the reconciler
    exp.expect_create(RC, "workers", "w-1")
    assert exp.satisfied(RC, "workers")


def test_delete_is_satisfied_when_the_pod_terminates_or_disappears() -> None:
    store, _, exp = setup()
    store.upsert(obj("w-1"))
    store.upsert(obj("w-2"))
    exp.expect_delete(RC, "workers", "w-1")
    exp.expect_delete(RC, "workers", "w-2")
    assert not exp.satisfied(RC, "workers")
    store.upsert(obj("w-1", "2", deletionTimestamp="2026-01-01T00:00:00Z"))
    store.remove(ObjectKey("ns", "w-2"))
    assert exp.satisfied(RC, "workers")


def test_groups_and_owners_are_independent() -> None:
    _, _, exp = setup()
    exp.expect_create(RC, "workers", "w-1")
    assert exp.satisfied(RC, "head")
    assert exp.satisfied(ObjectKey("ns", "other"), "workers")
    assert exp.pending(RC, "workers") == {"w-1": Action.CREATE}


def test_unmet_expectation_expires_after_the_timeout() -> None:
    _, clock, exp = setup()
    exp.expect_create(RC, "workers", "w-1")
    clock.advance(29.9)
    assert not exp.satisfied(RC, "workers")
    clock.advance(0.1)
    assert exp.satisfied(RC, "workers")


def test_forget_owner_drops_every_group() -> None:
    _, _, exp = setup()
    exp.expect_create(RC, "workers", "w-1")
    exp.expect_delete(RC, "small", "s-1")
    exp.forget_owner(RC)
    assert exp.satisfied(RC, "workers") and exp.satisfied(RC, "small")
