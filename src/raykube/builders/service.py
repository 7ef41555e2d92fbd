"""Services of a RayCluster and of a RayService (KubeRay's ``controllers/ray/common/service.go``).

* **Head Service** ``<cluster>-head-svc``: selects the head pod; its ports are the named container ports of
  the head Ray container (unnamed ones become ``<port>-port``), or KubeRay's defaults (client 10001,
  gcs-server 6379, dashboard 8265, metrics 8080, serve 8000) when the container declares none; ``metrics`` is
  always present. Every port has ``appProtocol: tcp`` and they are sorted by name. A ClusterIP head Service is
  **headless** with ``publishNotReadyAddresses`` unless ``ENABLE_RAY_HEAD_CLUSTER_IP_SERVICE`` is on. A
  user-provided ``headService`` is used as the base instead and is never made headless.
* **Headless worker Service** ``<cluster>-headless`` for multi-host groups (``numOfHosts > 1``).
* **Serve Service** ``<owner>-serve-svc``: the head container's ``serve``/``serve-*`` ports.
* **RayService head Service** ``<rayservice>-head-svc``: a copy of the active cluster's head Service.
"""

from __future__ import annotations

from typing import Final

from raykube import reasons
from raykube.api.schema import K8sObject
from raykube.builders import kube, names, raystart
from raykube.builders.pod import ClusterContext

APP_PROTOCOL: Final = "tcp"
DEFAULT_PORTS: Final = {
    "client": raystart.DEFAULT_CLIENT_PORT,
    "gcs-server": raystart.DEFAULT_GCS_PORT,
    "dashboard": raystart.DEFAULT_DASHBOARD_PORT,
    "metrics": raystart.DEFAULT_METRICS_PORT,
    "serve": raystart.DEFAULT_SERVE_PORT,
}


def head_ports(ctx: ClusterContext) -> dict[str, int]:
    """Port name -> number exposed by the head Service (``getServicePorts``)."""
    ray = kube.ray_container(kube.clone(ctx.spec.head_group_spec.template))
    ports: dict[str, int] = {}
    for port in ray.get("ports") or []:
        number = int(port["containerPort"])
        ports[port.get("name") or f"{number}-port"] = number
    if not ports:
        ports = dict(DEFAULT_PORTS)
    ports.setdefault("metrics", raystart.DEFAULT_METRICS_PORT)
    return ports


def dashboard_port(ctx: ClusterContext) -> int:
    """The head Service's ``dashboard`` port (8265 when absent)."""
    return head_ports(ctx).get("dashboard", raystart.DEFAULT_DASHBOARD_PORT)


def _service(name: str, namespace: str, labels: dict[str, str], spec: K8sObject) -> K8sObject:
    meta: K8sObject = {"name": name, "namespace": namespace, "labels": labels}
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def build_head_service(ctx: ClusterContext) -> K8sObject:
    """The head Service of a RayCluster, owned by it."""
    head = ctx.spec.head_group_spec
    defaults = names.head_service_labels(ctx.name)
    template_labels = (head.template.get("metadata") or {}).get("labels") or {}
    selector = {key: template_labels.get(key, value) for key, value in defaults.items()}
    annotations = dict(ctx.spec.head_service_annotations or {})
    ports = [{"name": n, "port": p, "appProtocol": APP_PROTOCOL} for n, p in head_ports(ctx).items()]
    service_type = head.service_type
    if head.head_service is not None:
        service = _custom_head_service(ctx, selector, annotations, ports)
    else:
        spec: K8sObject = {"selector": selector, "ports": sorted(ports, key=lambda p: str(p["name"]))}
        if service_type:
            spec["type"] = service_type
        if not ctx.settings.enable_ray_head_cluster_ip_service and service_type in (None, "", "ClusterIP"):
            spec["clusterIP"] = "None"
            spec["publishNotReadyAddresses"] = True
        service = _service(ctx.head_service, ctx.namespace, dict(selector), spec)
        if annotations:
            service["metadata"]["annotations"] = annotations
    service["metadata"]["ownerReferences"] = [kube.ray_owner_reference("RayCluster", ctx.meta)]
    return service


def _custom_head_service(
    ctx: ClusterContext, selector: dict[str, str], annotations: dict[str, str], ports: list[K8sObject]
) -> K8sObject:
    base = kube.clone(ctx.spec.head_group_spec.head_service or {})
    meta = base.setdefault("metadata", {})
    spec = base.setdefault("spec", {})
    spec["selector"] = selector
    merged = dict(meta.get("annotations") or {})
    merged.update(annotations)
    if merged:
        meta["annotations"] = merged
    # KubeRay appends its ports in Go map order (random); sorted here so the output is stable.
    spec["ports"] = [*(spec.get("ports") or []), *sorted(ports, key=lambda p: str(p["name"]))]
    meta["labels"] = {**(meta.get("labels") or {}), **selector}
    meta["name"] = meta.get("name") or ctx.head_service
    meta["namespace"] = ctx.namespace
    if not spec.get("type") and ctx.spec.head_group_spec.service_type:
        spec["type"] = ctx.spec.head_group_spec.service_type
    return {"apiVersion": "v1", "kind": "Service", **base}


def needs_headless_service(ctx: ClusterContext) -> bool:
    """Any worker group spans several hosts per replica."""
    return any((group.num_of_hosts or 1) > 1 for group in ctx.spec.worker_group_specs or [])


def build_headless_service(ctx: ClusterContext) -> K8sObject:
    """``<cluster>-headless``: peer DNS for multi-host workers, published even when not ready."""
    spec: K8sObject = {
        "clusterIP": "None",
        "selector": names.workers_selector(ctx.name),
        "type": "ClusterIP",
        "publishNotReadyAddresses": True,
    }
    labels = {reasons.LABEL_HEADLESS_WORKER_SVC: ctx.name}
    service = _service(names.headless_service_name(ctx.name), ctx.namespace, labels, spec)
    service["metadata"]["ownerReferences"] = [kube.ray_owner_reference("RayCluster", ctx.meta)]
    return service


def serve_ports(ctx: ClusterContext) -> list[K8sObject]:
    """Head ports named ``serve`` or ``serve-*``, sorted by name (no appProtocol)."""
    ports = head_ports(ctx)
    chosen = sorted(n for n in ports if n == "serve" or n.startswith("serve-"))
    return [{"name": n, "port": ports[n]} for n in chosen]


def wants_cluster_serve_service(ctx: ClusterContext) -> bool:
    """A plain RayCluster gets a serve Service only with ``ray.io/enable-serve-service: "true"``."""
    return ctx.annotations.get(reasons.ANNOTATION_ENABLE_SERVE_SERVICE, "") == "true"


def build_cluster_serve_service(ctx: ClusterContext) -> K8sObject | None:
    """``<cluster>-serve-svc`` selecting every pod of the cluster; None without a serve port."""
    ports = serve_ports(ctx)
    if not ports:
        return None
    labels = {
        **names.originated_from(ctx.name, "RayCluster"),
        reasons.LABEL_SERVE: names.serve_service_label(ctx.name),
    }
    spec: K8sObject = {"selector": names.cluster_selector(ctx.name), "ports": ports}
    if ctx.spec.head_group_spec.service_type:
        spec["type"] = ctx.spec.head_group_spec.service_type
    service = _service(names.serve_service_name(ctx.name), ctx.namespace, labels, spec)
    service["metadata"]["ownerReferences"] = [kube.ray_owner_reference("RayCluster", ctx.meta)]
    return service


def build_rayservice_serve_service(
    svc_meta: K8sObject, custom: K8sObject | None, ctx: ClusterContext
) -> K8sObject | None:
    """``<rayservice>-serve-svc`` (or ``serveService``) selecting ready serve pods of the cluster."""
    name = str(svc_meta.get("name", ""))
    labels = {**names.originated_from(name, "RayService"), reasons.LABEL_SERVE: names.serve_service_label(name)}
    selector = {reasons.LABEL_CLUSTER: ctx.name, reasons.LABEL_SERVE: "true"}
    ports = serve_ports(ctx)
    service_type = ctx.spec.head_group_spec.service_type
    if custom is None:
        if not ports:
            return None
        spec: K8sObject = {"selector": selector, "ports": ports}
        if service_type:
            spec["type"] = service_type
        service = _service(names.serve_service_name(name), str(svc_meta.get("namespace", "")), labels, spec)
    else:
        base = kube.clone(custom)
        meta = base.setdefault("metadata", {})
        spec = base.setdefault("spec", {})
        spec["selector"] = selector
        own = [{"name": p["name"], "port": p["port"]} for p in spec.get("ports") or [] if p.get("name") == "serve"]
        spec["ports"] = ports or own[:1]
        meta["labels"] = {**(meta.get("labels") or {}), **labels}
        meta["name"] = meta.get("name") or names.serve_service_name(name)
        meta["namespace"] = svc_meta.get("namespace", "")
        if not spec.get("type") and service_type:
            spec["type"] = service_type
        service = {"apiVersion": "v1", "kind": "Service", **base}
    service["metadata"]["ownerReferences"] = [kube.ray_owner_reference("RayService", svc_meta)]
    return service


def build_rayservice_cluster_serve_service(svc_meta: K8sObject, ctx: ClusterContext) -> K8sObject | None:
    """``<cluster>-serve-svc`` of one RayService cluster: the HTTPRoute backend of an incremental upgrade.

    It selects the cluster's ready serve pods (as ``<rayservice>-serve-svc`` does) and is owned by the cluster,
    so it goes with it. It carries the RayService's ``originated-from`` labels: the EndpointSlice controller
    copies them onto its slices, which is what the RayService controller caches (numServeEndpoints)."""
    ports = serve_ports(ctx)
    if not ports:
        return None
    name = str(svc_meta.get("name", ""))
    labels = {**names.originated_from(name, "RayService"), reasons.LABEL_SERVE: names.serve_service_label(ctx.name)}
    spec: K8sObject = {"selector": {reasons.LABEL_CLUSTER: ctx.name, reasons.LABEL_SERVE: "true"}, "ports": ports}
    if ctx.spec.head_group_spec.service_type:
        spec["type"] = ctx.spec.head_group_spec.service_type
    service = _service(names.serve_service_name(ctx.name), ctx.namespace, labels, spec)
    service["metadata"]["ownerReferences"] = [kube.ray_owner_reference("RayCluster", ctx.meta)]
    return service


def serve_port(ctx: ClusterContext) -> int:
    """The head's ``serve`` port (8000 unless the container names another): the HTTPRoute's backend port."""
    return head_ports(ctx).get("serve", raystart.DEFAULT_SERVE_PORT)


def build_rayservice_head_service(svc_meta: K8sObject, ctx: ClusterContext) -> K8sObject:
    """``<rayservice>-head-svc``: the cluster's head Service renamed and relabelled for the RayService."""
    service = build_head_service(ctx)
    name = str(svc_meta.get("name", ""))
    meta = service["metadata"]
    meta["name"] = names.head_service_name(name)
    meta["namespace"] = svc_meta.get("namespace", "")
    meta["labels"] = {
        **names.originated_from(name, "RayService"),
        reasons.LABEL_NODE_TYPE: reasons.NodeType.HEAD.value,
        reasons.LABEL_IDENTIFIER: names.identifier(name, "head"),
    }
    meta["ownerReferences"] = [kube.ray_owner_reference("RayService", svc_meta)]
    return service
