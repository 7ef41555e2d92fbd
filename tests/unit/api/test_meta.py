"""metav1 Time and Condition: read from the API's text, written back as metav1.Time writes it."""

from __future__ import annotations

import datetime as dt

import pydantic
import pytest

from raykube.api.meta import Condition
from raykube.api.raycluster import RayClusterStatus

UTC_NOON = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        pytest.param("2026-11-26T12:00:00Z", UTC_NOON, id="utc"),
        pytest.param("2026-11-26T13:00:00+01:00", UTC_NOON, id="offset"),
        pytest.param("2026-11-26T12:00:00.25Z", UTC_NOON.replace(microsecond=250000), id="fraction"),
    ],
)
def test_times_are_read_as_aware_datetimes(text: str, moment: dt.datetime) -> None:
    status = RayClusterStatus.model_validate({"lastUpdateTime": text, "stateTransitionTimes": {"ready": text}})
    assert status.last_update_time == moment
    assert status.state_transition_times == {"ready": moment}


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        pytest.param(UTC_NOON, "2026-11-26T12:00:00Z", id="utc"),
        pytest.param(UTC_NOON.replace(microsecond=999999), "2026-11-26T12:00:00Z", id="whole-seconds"),
        pytest.param(UTC_NOON.astimezone(dt.timezone(dt.timedelta(hours=-5))), "2026-11-26T12:00:00Z", id="in-utc"),
    ],
)
def test_times_are_written_as_metav1_time(moment: dt.datetime, text: str) -> None:
    condition = Condition(type="HeadPodReady", status="True", reason="R", message="", last_transition_time=moment)
    assert condition.to_json() == {
        "type": "HeadPodReady",
        "status": "True",
        "reason": "R",
        "message": "",
        "lastTransitionTime": text,
    }


def test_a_time_read_and_written_back_is_the_same_text() -> None:
    raw = {"lastUpdateTime": "2026-11-26T12:00:00Z", "conditions": [
        {"type": "X", "status": "False", "reason": "Y", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z",
         "observedGeneration": 3}]}
    assert RayClusterStatus.model_validate(raw).to_json() == raw


@pytest.mark.parametrize("text", ["yesterday", "2026-11-26T12:00:00", "2026-11-26"])
def test_a_time_without_an_offset_or_unreadable_is_refused(text: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        RayClusterStatus.model_validate({"lastUpdateTime": text})
