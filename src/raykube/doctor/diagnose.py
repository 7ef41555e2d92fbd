"""`diagnose(snapshot) -> findings`: the doctor's whole judgement, pure (see the package docstring)."""

from __future__ import annotations

from raykube.doctor import autoscaler, crds, deletion, kinds, logs, operator, pods
from raykube.doctor.findings import Finding
from raykube.doctor.snapshot import Obj, Snapshot, events_about


def _cluster_findings(snapshot: Snapshot, cluster: Obj) -> list[Finding]:
    name = cluster["metadata"]["name"]
    waiting = deletion.cleanup_wait(snapshot, cluster)
    found = [waiting] if waiting else []
    found += kinds.creation_refused(snapshot, cluster) + autoscaler.autoscaler_rbac(snapshot, cluster)
    found += logs.autoscaler_errors(snapshot, cluster)
    for pod in snapshot.pods:
        if (pod["metadata"].get("labels") or {}).get("ray.io/cluster") == name:
            found += pods.diagnose_pod(pod, events_about(snapshot, pod["metadata"]["name"], "Pod"), snapshot.now)
    if not found:
        not_ready = kinds.cluster_not_ready(cluster)
        found += [not_ready] if not_ready else []
    return found


def diagnose(snapshot: Snapshot) -> list[Finding]:
    """Every problem the snapshot shows, the operator's first; an empty list means healthy."""
    findings = operator.diagnose_operator(snapshot) + crds.crd_findings(snapshot)
    clusters = [snapshot.obj] if snapshot.kind == "RayCluster" else list(snapshot.clusters)
    cluster_findings = [f for cluster in clusters for f in _cluster_findings(snapshot, cluster)]
    if snapshot.kind == "RayJob":
        findings += kinds.rayjob_rules(snapshot, cluster_findings)
        submitters = [p for p in snapshot.pods if not (p["metadata"].get("labels") or {}).get("ray.io/cluster")]
        for pod in submitters:
            failed = logs.submitter_failed(snapshot, pod)  # with its last log lines, rather than a bare exit code
            findings += [failed] if failed else pods.diagnose_pod(pod, events_about(snapshot, pod["metadata"]["name"],
                                                                                    "Pod"), snapshot.now)
    elif snapshot.kind == "RayService":
        findings += kinds.rayservice_rules(snapshot)
    findings += cluster_findings
    unique: dict[tuple[str, str], Finding] = {}
    for finding in findings:
        unique.setdefault((finding.code, finding.subject), finding)
    return list(unique.values())
