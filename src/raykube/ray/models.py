"""Wire models of Ray's Jobs REST API (``/api/jobs/``), as Ray's dashboard sends and accepts them.

Only the fields raykube reads or sends are declared; unknown fields are ignored, so newer Ray versions
with more fields still parse. Times on the wire are milliseconds since the epoch (0 or absent: unknown).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RayJobState(StrEnum):
    """``status`` of a Ray job (Ray's ``JobStatus``)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        return self in (RayJobState.STOPPED, RayJobState.SUCCEEDED, RayJobState.FAILED)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class JobDetails(_Wire):
    """``GET /api/jobs/<submission_id>``: one job as the dashboard reports it."""

    submission_id: str | None = None
    job_id: str | None = None
    type: str | None = None
    status: RayJobState
    entrypoint: str = ""
    message: str | None = None
    error_type: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    metadata: dict[str, str] | None = None
    runtime_env: dict[str, Any] | None = None
    driver_exit_code: int | None = None

    @property
    def started_at(self) -> dt.datetime | None:
        return millis_to_datetime(self.start_time)

    @property
    def ended_at(self) -> dt.datetime | None:
        return millis_to_datetime(self.end_time)


class JobSubmitRequest(_Wire):
    """``POST /api/jobs/`` body; unset optional fields are left out of the JSON."""

    entrypoint: str
    submission_id: str | None = None
    runtime_env: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None
    entrypoint_num_cpus: float | None = None
    entrypoint_num_gpus: float | None = None
    entrypoint_memory: int | None = None
    entrypoint_resources: dict[str, float] | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class JobSubmitResponse(_Wire):
    """``POST /api/jobs/`` answer."""

    submission_id: str
    job_id: str | None = None


class JobStopResponse(_Wire):
    """``POST /api/jobs/<id>/stop`` answer: whether a running job was asked to stop."""

    stopped: bool


class JobLogsResponse(_Wire):
    """``GET /api/jobs/<id>/logs`` answer: the whole driver log so far."""

    logs: str = ""


class JobList(_Wire):
    """``GET /api/jobs/`` answer (a JSON list on the wire)."""

    jobs: list[JobDetails] = Field(default_factory=list)


def millis_to_datetime(value: int | None) -> dt.datetime | None:
    """Milliseconds since the epoch as an aware UTC datetime (``None`` for 0 or missing)."""
    if not value:
        return None
    return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
