"""Kind rules: what a RayCluster's, RayJob's or RayService's own status and Events say.

* Pod creation refused (quota exceeded, an admission webhook, RBAC): the operator's Warning Events and the
  RayCluster's ``ReplicaFailure`` condition quote the API server's answer; full ResourceQuotas are named.
* A RayCluster that is not ready with no pod to blame: its conditions.
* A RayJob stuck in ``Initializing`` (waiting for its cluster), one whose dashboard stopped answering, one
  that failed.
* A RayService whose Serve applications fail, or that is not Ready.
"""

from __future__ import annotations

from raykube.doctor.findings import Finding
from raykube.doctor.snapshot import Obj, Snapshot, age, event_line, events_about

INITIALIZING_AFTER = 10.0  # seconds in Initializing before the doctor calls a RayJob stuck
_REFUSALS = ("exceeded quota", "forbidden", "denied the request", "denied request", "admission webhook", "is invalid")


def _quantity_full(used: str, hard: str) -> bool:
    from raykube.api.quantity import Quantity, QuantityError

    try:
        return Quantity.parse(used).value >= Quantity.parse(hard).value
    except QuantityError:
        return False


def full_quotas(quotas: tuple[Obj, ...]) -> list[str]:
    lines = []
    for quota in quotas:
        status = quota.get("status") or {}
        used, hard = status.get("used") or {}, status.get("hard") or {}
        for resource, limit in sorted(hard.items()):
            if resource in used and _quantity_full(str(used[resource]), str(limit)):
                lines.append(f"ResourceQuota {quota['metadata']['name']}: {resource} used {used[resource]} of "
                             f"{limit}")
    return lines


def creation_refused(snapshot: Snapshot, cluster: Obj) -> list[Finding]:
    name = cluster["metadata"]["name"]
    refusals = [e for e in events_about(snapshot, name) if e.get("type") == "Warning"
                and any(word in str(e.get("message") or e.get("note") or "") for word in _REFUSALS)]
    conditions = [c for c in (cluster.get("status") or {}).get("conditions") or ()
                  if c.get("type") == "ReplicaFailure" and c.get("status") == "True"]
    if not refusals and not conditions:
        return []
    text = " ".join(str(e.get("message") or "") for e in refusals) + " ".join(str(c.get("message")) for c in conditions)
    evidence = [event_line(e) for e in refusals[-3:]]
    evidence += [f"condition ReplicaFailure=True ({c.get('reason')}): {c.get('message')}" for c in conditions]
    subject = f"RayCluster {snapshot.namespace}/{name}"
    if "exceeded quota" in text:
        return [Finding("pod-creation-quota", subject,
                        "The API server refuses to create this cluster's pods: a ResourceQuota in the namespace is "
                        "used up.", (*evidence, *full_quotas(snapshot.quotas)),
                        f"Raise the quota (`kubectl describe resourcequota -n {snapshot.namespace}`), free some of "
                        "it, or ask for fewer/smaller Ray pods.")]
    if "cannot create resource" in text:  # RBAC's wording; admission policies say "forbidden" too
        code, summary = "pod-creation-forbidden", "The operator is not allowed to create this cluster's pods (RBAC)."
        fix = "Give the operator's ServiceAccount permission to create pods in this namespace."
    else:
        code, summary = "pod-creation-rejected", "An admission check rejects this cluster's pods."
        fix = "Change the pod template to satisfy the admission policy or webhook quoted above."
    return [Finding(code, subject, summary, tuple(evidence), fix)]


def cluster_not_ready(cluster: Obj) -> Finding | None:
    status = cluster.get("status") or {}
    if status.get("state") == "ready" or not status:
        return None
    if (cluster.get("spec") or {}).get("suspend"):
        return None
    conditions = [f"condition {c.get('type')}={c.get('status')} ({c.get('reason', '')}): {c.get('message', '')}"
                  for c in status.get("conditions") or ()]
    return Finding("raycluster-not-ready", f"RayCluster {cluster['metadata'].get('namespace')}/"
                   f"{cluster['metadata']['name']}",
                   f"The RayCluster is not ready (state {status.get('state') or 'none'!r}); no pod shows why yet.",
                   (f"state: {status.get('state')}, ready worker replicas "
                    f"{status.get('readyWorkerReplicas', 0)} of {status.get('desiredWorkerReplicas', 0)}",
                    *conditions),
                   "Look again in a minute: pods may still be starting. `kubectl describe raycluster` shows the "
                   "Events.")


def rayjob_rules(snapshot: Snapshot, cluster_findings: list[Finding]) -> list[Finding]:
    status = snapshot.obj.get("status") or {}
    state = status.get("jobDeploymentStatus") or ""
    findings = []
    if state == "Initializing" and (cluster_findings or age(snapshot.obj, snapshot.now) > INITIALIZING_AFTER):
        cluster = status.get("rayClusterName") or "(none yet)"
        cluster_state = next((str((c.get("status") or {}).get("state") or "not ready") for c in snapshot.clusters),
                             "missing")
        findings.append(Finding(
            "rayjob-stuck-initializing", snapshot.subject,
            f"The RayJob is stuck in Initializing: it waits for its RayCluster {cluster} to become ready.",
            (f"jobDeploymentStatus: Initializing; RayCluster {cluster}: {cluster_state}",
             *[f"cluster: {f.summary} ({f.subject})" for f in cluster_findings[:3]]),
            "Fix the cluster problems listed with this RayJob; the job starts as soon as the head is ready."))
    if status.get("jobStatusCheckFailureStartTime"):
        findings.append(Finding(
            "rayjob-dashboard-unreachable", snapshot.subject,
            "The operator cannot get the job's status from the Ray dashboard.",
            (f"jobStatusCheckFailureStartTime: {status['jobStatusCheckFailureStartTime']}",
             *[event_line(e) for e in events_about(snapshot, snapshot.name)[-2:]]),
            "Check the head pod is Ready and its dashboard (port 8265) is up."))
    if state in ("Failed", "ValidationFailed"):
        findings.append(Finding(
            "rayjob-failed", snapshot.subject, f"The RayJob ended in {state}.",
            (f"reason {status.get('reason', '')}: {status.get('message', '')}",),
            f"`raykube job logs {snapshot.name} -n {snapshot.namespace}` shows the job's output."))
    return findings


def rayservice_rules(snapshot: Snapshot) -> list[Finding]:
    status = snapshot.obj.get("status") or {}
    findings = []
    for side in ("activeServiceStatus", "pendingServiceStatus"):
        for app, info in sorted(((status.get(side) or {}).get("applicationStatuses") or {}).items()):
            if info.get("status") in ("DEPLOY_FAILED", "UNHEALTHY"):
                findings.append(Finding(
                    "serve-application-failing", snapshot.subject,
                    f"Serve application {app!r} is {info['status']}.",
                    (f"{side}.applicationStatuses.{app}: {info['status']}: {info.get('message', '')}",),
                    "Fix the application (serveConfigV2: import path, runtime env, deployments); the message "
                    "above is Serve's."))
    ready = next((c for c in status.get("conditions") or () if c.get("type") == "Ready"), None)
    if not findings and ready is not None and ready.get("status") == "False" and snapshot.obj.get("status"):
        findings.append(Finding(
            "rayservice-not-ready", snapshot.subject, "The RayService is not Ready.",
            (f"condition Ready=False ({ready.get('reason', '')}): {ready.get('message', '')}",),
            "See the findings of its RayCluster; Serve applications start once the head is ready."))
    return findings
