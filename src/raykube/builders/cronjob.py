"""The RayJob a RayCronJob creates for one scheduled run (KubeRay's ``raycronjob_controller.go``).

Named ``<cronjob>-<minutes since the Unix epoch of the scheduled time>``: the same run always gets the same
name, so a pass repeated after a failed status write finds the RayJob it already created (AlreadyExists)
instead of starting the run twice. A RayCronJob name has at most 36 characters, so the RayJob name (10 digits
at most) stays within the 47 a RayJob may have.
"""

from __future__ import annotations

import datetime as dt
import json

from raykube import reasons
from raykube.api.schema import K8sObject
from raykube.builders import kube


def scheduled_rayjob_name(cronjob_name: str, scheduled: dt.datetime) -> str:
    """``<cronjob>-<Unix minutes>`` as KubeRay; a run off the whole minute (``@every 20s``) counts in seconds, so
    two runs within one minute never share a name."""
    seconds = int(scheduled.timestamp())
    return f"{cronjob_name}-{seconds // 60 if seconds % 60 == 0 else seconds}"


def rfc3339(moment: dt.datetime) -> str:
    """UTC, whole seconds, ``Z`` (Go's ``time.RFC3339`` of a UTC time; metav1.Time's form)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_scheduled_rayjob(cronjob: K8sObject, scheduled: dt.datetime) -> K8sObject:
    """RayJob for the run at ``scheduled``: ``spec.jobTemplate`` as its spec, owned by the RayCronJob."""
    metadata = cronjob["metadata"]
    return {
        "apiVersion": reasons.API_VERSION,
        "kind": "RayJob",
        "metadata": {
            "name": scheduled_rayjob_name(metadata["name"], scheduled),
            "namespace": metadata["namespace"],
            "labels": {reasons.LABEL_CRONJOB_NAME: metadata["name"]},
            "annotations": {reasons.ANNOTATION_CRONJOB_SCHEDULED_TIMESTAMP: rfc3339(scheduled)},
            "ownerReferences": [kube.ray_owner_reference("RayCronJob", metadata)],
        },
        "spec": json.loads(json.dumps(cronjob["spec"]["jobTemplate"])),  # a deep copy of plain JSON
    }
