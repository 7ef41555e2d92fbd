"""The two ``metav1`` value types that ray.io statuses embed: :data:`Time` and :class:`Condition`.

Statuses are computed as typed values (``datetime``, not strings) and turned into the API's JSON once, by
:meth:`~raykube.api.schema.RayModel.to_json` at the status write. :data:`Time` carries both directions:
it parses the RFC 3339 text the API server returns (also under the models' ``strict`` mode, which would
otherwise refuse a string for a ``datetime``) and serialises as ``metav1.Time`` does, in UTC with whole
seconds and a ``Z``, so a time read and written back is the same text.

:class:`Condition` mirrors ``metav1.Condition`` field for field. Its CRD schema is still the Kubernetes
definition (the fields using it declare ``k8s_type``); the ``prop`` facts here only name and describe.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from raykube.api.common import TIME_FORMAT
from raykube.api.schema import RayModel, prop


def _parse_time(value: Any) -> Any:
    """RFC 3339 text as an aware datetime; anything else is left for pydantic to accept or refuse."""
    if not isinstance(value, str):
        return value
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"time {value!r} has no UTC offset (RFC 3339 requires one)")
    return parsed


def format_time(moment: dt.datetime) -> str:
    """A ``metav1.Time`` string: RFC 3339, whole seconds, UTC."""
    return moment.astimezone(dt.UTC).strftime(TIME_FORMAT)


#: A ``metav1.Time``: a datetime in Python, RFC 3339 text (UTC, whole seconds) in JSON.
Time = Annotated[
    dt.datetime,
    BeforeValidator(_parse_time),
    PlainSerializer(format_time, return_type=str, when_used="json"),
]

#: ``metav1.ConditionStatus`` values.
TRUE = "True"
FALSE = "False"


class Condition(RayModel):
    """One ``metav1.Condition``: a named, timestamped True/False/Unknown fact with its reason."""

    type: str = prop("type", "Condition type, e.g. HeadPodReady.", required=True)
    status: str = prop("status", "True, False or Unknown.", required=True)
    observed_generation: int | None = prop("observedGeneration", "Generation the condition was set from.")
    last_transition_time: Time | None = prop(
        "lastTransitionTime", "When the status last changed.", format="date-time"
    )
    reason: str | None = prop("reason", "Why, in CamelCase.")
    message: str | None = prop("message", "Why, for humans.")

    @property
    def is_true(self) -> bool:
        """``status`` is ``"True"``."""
        return self.status == TRUE
