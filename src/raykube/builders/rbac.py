"""ServiceAccount, Role and RoleBinding for the Ray autoscaler sidecar (KubeRay's ``common/rbac.go``).

Created only with ``enableInTreeAutoscaling``. The Role lets the autoscaler read and patch pods (v1.7.0
added ``patch`` on ``pods`` and on ``pods/resize`` to the v1.3.0 rules) and get/patch its RayCluster. The
ServiceAccount is only created when its name is the cluster's own name: a ``serviceAccountName`` set in
the head template must already exist (the controller reports ``AutoscalerServiceAccountNotFound``).
"""

from __future__ import annotations

from raykube.api.schema import K8sObject
from raykube.builders import kube, names
from raykube.builders.pod import ClusterContext

ROLE_RULES: tuple[K8sObject, ...] = (
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "patch"]},
    {"apiGroups": [""], "resources": ["pods/resize"], "verbs": ["patch"]},
    {"apiGroups": ["ray.io"], "resources": ["rayclusters"], "verbs": ["get", "patch"]},
)


def service_account_name(ctx: ClusterContext) -> str:
    """The autoscaler's ServiceAccount (head template ``serviceAccountName`` or the cluster name)."""
    template_sa = ctx.spec.head_group_spec.template.get("spec", {}).get("serviceAccountName")
    return names.autoscaler_service_account_name(ctx.name, template_sa)


def creates_service_account(ctx: ClusterContext) -> bool:
    """The operator creates the ServiceAccount only when it is named after the cluster."""
    return service_account_name(ctx) == names.check_name(ctx.name)


def _meta(ctx: ClusterContext, name: str) -> K8sObject:
    return {
        "name": name,
        "namespace": ctx.namespace,
        "labels": names.rbac_labels(ctx.name),
        "ownerReferences": [kube.ray_owner_reference("RayCluster", ctx.meta)],
    }


def build_service_account(ctx: ClusterContext) -> K8sObject:
    """The autoscaler ServiceAccount."""
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(ctx, service_account_name(ctx))}


def build_role(ctx: ClusterContext) -> K8sObject:
    """The autoscaler Role."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(ctx, names.autoscaler_role_name(ctx.name)),
        "rules": [kube.clone(rule) for rule in ROLE_RULES],
    }


def build_role_binding(ctx: ClusterContext) -> K8sObject:
    """Binds the autoscaler Role to its ServiceAccount."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(ctx, names.autoscaler_role_name(ctx.name)),
        "subjects": [{"kind": "ServiceAccount", "name": service_account_name(ctx), "namespace": ctx.namespace}],
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": names.autoscaler_role_name(ctx.name),
        },
    }
