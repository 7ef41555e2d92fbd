"""Deletion rule: a RayCluster whose deletion the GCS FT Redis clean-up finalizer holds.

A cluster with Redis GCS fault tolerance keeps ``ray.io/gcs-ft-redis-cleanup-finalizer`` until the Job
``<cluster>-redis-cleanup`` has removed its keys from Redis (created once the head pod is gone), or until
``ray.io/gcs-ft-deletion-timeout`` seconds (default 300) after the deletion began. The finding names the Job
and its state (not created yet, running, failed, complete), how long the deletion has waited and when the
operator gives up; the deadline is the operator's own (`gcs_cleanup.deletion_deadline`).
"""

from __future__ import annotations

import json

from raykube import reasons
from raykube.builders.gcs_ft import redis_cleanup_job_name
from raykube.controllers.raycluster.gcs_cleanup import (
    annotations_namespace,
    deletion_deadline,
    format_time,
    job_outcome,
)
from raykube.doctor.findings import Finding
from raykube.doctor.snapshot import Obj, Snapshot, event_line, events_about

CODE = "raycluster-deletion-waiting"
FIN = reasons.FINALIZER_GCS_FT_REDIS_CLEANUP
ANNOTATION = reasons.ANNOTATION_GCS_FT_DELETION_TIMEOUT


def duration(seconds: float) -> str:
    """``45s``, ``2m05s``, ``1h02m``."""
    whole = max(int(seconds), 0)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _job_lines(job: Obj) -> list[str]:
    status = job.get("status") or {}
    counts = ", ".join(f"{key} {status[key]}" for key in ("active", "succeeded", "failed") if status.get(key))
    lines = [f"Job status: {counts or 'no pod yet'}"
             + (f", started {status['startTime']}" if status.get("startTime") else "")]
    lines += [f"Job condition {c.get('type')}={c.get('status')} ({c.get('reason', '')}): {c.get('message', '')}"
              for c in status.get("conditions") or () if c.get("status") == "True"]
    return lines


def _job_state(job: Obj | None, outcome: str | None, *, known: bool, pods_left: int) -> str:
    if job is not None:
        return {"Complete": "complete", "Failed": "failed"}.get(outcome or "", "running")
    if not known:
        return "unknown (Jobs could not be read)"
    if pods_left:
        return f"not created yet: {pods_left} Ray pod(s) still stopping, the Job starts once the head is gone"
    return "not created yet"


def cleanup_wait(snapshot: Snapshot, cluster: Obj) -> Finding | None:
    """The finding for ``cluster`` when it is being deleted and the clean-up finalizer still holds it."""
    meta = cluster["metadata"]
    if not meta.get("deletionTimestamp") or FIN not in (meta.get("finalizers") or ()):
        return None
    name, ns = str(meta["name"]), str(meta.get("namespace", ""))
    job_name = redis_cleanup_job_name(name)
    job = next((j for j in snapshot.jobs if j["metadata"]["name"] == job_name
                and j["metadata"].get("namespace", ns) == ns), None)
    deadline = deletion_deadline(cluster, snapshot.now)
    waited = duration((snapshot.now - deadline.started).total_seconds())
    left = (deadline.at - snapshot.now).total_seconds()
    ray_pods = [p for p in snapshot.pods if (p["metadata"].get("labels") or {}).get(reasons.LABEL_CLUSTER) == name
                and (p["metadata"].get("labels") or {}).get(reasons.LABEL_NODE_TYPE) in ("head", "worker")]
    outcome = job_outcome(job)
    state = _job_state(job, outcome, known=snapshot.jobs_known, pods_left=len(ray_pods))
    where = f"{ns}/{job_name}"
    gives_up = format_time(deadline.at)
    if left > 0:
        when = f"the operator gives up at {gives_up} (in {duration(left)})"
    else:
        when = f"the operator should have given up at {gives_up} ({duration(-left)} ago)"
    summary = (f"The deletion waits for the Redis clean-up Job {where} ({state}); finalizer {FIN} holds it. "
               f"Waited {waited}; {when}.")
    annotated = ANNOTATION in (meta.get("annotations") or {}) and deadline.complaint is None
    source = f"annotation {ANNOTATION}" if annotated else "the default"
    evidence = [f"metadata.deletionTimestamp: {meta['deletionTimestamp']}; finalizers: {meta.get('finalizers')}",
                f"deadline {gives_up}: deletion + {deadline.timeout}s ({source})"]
    if deadline.complaint:
        evidence.append(deadline.complaint)
    evidence.append(f"Job {where}: {state}")
    if job is not None:
        evidence += _job_lines(job)
    evidence += [f"pod {p['metadata']['name']}: being deleted" if p["metadata"].get("deletionTimestamp")
                 else f"pod {p['metadata']['name']}: not deleted yet" for p in ray_pods[:3]]
    reason = (cluster.get("status") or {}).get("reason")
    if reason:
        evidence.append(f"status.reason: {reason}")
    evidence += [event_line(e) for e in events_about(snapshot, name, "RayCluster")[-3:]]
    index = list(meta.get("finalizers") or ()).index(FIN)
    give_up_now = (f"To stop waiting now (the keys of storage namespace {annotations_namespace(cluster)} then stay "
                   f"in Redis): `kubectl patch raycluster {name} -n {ns} --type=json -p "
                   f"'{json.dumps([{'op': 'remove', 'path': f'/metadata/finalizers/{index}'}])}'`.")
    if left <= 0 or outcome is not None:
        fix = ("The operator removes the finalizer on its next pass; if the RayCluster stays, check that the "
               f"operator is running (see the operator findings). {give_up_now}")
    elif job is not None:
        fix = (f"Wait, or see why the Job has not finished: `kubectl logs job/{job_name} -n {ns}` (can it reach "
               f"Redis?). {give_up_now}")
    else:
        fix = ("The Job is created once the head pod is gone; a pod stuck terminating (its node lost) needs "
               f"`kubectl delete pod --force`. {give_up_now}")
    return Finding(CODE, f"RayCluster {ns}/{name}", summary, tuple(evidence), fix)
