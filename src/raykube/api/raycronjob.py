"""RayCronJob (ray.io/v1, alpha upstream): creates a RayJob from ``jobTemplate`` on a cron schedule."""

from __future__ import annotations

from typing import ClassVar, Literal

from raykube.api.common import RayObject
from raykube.api.rayjob import RayJobSpec
from raykube.api.schema import CrdInfo, PrinterColumn, RayModel, prop


class RayCronJobSpec(RayModel):
    """Desired state of a RayCronJob."""

    job_template: RayJobSpec = prop("jobTemplate", "Spec of the RayJobs to create.", required=True)
    schedule: str = prop("schedule", "Standard five-field cron schedule (no TZ= prefix).", required=True)
    suspend: bool | None = prop("suspend", "Stop creating new RayJobs.")
    time_zone: str | None = prop("timeZone", "IANA time zone of the schedule (default: UTC).", min_length=1)


class RayCronJobStatus(RayModel):
    """Observed state of a RayCronJob."""

    last_schedule_time: str | None = prop("lastScheduleTime", "When a RayJob was last scheduled.", format="date-time")


class RayCronJob(RayObject):
    """Periodic RayJobs."""

    CRD_INFO: ClassVar[CrdInfo] = CrdInfo(
        kind="RayCronJob",
        plural="raycronjobs",
        singular="raycronjob",
        list_kind="RayCronJobList",
        description="RayCronJob creates RayJobs on a cron schedule.",
        printer_columns=(
            PrinterColumn("schedule", "string", ".spec.schedule"),
            PrinterColumn("timezone", "string", ".spec.timeZone"),
            PrinterColumn("last schedule", "date", ".status.lastScheduleTime"),
            PrinterColumn("age", "date", ".metadata.creationTimestamp"),
            PrinterColumn("suspend", "boolean", ".spec.suspend"),
        ),
    )

    kind: Literal["RayCronJob"] = "RayCronJob"
    spec: RayCronJobSpec = prop("spec", "Desired state.", python_required=True)
    status: RayCronJobStatus | None = prop("status", "Observed state.")
