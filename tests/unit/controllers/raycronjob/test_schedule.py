"""Cron schedules: next firing times, in UTC and in a time zone, and which missed run a pass starts."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from raykube.api.cron import schedule_errors
from raykube.api.raycronjob import RayCronJob
from raykube.builders.names import cron_rayjob_name
from raykube.builders.parents import build_cron_rayjob
from raykube.controllers.raycronjob.reconciler import plan
from raykube.controllers.raycronjob.schedule import ScheduleError, parse
from raykube.runtime.clock import stamp


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def next_times(schedule: str, start: str, count: int = 3, zone: str | None = None) -> list[str]:
    parsed, moment, out = parse(schedule, zone), utc(start), []
    for _ in range(count):
        found = parsed.next_after(moment)
        assert found is not None
        out.append(stamp(found))
        moment = found
    return out


@pytest.mark.parametrize(
    ("schedule", "start", "expected"),
    [
        ("*/15 * * * *", "2026-11-26 10:07:30", ["2026-11-26T10:15:00Z", "2026-11-26T10:30:00Z",
                                                 "2026-11-26T10:45:00Z"]),
        ("0 * * * *", "2026-11-26 10:00:00", ["2026-11-26T11:00:00Z", "2026-11-26T12:00:00Z", "2026-11-26T13:00:00Z"]),
        ("30 2 * * MON-FRI", "2026-11-27 03:00:00", ["2026-11-30T02:30:00Z", "2026-12-01T02:30:00Z",
                                                      "2026-12-02T02:30:00Z"]),
        ("0 0 1 JAN,JUL ?", "2026-11-26 00:00:00", ["2027-01-01T00:00:00Z", "2027-07-01T00:00:00Z",
                                                     "2028-01-01T00:00:00Z"]),
        ("5/20 9 * * *", "2026-11-26 09:06:00", ["2026-11-26T09:25:00Z", "2026-11-26T09:45:00Z",
                                                  "2026-11-27T09:05:00Z"]),
        ("0 0 29 2 *", "2026-11-26 00:00:00", ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z",
                                                "2036-02-29T00:00:00Z"]),
        ("@weekly", "2026-11-26 00:00:00", ["2026-11-29T00:00:00Z", "2026-12-06T00:00:00Z", "2026-12-13T00:00:00Z"]),
        ("@every 90s", "2026-11-26 00:00:00.500", ["2026-11-26T00:01:30Z", "2026-11-26T00:03:00Z",
                                                    "2026-11-26T00:04:30Z"]),
    ],
)
def test_next_firing_times(schedule: str, start: str, expected: list[str]) -> None:
    assert schedule_errors(schedule) == []
    assert next_times(schedule, start) == expected


def test_day_of_month_and_day_of_week_both_restricted_fire_on_either() -> None:
    # The 13th, or any Friday (cron's OR rule); December 2026: Fri 4th, 11th, Sun 13th, Fri 18th.
    assert next_times("0 12 13 * FRI", "2026-12-01 00:00:00", 4) == [
        "2026-12-04T12:00:00Z", "2026-12-11T12:00:00Z", "2026-12-13T12:00:00Z", "2026-12-18T12:00:00Z"]


def test_a_time_zone_moves_the_firing_and_follows_daylight_saving_time() -> None:
    # 09:00 in New York: 14:00 UTC in winter, 13:00 UTC in summer (DST starts 2027-03-14).
    assert next_times("0 9 * * *", "2027-03-12 15:00:00", 3, "America/New_York") == [
        "2027-03-13T14:00:00Z", "2027-03-14T13:00:00Z", "2027-03-15T13:00:00Z"]


def test_a_wall_clock_time_skipped_by_daylight_saving_time_does_not_fire() -> None:
    # 02:30 does not exist in New York on 2027-03-14.
    assert next_times("30 2 * * *", "2027-03-13 08:00:00", 2, "America/New_York") == [
        "2027-03-15T06:30:00Z", "2027-03-16T06:30:00Z"]


def test_a_wall_clock_time_that_happens_twice_fires_once() -> None:
    # 01:30 happens twice in New York on 2027-11-07 (05:30 and 06:30 UTC).
    assert next_times("30 1 * * *", "2027-11-06 12:00:00", 2, "America/New_York") == [
        "2027-11-07T05:30:00Z", "2027-11-08T06:30:00Z"]


@pytest.mark.parametrize("schedule", ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30,31 FEB ?"])
def test_a_schedule_that_never_fires_is_refused_as_invalid(schedule: str) -> None:
    # Found by the chaos run: accepted, then no RayJob, no Warning and no condition, ever.
    assert schedule_errors(schedule) == []  # valid syntax: only evaluating it shows it
    with pytest.raises(ScheduleError, match=re.escape(f"invalid cron schedule: {schedule} never fires")):
        parse(schedule)


def test_a_leap_day_schedule_is_valid_and_fires_across_the_skipped_leap_year_2100() -> None:
    assert next_times("0 0 29 2 *", "2097-01-01 00:00:00", 1) == ["2104-02-29T00:00:00Z"]


def test_a_day_of_month_that_never_exists_still_fires_on_its_day_of_week() -> None:
    # Both day fields restricted: either one fires (cron's rule), so "February 30 or a Monday" is February's Mondays.
    assert next_times("0 0 30 2 MON", "2026-12-01 00:00:00", 1) == ["2027-02-01T00:00:00Z"]


@pytest.mark.parametrize("schedule", ["61 * * * *", "* * * *", "*/0 * * * *", "@often", "0 0 ? ? BLA"])
def test_what_cannot_be_evaluated_is_refused(schedule: str) -> None:
    with pytest.raises(ScheduleError):
        parse(schedule)


# -- which run a pass starts ---------------------------------------------------------------------------


HOURLY = parse("0 * * * *")
CREATED = utc("2026-11-26 10:20:00")


def test_before_the_first_run_nothing_is_created_and_the_pass_comes_back_when_it_is_due() -> None:
    step = plan(HOURLY, created=CREATED, last_scheduled=None, now=utc("2026-11-26 10:50:00"))
    assert (step.run, step.requeue_after) == (None, 600.0)


def test_a_due_run_is_created_and_the_next_pass_is_at_the_following_run() -> None:
    step = plan(HOURLY, created=CREATED, last_scheduled=None, now=utc("2026-11-26 11:00:02"))
    assert (step.run, step.requeue_after) == (utc("2026-11-26 11:00:00"), 3598.0)


def test_a_run_already_recorded_is_not_created_again() -> None:
    step = plan(HOURLY, created=CREATED, last_scheduled=utc("2026-11-26 11:00:00"), now=utc("2026-11-26 11:00:05"))
    assert step.run is None


def test_after_downtime_only_the_latest_missed_run_is_created() -> None:
    step = plan(HOURLY, created=CREATED, last_scheduled=utc("2026-11-26 11:00:00"), now=utc("2026-11-26 15:30:00"))
    assert (step.run, step.requeue_after) == (utc("2026-11-26 15:00:00"), 1800.0)


def test_the_rayjob_of_a_run_is_named_after_its_time_and_carries_the_template() -> None:
    cron = RayCronJob.model_validate({
        "metadata": {"name": "nightly", "namespace": "ml", "uid": "u-1"},
        "spec": {"schedule": "0 0 * * *", "jobTemplate": {"entrypoint": "python train.py", "backoffLimit": 1}}})
    job = build_cron_rayjob(cron, scheduled=utc("2026-11-27 00:00:00"))
    assert job["metadata"]["name"] == "nightly-29928960"  # minutes since the epoch
    assert job["metadata"]["annotations"] == {"ray.io/cronjob-scheduled-timestamp": "2026-11-27T00:00:00Z"}
    owner = job["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == ("RayCronJob", "nightly", "u-1", True)
    assert (job["spec"]["entrypoint"], job["spec"]["backoffLimit"]) == ("python train.py", 1)


def test_runs_within_one_minute_get_different_names() -> None:
    assert cron_rayjob_name("fast", int(utc("2026-11-27 00:00:20").timestamp())) == "fast-1795737620"
    assert cron_rayjob_name("fast", int(utc("2026-11-27 00:00:40").timestamp())) == "fast-1795737640"
