"""Operator rules: is a KubeRay-compatible operator running, and does it watch this object's namespace?

An operator shows itself by its leader-election Lease ``ray-operator-leader`` (held, and renewed within twice
its duration) or by a ready ``kuberay-operator`` Deployment (the Helm chart's). The namespaces it watches come
from the Deployment's ``--watch-namespace`` flag or ``WATCH_NAMESPACE``; an operator running as a plain process
reveals them only indirectly: it never writes a status in a namespace it does not watch.
"""

from __future__ import annotations

import datetime as dt

from raykube.doctor.findings import Finding
from raykube.doctor.snapshot import Obj, OperatorView, Snapshot, age, parse_time

UNRECONCILED_AFTER = 15.0  # seconds without any status before the doctor says the operator ignores an object


def lease_alive(lease: Obj, now: dt.datetime) -> bool:
    spec = lease.get("spec") or {}
    renewed = parse_time(spec.get("renewTime"))
    if not spec.get("holderIdentity") or renewed is None:
        return False
    return (now - renewed).total_seconds() <= 2 * max(int(spec.get("leaseDurationSeconds") or 15), 15)


def deployment_ready(deployment: Obj) -> bool:
    return int((deployment.get("status") or {}).get("readyReplicas") or 0) > 0


def describe_lease(lease: Obj) -> str:
    meta, spec = lease["metadata"], lease.get("spec") or {}
    holder = spec.get("holderIdentity") or "(released: nobody holds it)"
    return f"Lease {meta.get('namespace', '')}/{meta['name']}: holder {holder}, renewed {spec.get('renewTime')}"


def watched_namespaces(deployment: Obj) -> list[str] | None:
    """The namespaces a chart-deployed operator watches (None: all)."""
    for container in deployment["spec"]["template"]["spec"].get("containers") or ():
        args = [str(a) for a in [*(container.get("command") or ()), *(container.get("args") or ())]]
        for i, arg in enumerate(args):
            value = None
            if arg.startswith("--watch-namespace="):
                value = arg.split("=", 1)[1]
            elif arg == "--watch-namespace" and i + 1 < len(args):
                value = args[i + 1]
            if value:
                return [n for n in value.split(",") if n]
        for env in container.get("env") or ():
            if env.get("name") == "WATCH_NAMESPACE" and env.get("value"):
                return [n for n in str(env["value"]).split(",") if n]
    return None


def operator_running(view: OperatorView, now: dt.datetime) -> bool:
    return any(lease_alive(lease, now) for lease in view.leases) or any(deployment_ready(d) for d in view.deployments)


def diagnose_operator(snapshot: Snapshot) -> list[Finding]:
    view, now = snapshot.operator, snapshot.now
    if not snapshot.operator_known:
        return []
    if not operator_running(view, now):
        evidence = [describe_lease(lease) for lease in view.leases] or [
            "no Lease ray-operator-leader in any namespace"]
        evidence += [f"Deployment {d['metadata'].get('namespace')}/{d['metadata']['name']}: ready replicas "
                     f"{(d.get('status') or {}).get('readyReplicas') or 0}" for d in view.deployments] or [
            "no Deployment labelled app.kubernetes.io/name=kuberay-operator"]
        return [Finding("operator-not-running", snapshot.subject,
                        "No KubeRay-compatible operator is running, so nothing reconciles this object.",
                        tuple(evidence),
                        "Start the operator: `raykube operator` (or `helm install kuberay-operator "
                        "kuberay/kuberay-operator`), then check its log.")]
    findings = []
    for deployment in view.deployments:
        watched = watched_namespaces(deployment)
        if deployment_ready(deployment) and watched is not None and snapshot.namespace not in watched:
            findings.append(Finding(
                "operator-not-watching-namespace", snapshot.subject,
                f"The operator watches only {', '.join(watched)}, not {snapshot.namespace}.",
                (f"Deployment {deployment['metadata'].get('namespace')}/{deployment['metadata']['name']}: "
                 f"--watch-namespace={','.join(watched)}",),
                f"Add {snapshot.namespace} to the chart's watchNamespace (singleNamespaceInstall) values, or "
                "create the object in a watched namespace."))
    if not findings and not snapshot.obj.get("status") and age(snapshot.obj, now) > UNRECONCILED_AFTER:
        findings.append(Finding(
            "operator-not-reconciling", snapshot.subject,
            f"An operator is running, but in {int(age(snapshot.obj, now))}s it has never written this object's "
            f"status: it probably does not watch namespace {snapshot.namespace} (or lacks RBAC there).",
            ("status: (empty)", *[describe_lease(lease) for lease in view.leases if lease_alive(lease, now)]),
            "Check the operator's --watch-namespace and its log for errors about this namespace."))
    return findings
