"""The GCS FT Redis clean-up finalizer: what the next step is, as a pure function (KubeRay §2.9).

A RayCluster with Redis GCS FT (``gcsFaultToleranceOptions`` without ``backend: rocksdb``, or the legacy
``ray.io/ft-enabled: "true"`` annotation) gets the finalizer ``ray.io/gcs-ft-redis-cleanup-finalizer`` before
anything else is created, unless the operator runs with ``ENABLE_GCS_FT_REDIS_CLEANUP=false``. When such a
cluster is deleted: its head and worker pods are deleted; once no head pod is left the Job
``<cluster>-redis-cleanup`` is created; the finalizer goes when that Job has finished (Complete or Failed),
or, whatever the state, once ``ray.io/gcs-ft-deletion-timeout`` seconds (default 300) have passed since the
deletion began, with the Warning Event ``ForceDeletedStuckCluster``.

Where raykube differs (docs/compatibility.md): a finalizer the operator will never act on (GCS FT off or
rocksdb, or clean-up switched off) is removed at once with an Event instead of holding the deletion for ever;
a failed Job gets a Warning Event ``RedisCleanupJobFailed`` naming the namespace left in Redis; every waiting
step says in an Event what the deletion waits for and until when, and the RayCluster's ``status.reason`` says it
for as long as the finalizer holds the deletion (`Decision.reason`, `waiting_reason`).

Pure and free of the runtime, so that ``raykube doctor`` computes the same deadline (`deletion_deadline`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from raykube import reasons
from raykube.builders.gcs_ft import redis_cleanup_job_name
from raykube.controllers.event import Event

E = reasons.EventReason

DEFAULT_DELETION_TIMEOUT_S: Final = 300
#: How often a deletion waiting on pods or the Job is looked at again (KubeRay requeues after 10 s).
WAIT_REQUEUE_S: Final = 10.0
#: How ``status.reason`` of a RayCluster whose deletion the finalizer holds begins.
DELETING_PREFIX: Final = "Deleting: "
_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"


class Step(StrEnum):
    NOTHING = "Nothing"
    ADD_FINALIZER = "AddFinalizer"
    REMOVE_FINALIZER = "RemoveFinalizer"
    DELETE_PODS = "DeletePods"
    WAIT_FOR_PODS = "WaitForPods"
    CREATE_JOB = "CreateJob"
    WAIT_FOR_JOB = "WaitForJob"


@dataclass(frozen=True)
class Decision:
    """The one step this pass takes, the pods it deletes, its Events and when to look again."""

    step: Step
    pods: tuple[str, ...] = ()
    events: tuple[Event, ...] = ()
    requeue_after: float | None = None
    stop: bool = False
    """The reconcile pass ends here: the cluster is being deleted."""
    reason: str | None = None
    """``status.reason`` while the finalizer holds the deletion (`waiting_reason`); None: the status is left alone."""


@dataclass(frozen=True)
class Deadline:
    """When the deletion began and when the operator stops waiting for the clean-up Job."""

    started: dt.datetime
    timeout: int
    """Seconds, from ``ray.io/gcs-ft-deletion-timeout`` or the default."""
    complaint: str | None = None
    """Why the annotation was not used, when it is unusable."""

    @property
    def at(self) -> dt.datetime:
        return self.started + dt.timedelta(seconds=self.timeout)


def deletion_timeout(annotations: dict[str, str]) -> tuple[int, str | None]:
    """Seconds from ``ray.io/gcs-ft-deletion-timeout`` (default 300), and a complaint when it is unusable."""
    raw = annotations.get(reasons.ANNOTATION_GCS_FT_DELETION_TIMEOUT)
    if raw is None:
        return DEFAULT_DELETION_TIMEOUT_S, None
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value <= 0:
        return DEFAULT_DELETION_TIMEOUT_S, (
            f"annotation {reasons.ANNOTATION_GCS_FT_DELETION_TIMEOUT}={raw!r} is not a positive number of "
            f"seconds; using {DEFAULT_DELETION_TIMEOUT_S}"
        )
    return value, None


def parse_time(value: Any) -> dt.datetime | None:
    """A ``metav1.Time`` string as an aware datetime (None when missing or unreadable)."""
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def deletion_deadline(obj: dict[str, Any], now: dt.datetime) -> Deadline:
    """When the deletion of the cluster ``obj`` (raw JSON) began and when the finalizer goes whatever the Job
    does: ``deletionTimestamp`` + ``ray.io/gcs-ft-deletion-timeout`` (``now`` stands in for a missing stamp)."""
    meta = obj["metadata"]
    timeout, complaint = deletion_timeout(dict(meta.get("annotations") or {}))
    started = parse_time(meta.get("deletionTimestamp")) or now
    return Deadline(started, timeout, complaint)


def format_time(moment: dt.datetime) -> str:
    """A time as the status and Events show it: RFC 3339, whole seconds, UTC."""
    return moment.astimezone(dt.UTC).strftime(_TIME_FORMAT)


def waiting_reason(obj: dict[str, Any], deadline: Deadline, *, pods_left: bool) -> str:
    """``status.reason`` while the finalizer holds the deletion: what it waits for, since when, until when, and
    what happens then. Only times that do not move, so the status is written when the step changes, not every
    pass."""
    meta = obj["metadata"]
    job = f"{meta.get('namespace')}/{redis_cleanup_job_name(str(meta.get('name')))}"
    if pods_left:
        what = f"waiting for the Ray pods to stop before the Redis clean-up Job {job} can remove the cluster's keys"
    else:
        what = f"waiting for the Redis clean-up Job {job} to remove the cluster's keys"
    return (
        f"{DELETING_PREFIX}{what} from Redis (deletion began {format_time(deadline.started)}). The finalizer "
        f"{reasons.FINALIZER_GCS_FT_REDIS_CLEANUP} is removed when the Job completes; if it fails, or has not "
        f"finished by {format_time(deadline.at)} ({reasons.ANNOTATION_GCS_FT_DELETION_TIMEOUT}="
        f"{deadline.timeout}s), it is removed anyway with a Warning Event ({E.REDIS_CLEANUP_JOB_FAILED} or "
        f"{E.FORCE_DELETED_STUCK_CLUSTER}) and the keys may remain in Redis"
    )


def job_outcome(job: dict[str, Any] | None) -> str | None:
    """``Complete`` or ``Failed`` once the Job has finished, else None."""
    if job is None:
        return None
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
            return str(condition["type"])
    return None


def decide(
    obj: dict[str, Any],
    *,
    redis_ft: bool,
    cleanup_enabled: bool,
    ray_pods: list[dict[str, Any]],
    job: dict[str, Any] | None,
    now: dt.datetime,
) -> Decision:
    """The next step for the cluster ``obj`` (raw JSON) given its Ray pods and its clean-up Job (or None)."""
    meta = obj["metadata"]
    where = f"{meta.get('namespace')}/{meta.get('name')}"
    has_finalizer = reasons.FINALIZER_GCS_FT_REDIS_CLEANUP in (meta.get("finalizers") or [])
    deleting = meta.get("deletionTimestamp") is not None
    wanted = redis_ft and cleanup_enabled
    if not has_finalizer:
        if wanted and not deleting:
            return Decision(Step.ADD_FINALIZER)
        return Decision(Step.NOTHING, stop=deleting)
    if not wanted:
        why = "GCS fault tolerance with Redis is not enabled" if not redis_ft else (
            "the operator runs with ENABLE_GCS_FT_REDIS_CLEANUP=false"
        )
        note = f"Removed finalizer {reasons.FINALIZER_GCS_FT_REDIS_CLEANUP} from RayCluster {where}: {why}"
        return Decision(Step.REMOVE_FINALIZER, events=(Event.normal(E.REMOVED_GCS_FT_FINALIZER, note, "Cleanup"),),
                        stop=deleting)
    if not deleting:
        return Decision(Step.NOTHING)

    deadline = deletion_deadline(obj, now)
    timeout, complaint = deadline.timeout, deadline.complaint
    complaints = (Event.warning(E.INVALID_RAYCLUSTER_METADATA, complaint, "Cleanup"),) if complaint else ()
    if now >= deadline.at:
        state = "had not finished" if job is not None else "was never created"
        note = (
            f"RayCluster {where} was stuck in deletion for {timeout} seconds (the Redis clean-up Job {state}); "
            f"removed finalizer {reasons.FINALIZER_GCS_FT_REDIS_CLEANUP}. "
            "The keys of the cluster's storage namespace may remain in Redis"
        )
        return Decision(Step.REMOVE_FINALIZER, events=(Event.warning(E.FORCE_DELETED_STUCK_CLUSTER, note, "Cleanup"),),
                        stop=True)
    left = max((deadline.at - now).total_seconds(), 0.5)
    wait = min(WAIT_REQUEUE_S, left)
    live = [p for p in ray_pods if not (p["metadata"].get("deletionTimestamp"))]
    if live:
        return Decision(Step.DELETE_PODS, pods=tuple(sorted(p["metadata"]["name"] for p in live)),
                        events=complaints, requeue_after=wait, stop=True,
                        reason=waiting_reason(obj, deadline, pods_left=True))
    heads = [p for p in ray_pods if (p["metadata"].get("labels") or {}).get(reasons.LABEL_NODE_TYPE) == "head"]
    if heads:
        return Decision(Step.WAIT_FOR_PODS, requeue_after=wait, stop=True,
                        reason=waiting_reason(obj, deadline, pods_left=True))
    if job is None:
        note = (
            f"Created Redis clean-up Job {where}-redis-cleanup; finalizer "
            f"{reasons.FINALIZER_GCS_FT_REDIS_CLEANUP} stays until it finishes, at most until "
            f"{format_time(deadline.at)} ({reasons.ANNOTATION_GCS_FT_DELETION_TIMEOUT}={timeout}s)"
        )
        created = Event.normal(E.CREATED_REDIS_CLEANUP_JOB, note, "Create")
        return Decision(Step.CREATE_JOB, events=(*complaints, created), requeue_after=wait, stop=True,
                        reason=waiting_reason(obj, deadline, pods_left=False))
    outcome = job_outcome(job)
    if outcome == "Complete":
        return Decision(Step.REMOVE_FINALIZER, stop=True)
    if outcome == "Failed":
        namespace = annotations_namespace(obj)
        note = (
            f"Redis clean-up Job {where}-redis-cleanup failed; removed finalizer "
            f"{reasons.FINALIZER_GCS_FT_REDIS_CLEANUP}. Delete the keys of storage namespace {namespace} from Redis "
            "by hand"
        )
        return Decision(Step.REMOVE_FINALIZER, events=(Event.warning(E.REDIS_CLEANUP_JOB_FAILED, note, "Cleanup"),),
                        stop=True)
    return Decision(Step.WAIT_FOR_JOB, requeue_after=wait, stop=True,
                    reason=waiting_reason(obj, deadline, pods_left=False))


def annotations_namespace(obj: dict[str, Any]) -> str:
    """The external storage namespace the cluster's keys live under (as the head pod's env has it)."""
    spec = obj.get("spec") or {}
    options = spec.get("gcsFaultToleranceOptions") or {}
    if options.get("externalStorageNamespace"):
        return str(options["externalStorageNamespace"])
    meta = obj["metadata"]
    annotations = meta.get("annotations") or {}
    return str(annotations.get(reasons.ANNOTATION_EXTERNAL_STORAGE_NAMESPACE) or meta.get("uid", ""))
