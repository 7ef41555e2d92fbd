"""Syntax check of RayCronJob schedules: the standard five-field cron format plus ``@`` descriptors.

KubeRay parses ``spec.schedule`` with a standard cron parser (minute, hour, day of month, month, day of week;
names such as ``JAN``/``MON``; ``*``, ranges, lists, ``/step``; ``?`` for either day field; descriptors
``@yearly``, ``@annually``, ``@monthly``, ``@weekly``, ``@daily``, ``@midnight``, ``@hourly``, ``@every <dur>``).
Time zones are given with ``spec.timeZone``; a ``TZ=``/``CRON_TZ=`` prefix in the schedule is rejected.
Computing fire times belongs to the RayCronJob controller; this module only says what is wrong.
"""

from __future__ import annotations

import re
from typing import Final

_MONTHS: Final = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS: Final = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
#: (name, lowest, highest, symbolic names) of the five fields, in order. Shared with the evaluator
#: (:mod:`raykube.controllers.raycronjob.schedule`).
FIELDS: Final[tuple[tuple[str, int, int, dict[str, int]], ...]] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(_MONTHS)}),
    ("day of week", 0, 6, {d: i for i, d in enumerate(_WEEKDAYS)}),
)
#: The ``@`` descriptors and the five fields each stands for.
DESCRIPTORS: Final = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
#: One ``<number><unit>`` part of an ``@every`` duration (Go's ``time.ParseDuration`` units).
DURATION_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_EVERY: Final = re.compile(rf"^@every\s+(({DURATION_PART.pattern})+)$")
#: Seconds per duration unit.
UNIT_SECONDS: Final = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
#: Go's ``time.Duration`` is int64 nanoseconds: ``time.ParseDuration`` refuses anything longer (≈ 292 years).
MAX_DURATION_SECONDS: Final = (2**63 - 1) / 1e9


def duration_seconds(text: str) -> float | None:
    """Seconds of a Go duration such as ``1h30m``; None when it does not parse or overflows Go's range."""
    parts = DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    seconds = sum(float(n) * UNIT_SECONDS[u] for n, u in parts)
    return seconds if seconds <= MAX_DURATION_SECONDS else None


def schedule_errors(schedule: str) -> list[str]:
    """Problems of a cron schedule string (empty when it is valid)."""
    text = schedule.strip()
    if not text:
        return ["empty spec string"]
    if text.startswith(("TZ=", "CRON_TZ=")):
        return ["TZ= and CRON_TZ= prefixes are not supported; use spec.timeZone instead"]
    if text.startswith("@"):
        if text in DESCRIPTORS:
            return []
        if _EVERY.match(text):
            duration = text.removeprefix("@every").strip()
            if duration_seconds(duration) is None:
                return [f'failed to parse duration {text}: time: invalid duration "{duration}"']
            return []
        return [f"unrecognized descriptor: {text}"]
    fields = text.split()
    if len(fields) != len(FIELDS):
        return [f"expected exactly 5 fields, found {len(fields)}: {text}"]
    errors: list[str] = []
    for value, (name, low, high, names) in zip(fields, FIELDS, strict=True):
        errors.extend(_field_errors(value, name, low, high, names))
    return errors


def _field_errors(value: str, name: str, low: int, high: int, names: dict[str, int]) -> list[str]:
    if value == "?" and name in ("day of month", "day of week"):
        return []
    errors: list[str] = []
    for part in value.split(","):
        span, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            errors.append(f"{name}: invalid step '{step}' in '{part}'")
        if span == "*":
            continue
        start_text, dash, end_text = span.partition("-")
        bounds = [field_number(start_text, names)] + ([field_number(end_text, names)] if dash else [])
        if any(b is None for b in bounds):
            errors.append(f"{name}: cannot parse '{part}'")
            continue
        numbers = [b for b in bounds if b is not None]
        if any(n < low or n > high for n in numbers):
            errors.append(f"{name}: '{part}' is outside {low}-{high}")
        elif len(numbers) == 2 and numbers[0] > numbers[1]:
            errors.append(f"{name}: range '{part}' has its start after its end")
    return errors


def field_number(text: str, names: dict[str, int]) -> int | None:
    """A number of a field, or one of its names (``JAN``, ``mon``); None when it is neither."""
    if text.isdigit():
        return int(text)
    return names.get(text.upper())
