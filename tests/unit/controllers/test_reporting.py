"""No silent retry loops: a failed reconcile pass is shown on its object as a Warning Event."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from raykube.controllers.events import ObjectEvents, SpecWarnings, reporting
from raykube.reasons import EventReason
from raykube.runtime.controller import Result
from raykube.runtime.errors import ApiError
from raykube.runtime.objects import ObjectKey
from tests.unit.runtime.test_events import CLUSTER, make

KEY = ObjectKey("ns", "rc")


async def _notes(run: object) -> list[tuple[str, str, str]]:
    sink, _, recorder = make()
    wrapped = reporting(run(recorder), lookup=lambda _key: CLUSTER, recorder=recorder)  # type: ignore[operator]
    with pytest.raises(Exception):  # noqa: B017 - re-raised for the controller's backoff, whatever it is
        await wrapped(KEY)
    await recorder.flush()
    return [(e["type"], e["reason"], e["note"]) for e in sink.created]


async def test_an_unexpected_exception_becomes_a_reconcile_error_warning_and_is_re_raised() -> None:
    def run(_recorder: object):  # type: ignore[no-untyped-def]
        async def reconcile(_key: ObjectKey) -> Result:
            return [][0]  # type: ignore[no-any-return,unused-ignore]

        return reconcile

    notes = await _notes(run)
    assert notes == [
        ("Warning", "ReconcileError", "Reconcile failed, retrying with backoff: IndexError: list index out of range")
    ]


async def test_a_warning_recorded_before_the_failure_is_emitted_instead_of_lost() -> None:
    # Found as a hostile user: a failed create of a RayCronJob's RayJob recorded its Warning, raised, and the
    # Warning was never emitted.
    def run(recorder):  # type: ignore[no-untyped-def]
        async def reconcile(_key: ObjectKey) -> Result:
            events = ObjectEvents.start(recorder, CLUSTER)
            events.warning(EventReason.FAILED_TO_CREATE_RAYJOB, "Create", "Failed to create RayJob ns/x: forbidden")
            raise ApiError(403, "Forbidden", "forbidden")

        return reconcile

    notes = await _notes(run)
    assert notes == [("Warning", "FailedToCreateRayJob", "Failed to create RayJob ns/x: forbidden")]


async def test_a_conflict_is_routine_and_gets_no_event() -> None:
    def run(_recorder: object):  # type: ignore[no-untyped-def]
        async def reconcile(_key: ObjectKey) -> Result:
            raise ApiError(409, "Conflict", "the object has been modified")

        return reconcile

    assert await _notes(run) == []


async def test_a_successful_pass_is_untouched() -> None:
    sink, _, recorder = make()
    wrapped = reporting(lambda _key: _ok(), lookup=lambda _key: CLUSTER, recorder=recorder)
    assert await wrapped(KEY) == Result(requeue_after=3)
    await recorder.flush()
    assert sink.created == []


async def _ok() -> Result:
    return Result(requeue_after=3)


async def test_spec_warnings_are_sent_once_per_generation_and_do_not_hide_a_failure() -> None:
    sink, clock, recorder = make()
    told = SpecWarnings(recorder)
    gen1, gen2, gen3 = (_generation(n) for n in (1, 2, 3))
    for _ in range(3):
        told.emit(KEY, gen1, ["spec.x: -1 is negative"])
    told.emit(KEY, gen2, ["spec.x: -1 is negative"])  # a new generation: said again
    told.emit(KEY, gen2, [])  # fixed
    told.emit(KEY, gen2, ["spec.x: -1 is negative"])  # and broken again
    await recorder.flush()
    assert [(e["type"], e["reason"], e["series"]["count"] if "series" in e else 1) for e in sink.created] == [
        ("Warning", "UnexpectedSpecValue", 3)  # folded: the first, generation 2, and after the fix
    ]

    async def failing(_key: ObjectKey) -> Result:
        told.emit(KEY, gen3, ["spec.x: -1 is negative"])
        raise ApiError(500, "InternalError", "boom")

    with pytest.raises(ApiError):
        await reporting(failing, lookup=lambda _key: CLUSTER, recorder=recorder)(KEY)
    clock.advance(31)
    await recorder.flush()
    assert "ReconcileError" in [e["reason"] for e in sink.created]  # not taken for the pass's own Warning


def _generation(generation: int) -> dict[str, Any]:
    obj: dict[str, Any] = copy.deepcopy(CLUSTER)
    return {**obj, "metadata": {**obj["metadata"], "generation": generation}}
