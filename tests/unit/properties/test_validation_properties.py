"""Property-based checks (hypothesis) of validation and the other pure guards: any value is answered by an
error message or accepted, never by an exception, and what is accepted is safe for arithmetic and timers."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from raykube.api.cron import schedule_errors
from raykube.api.raycluster import RayCluster
from raykube.api.rayjob import RayJob
from raykube.api.validation import validate_raycluster, validate_rayjob
from raykube.controllers.raycronjob.schedule import parse
from raykube.runtime.events import truncate_note
from tests.unit.api import factories

FAST = settings(max_examples=40, deadline=None)
INT32 = 2**31 - 1
big_ints = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([0, -1, INT32, INT32 + 1, 2**63 - 1, 2**63]))


@FAST
@given(field=st.sampled_from(["activeDeadlineSeconds", "preRunningDeadlineSeconds", "ttlSecondsAfterFinished",
                              "backoffLimit"]), value=big_ints)
def test_rayjob_integers_are_rejected_past_int32_and_accepted_ones_fit_a_timedelta(field: str, value: int) -> None:
    doc = factories.rayjob(shutdownAfterJobFinishes=True)
    doc["spec"][field] = value
    errors = validate_rayjob(RayJob.model_validate(doc))
    if not -(2**31) <= value <= INT32:
        assert any(f"spec.{field} ({value}) is out of range" in e for e in errors)
    elif not errors:
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=value)  # never an OverflowError


@FAST
@given(replicas=big_ints, hosts=st.integers(-3, 2**40))
def test_raycluster_group_sizes_are_validated_without_exceptions(replicas: int, hosts: int) -> None:
    spec = factories.cluster_spec(factories.worker_group(replicas=replicas, maxReplicas=INT32, numOfHosts=hosts))
    errors = validate_raycluster(RayCluster.model_validate(factories.raycluster(spec=spec)))
    if replicas > INT32 or hosts > INT32:
        assert any("is out of range" in e for e in errors)


@FAST
@given(amount=st.integers(0, 10**15), unit=st.sampled_from(["ns", "us", "ms", "s", "m", "h"]))
def test_every_schedules_are_either_rejected_or_evaluate_without_overflow(amount: int, unit: str) -> None:
    schedule = f"@every {amount}{unit}"
    if schedule_errors(schedule):
        return
    start = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)
    following = parse(schedule).next_after(start)
    assert following is not None and following > start


@FAST
@given(note=st.text(max_size=3000))
def test_event_notes_fit_1024_bytes_and_are_a_prefix(note: str) -> None:
    cut = truncate_note(note)
    assert len(cut.encode()) <= 1024
    assert note.startswith(cut)
    assert cut == note or len(cut.encode()) > 1020  # at most one character (4 bytes) short of the limit
