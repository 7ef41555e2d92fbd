"""The Secret holding a RayCluster's generated Ray auth token (KubeRay's `reconcileAuthSecret`).

Made only when `authOptions.mode` is `token`, no `secretName` names a user's own Secret, and Kubernetes
token auth is off. The token itself is an input: builders stay pure, the controller draws the randomness.
"""

from __future__ import annotations

import base64

from raykube import reasons
from raykube.api.schema import K8sObject
from raykube.builders import kube, names
from raykube.builders.pod import ClusterContext
from raykube.builders.sidecars import AUTH_TOKEN_SECRET_KEY, is_k8s_token_auth


def wants_auth_secret(ctx: ClusterContext) -> bool:
    options = ctx.spec.auth_options
    return (
        options is not None and options.mode == "token" and not options.secret_name and not is_k8s_token_auth(options)
    )


def build_auth_secret(ctx: ClusterContext, token: str) -> K8sObject:
    """`<cluster>` with key `auth_token`, labelled with the cluster and owned by it."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": names.auth_secret_name(ctx.name),
            "namespace": ctx.namespace,
            "labels": {reasons.LABEL_CLUSTER: ctx.name},
            "ownerReferences": [kube.ray_owner_reference("RayCluster", ctx.meta)],
        },
        "data": {AUTH_TOKEN_SECRET_KEY: base64.b64encode(token.encode()).decode()},
    }
