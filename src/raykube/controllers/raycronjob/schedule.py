"""When a RayCronJob fires: the next time a standard cron schedule matches, in the RayCronJob's time zone.

The syntax is the one :func:`raykube.api.cron.schedule_errors` accepts (KubeRay parses it with robfig/cron's
``ParseStandard``): five fields (minute, hour, day of month, month, day of week) with ``*``, ``?``, lists,
ranges, ``/step`` and month/weekday names; the ``@yearly``/``@monthly``/``@weekly``/``@daily``/``@hourly``
descriptors; ``@every <duration>``. Day of month and day of week combine as in cron: when both are
restricted a day matching either one fires; when one of them is ``*`` or ``?`` only the other counts.

Times are evaluated on the wall clock of ``timeZone`` (UTC when unset). A wall-clock minute that does not
exist (the hour skipped when daylight saving time starts) is passed over; one that happens twice fires once.

A schedule that is valid syntax but matches no date (``0 0 30 2 *``: February 30) is refused by :func:`parse`
like a syntax error, so the controller reports it (robfig/cron accepts it; its next-time search returns the
zero time). A schedule that matches any date matches one at least every 8 years (February 29 skips 2100),
so "no time within :data:`HORIZON_YEARS` years" means "never", from any moment.
Pure: no clock, no I/O.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Final

from raykube.api.cron import DESCRIPTORS, FIELDS, duration_seconds, field_number

#: Give up looking after this long: longer than the longest gap between two firings (February 29: 8 years).
HORIZON_YEARS: Final = 9
_HORIZON: Final = dt.timedelta(days=HORIZON_YEARS * 366)
#: Where :func:`parse` looks for a first firing; any moment gives the same answer (see the module docstring).
_PROBE_FROM: Final = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class ScheduleError(ValueError):
    """The schedule cannot be evaluated (validation rejects bad syntax first) or never fires."""


@dataclass(frozen=True)
class CronSchedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day of month was * or ?
    any_weekday: bool  # day of week was * or ?
    zone: dt.tzinfo

    def next_after(self, moment: dt.datetime) -> dt.datetime | None:
        """The first firing strictly after ``moment`` (aware), in UTC; None if there is none within the horizon."""
        local = moment.astimezone(self.zone).replace(tzinfo=None, second=0, microsecond=0) + dt.timedelta(minutes=1)
        end = local + _HORIZON
        while local < end:
            if local.month not in self.months:
                local = _first_of_next_month(local)
            elif not self._day_matches(local):
                local = dt.datetime(local.year, local.month, local.day) + dt.timedelta(days=1)
            elif local.hour not in self.hours:
                local = local.replace(minute=0) + dt.timedelta(hours=1)
            elif local.minute not in self.minutes:
                local += dt.timedelta(minutes=1)
            else:
                fired = _localize(local, self.zone)
                if fired is not None and fired > moment:
                    return fired.astimezone(dt.UTC)
                local += dt.timedelta(minutes=1)
        return None

    def _day_matches(self, day: dt.datetime) -> bool:
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week


@dataclass(frozen=True)
class EverySchedule:
    """``@every <duration>``: a fixed delay, whole seconds (as robfig/cron)."""

    seconds: int

    def next_after(self, moment: dt.datetime) -> dt.datetime | None:
        return (moment.replace(microsecond=0) + dt.timedelta(seconds=self.seconds)).astimezone(dt.UTC)


Schedule = CronSchedule | EverySchedule


def parse(schedule: str, time_zone: str | None = None) -> Schedule:
    """Parse ``spec.schedule`` (and ``spec.timeZone``) into something that answers :meth:`next_after`."""
    text = schedule.strip()
    if text.startswith("@every"):
        return EverySchedule(_every_seconds(text.removeprefix("@every").strip()))
    text = DESCRIPTORS.get(text, text)
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected 5 fields, found {len(fields)}: {schedule}")
    try:
        zone: dt.tzinfo = zoneinfo.ZoneInfo(time_zone) if time_zone else dt.UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
        raise ScheduleError(f"unknown time zone {time_zone!r}") from err
    minutes, hours, days, months, weekdays = (
        _field(value, low, high, names) for value, (_, low, high, names) in zip(fields, FIELDS, strict=True)
    )
    cron = CronSchedule(minutes, hours, days, months, weekdays, any_day=fields[2] in ("*", "?"),
                        any_weekday=fields[4] in ("*", "?"), zone=zone)
    if cron.next_after(_PROBE_FROM) is None:
        raise ScheduleError(
            f"invalid cron schedule: {schedule} never fires (no time matches it within {HORIZON_YEARS} years)"
        )
    return cron


def _field(value: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    if value == "?":
        value = "*"
    numbers: set[int] = set()
    for part in value.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ScheduleError(f"invalid step in {part!r}")
        if span == "*":
            start, end = low, high
        else:
            first, dash, last = span.partition("-")
            start = _number(first, names)
            # "5/15" means 5, 20, 35, 50: from the number to the end of the range.
            end = _number(last, names) if dash else (high if step_text else start)
        if not low <= start <= end <= high:
            raise ScheduleError(f"{part!r} is outside {low}-{high}")
        numbers.update(range(start, end + 1, step))
    return frozenset(numbers)


def _number(text: str, names: dict[str, int]) -> int:
    number = field_number(text, names)
    if number is None:
        raise ScheduleError(f"cannot parse {text!r}")
    return number


def _every_seconds(text: str) -> int:
    seconds = duration_seconds(text)
    if seconds is None:
        raise ScheduleError(f"invalid duration {text!r}")
    return max(1, int(seconds))  # robfig/cron: at least one second, fractions dropped


def _first_of_next_month(moment: dt.datetime) -> dt.datetime:
    return dt.datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1)


def _localize(wall: dt.datetime, zone: dt.tzinfo) -> dt.datetime | None:
    """The instant of a wall-clock time in ``zone``; None when that time is skipped (DST gap)."""
    aware = wall.replace(tzinfo=zone)
    if aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return aware
