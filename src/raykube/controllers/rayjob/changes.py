"""What a state function changes in a RayJob's status: a frozen :class:`StatusChanges`.

Its fields are the `RayJobStatus` fields a state may touch, by their Python names and types (times are
datetimes, the Ray job's times a `RayJobInfo`, the cluster's status a `RayClusterStatus`). Each field says one
of three things:

* ``None`` (the default): leave the field as it is;
* :data:`CLEAR`: remove the field;
* a value: set it. An empty one (``""``, as ``JobDeploymentStatus.NEW`` is) removes the field too, as Go's
  ``omitempty`` drops it.

``a | b`` combines two sets of changes, ``b`` winning where it says anything (the dict union it replaces).
:meth:`StatusChanges.applied_to` is the one place changes meet a status; the counters, ``endTime`` and the
retry decision are applied after it by :func:`raykube.controllers.rayjob.status.next_status`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any, Final

from raykube.api.raycluster import RayClusterStatus
from raykube.api.rayjob import RayJobInfo, RayJobStatus


class Clear(enum.Enum):
    """The one value that removes a status field (its type, so mypy tells it from a value)."""

    CLEAR = "clear"


#: Remove this status field.
CLEAR: Final = Clear.CLEAR


@dataclasses.dataclass(frozen=True, kw_only=True)
class StatusChanges:
    """Status fields to set or remove; ``None`` leaves a field as it is (see the module docstring)."""

    job_deployment_status: str | Clear | None = None
    job_status: str | Clear | None = None
    reason: str | Clear | None = None
    message: str | Clear | None = None
    job_id: str | Clear | None = None
    ray_cluster_name: str | Clear | None = None
    dashboard_url: str | Clear | None = None
    start_time: dt.datetime | Clear | None = None
    job_status_check_failure_start_time: dt.datetime | Clear | None = None
    ray_job_info: RayJobInfo | Clear | None = None
    ray_cluster_status: RayClusterStatus | Clear | None = None

    def __or__(self, later: StatusChanges) -> StatusChanges:
        """These changes, then ``later``'s: a field that ``later`` sets or clears takes its value."""
        return dataclasses.replace(self, **later.touched())

    def touched(self) -> dict[str, Any]:
        """The fields these changes set or clear, by name."""
        return {f.name: value for f in dataclasses.fields(self) if (value := getattr(self, f.name)) is not None}

    def applied_to(self, status: RayJobStatus) -> RayJobStatus:
        """``status`` with these changes made (removed fields are ``None``; empty values are left for the caller
        to drop, as it drops them from any status: `raykube.controllers.rayjob.status.read_status`)."""
        update = {name: None if value is CLEAR else value for name, value in self.touched().items()}
        return status.model_copy(update=update)


NO_CHANGES: Final = StatusChanges()
