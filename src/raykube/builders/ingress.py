"""The head Ingress created with ``headGroupSpec.enableIngress`` (KubeRay's ``common/ingress.go``).

One rule routing ``ingressOptions.path`` (default ``/``, pathType default ``Prefix``) to the head Service's
``dashboard`` port. The RayCluster's annotations are copied onto the Ingress, except
``kubernetes.io/ingress.class``, whose value becomes ``spec.ingressClassName``. OpenShift Routes are not
built here (raykube targets plain Kubernetes).
"""

from __future__ import annotations

from raykube import reasons
from raykube.api.defaults import effective_ingress_path
from raykube.api.schema import K8sObject
from raykube.builders import kube, names
from raykube.builders.pod import ClusterContext
from raykube.builders.service import dashboard_port


def build_ingress(ctx: ClusterContext) -> K8sObject:
    """The head Ingress of a cluster."""
    head = ctx.spec.head_group_spec
    path, path_type = effective_ingress_path(head)
    labels = {
        reasons.LABEL_CLUSTER: ctx.name,
        reasons.LABEL_IDENTIFIER: names.identifier(ctx.name, "head"),
        reasons.LABEL_APP_NAME: reasons.APP_NAME_KUBERAY,
        reasons.LABEL_APP_CREATED_BY: reasons.CREATED_BY_KUBERAY,
    }
    annotations = {k: v for k, v in ctx.annotations.items() if k != reasons.ANNOTATION_INGRESS_CLASS}
    backend = {"service": {"name": ctx.head_service, "port": {"number": dashboard_port(ctx)}}}
    rule: K8sObject = {"http": {"paths": [{"path": path, "pathType": path_type, "backend": backend}]}}
    options = head.ingress_options
    if options is not None and options.host:
        rule = {"host": options.host, **rule}
    spec: K8sObject = {"rules": [rule]}
    ingress_class = ctx.annotations.get(reasons.ANNOTATION_INGRESS_CLASS)
    if ingress_class is not None:
        spec["ingressClassName"] = ingress_class
    if options is not None and options.tls:
        spec["tls"] = kube.clone(options.tls)
    meta: K8sObject = {"name": names.ingress_name(ctx.name), "namespace": ctx.namespace, "labels": labels}
    if annotations:
        meta["annotations"] = annotations
    meta["ownerReferences"] = [kube.ray_owner_reference("RayCluster", ctx.meta)]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}
