"""The schedule evaluator against a brute-force reference: step through every minute in UTC, look at the wall
clock of the time zone, keep the first minute whose wall-clock fields match (the second pass through a
repeated hour does not count). Seeded random schedules and start times, a few zones with DST (one with a
30-minute shift), starts placed around DST changes."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo

import pytest

from raykube.api.cron import schedule_errors
from raykube.controllers.raycronjob.schedule import CronSchedule, parse

ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]
#: Starts near DST changes of 2027 (New York: Mar 14, Nov 7; Berlin: Mar 28, Oct 31; Lord Howe: Apr 4, Oct 3).
STARTS = ["2027-03-13 12:00", "2027-11-06 12:00", "2027-03-27 12:00", "2027-10-30 12:00", "2027-04-03 10:00",
          "2027-10-02 10:00", "2026-12-31 23:30", "2028-02-28 06:00"]


def _field(rng: random.Random, low: int, high: int) -> str:
    kind = rng.randrange(6)
    a, b = sorted(rng.sample(range(low, high + 1), 2))
    return ["*", f"*/{rng.randint(2, 7)}", f"{a}-{b}", f"{a},{b}", f"{a}-{b}/{rng.randint(2, 4)}", str(a)][kind]


def _schedule(rng: random.Random) -> str:
    dom = _field(rng, 1, 28) if rng.random() < 0.3 else "*"
    dow = _field(rng, 0, 6) if rng.random() < 0.3 else "*"
    return f"{_field(rng, 0, 59)} {_field(rng, 0, 23)} {dom} * {dow}"


def _reference(schedule: CronSchedule, start: dt.datetime) -> dt.datetime:
    moment = start.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    for _ in range(200_000):
        wall = moment.astimezone(schedule.zone)
        day_ok = (wall.day in schedule.days, (wall.isoweekday() % 7) in schedule.weekdays)
        day = all(day_ok) if schedule.any_day or schedule.any_weekday else any(day_ok)
        if (wall.minute in schedule.minutes and wall.hour in schedule.hours and wall.month in schedule.months
                and day and not wall.fold):
            return moment
        moment += dt.timedelta(minutes=1)
    raise AssertionError("no firing within the reference's horizon")


@pytest.mark.parametrize("seed", range(40))
def test_next_firing_matches_the_brute_force_reference(seed: int) -> None:
    rng = random.Random(seed)
    text, zone = _schedule(rng), rng.choice(ZONES)
    assert schedule_errors(text) == [], text
    schedule = parse(text, zone)
    assert isinstance(schedule, CronSchedule)
    local_start = dt.datetime.fromisoformat(rng.choice(STARTS)) + dt.timedelta(minutes=rng.randrange(24 * 60))
    moment = local_start.replace(tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(dt.UTC)
    for _ in range(3):
        expected = _reference(schedule, moment)
        assert schedule.next_after(moment) == expected, (text, zone, moment)
        moment = expected
