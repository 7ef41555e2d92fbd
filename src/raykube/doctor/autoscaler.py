"""Autoscaler rules: a cluster with in-tree autoscaling needs its Role and RoleBinding (named after the cluster).

The operator creates the autoscaler's ServiceAccount, Role and RoleBinding once per cluster and does not
re-create them while it runs, so a Role deleted by hand (or by a cleanup script) leaves the autoscaler sidecar
unable to list pods or patch the RayCluster: it stops scaling, with 403s in its log only.
"""

from __future__ import annotations

from raykube.builders.names import autoscaler_role_name
from raykube.doctor.findings import Finding
from raykube.doctor.snapshot import Obj, Snapshot

# What the autoscaler needs: (API group, resource) -> verbs.
NEEDED = {("", "pods"): {"get", "list", "watch", "patch"}, ("ray.io", "rayclusters"): {"get", "patch"}}


def granted(role: Obj) -> dict[tuple[str, str], set[str]]:
    grants: dict[tuple[str, str], set[str]] = {}
    for rule in role.get("rules") or ():
        for group in rule.get("apiGroups") or ():
            for resource in rule.get("resources") or ():
                grants.setdefault((group, resource), set()).update(rule.get("verbs") or ())
    return grants


def missing_verbs(role: Obj) -> list[str]:
    grants = granted(role)
    gaps = []
    for (group, resource), verbs in NEEDED.items():
        have = grants.get((group, resource), set()) | grants.get((group, "*"), set()) | grants.get(("*", "*"), set())
        lacking = sorted(verbs - have) if "*" not in have else []
        if lacking:
            gaps.append(f"{resource}{'.' + group if group else ''}: {', '.join(lacking)}")
    return gaps


def autoscaler_rbac(snapshot: Snapshot, cluster: Obj) -> list[Finding]:
    """The Role/RoleBinding of an autoscaling cluster: present, bound, granting what the autoscaler needs."""
    if not snapshot.rbac_known or not (cluster.get("spec") or {}).get("enableInTreeAutoscaling"):
        return []
    name = autoscaler_role_name(cluster["metadata"]["name"])
    ns = cluster["metadata"].get("namespace", snapshot.namespace)
    role = next((r for r in snapshot.roles if r["metadata"]["name"] == name), None)
    binding = next((b for b in snapshot.role_bindings if b["metadata"]["name"] == name), None)
    evidence = []
    if role is None:
        evidence.append(f"Role {ns}/{name}: not found")
    elif missing_verbs(role):
        evidence.append(f"Role {ns}/{name} lacks " + "; ".join(missing_verbs(role)))
    if binding is None:
        evidence.append(f"RoleBinding {ns}/{name}: not found")
    elif (binding.get("roleRef") or {}).get("name") != name:
        evidence.append(f"RoleBinding {ns}/{name} binds Role {(binding.get('roleRef') or {}).get('name')!r}")
    if not evidence:
        return []
    return [Finding("autoscaler-rbac-missing", f"RayCluster {ns}/{cluster['metadata']['name']}",
                    "The autoscaler cannot do its work: the Role or RoleBinding the operator made for it is missing "
                    "or too narrow, so the cluster no longer scales (403s in the head's autoscaler container).",
                    tuple(evidence),
                    "Restart the operator (it re-creates missing autoscaler RBAC for each cluster once per run), or "
                    "re-create the Role and RoleBinding from `raykube render -f <cluster.yaml>`.")]
