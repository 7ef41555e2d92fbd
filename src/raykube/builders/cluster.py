"""``desired_children``: every object a RayCluster owns, computed from the RayCluster alone.

This is the single entry point the RayCluster controller calls (KubeRay builds the same objects across
``reconcileAutoscalerServiceAccount`` ... ``reconcilePods`` in ``raycluster_controller.go``). It is pure:
the same RayCluster and settings always give the same JSON. Worker pods are returned once per group as a
*template*; the controller decides how many to create (``effective_replicas``, scale-down lists,
expectations) and calls :func:`raykube.builders.pod.stamp_worker_replica` for each pod it creates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from raykube.api.defaults import (
    effective_num_of_hosts,
    effective_replicas,
    is_autoscaling_enabled,
    set_raycluster_defaults,
)
from raykube.api.raycluster import RayCluster
from raykube.api.schema import K8sObject
from raykube.builders import ingress, rbac, service
from raykube.builders.pod import ClusterContext, build_head_pod, build_worker_pod
from raykube.builders.settings import OperatorSettings


@dataclass(frozen=True)
class WorkerGroupPlan:
    """One worker group: its pod template and how many pods it should have."""

    name: str
    pod_template: K8sObject
    replicas: int
    num_of_hosts: int

    @property
    def pods(self) -> int:
        """Desired pod count (``replicas`` already includes ``numOfHosts``)."""
        return self.replicas


@dataclass(frozen=True)
class ClusterChildren:
    """The objects a RayCluster owns, in the order KubeRay reconciles them."""

    head_pod: K8sObject
    worker_groups: tuple[WorkerGroupPlan, ...]
    head_service: K8sObject
    headless_service: K8sObject | None = None
    serve_service: K8sObject | None = None
    service_account: K8sObject | None = None
    role: K8sObject | None = None
    role_binding: K8sObject | None = None
    ingress: K8sObject | None = None
    notes: tuple[str, ...] = field(default=())

    def services(self) -> list[K8sObject]:
        """Head, headless and serve Services that apply."""
        return [s for s in (self.head_service, self.headless_service, self.serve_service) if s is not None]

    def supporting_objects(self) -> list[K8sObject]:
        """Everything but pods, in reconcile order (SA, Role, RoleBinding, Ingress, Services)."""
        rest = [self.service_account, self.role, self.role_binding, self.ingress]
        return [o for o in rest if o is not None] + self.services()


def cluster_context(rc: RayCluster, settings: OperatorSettings) -> ClusterContext:
    """Context of a RayCluster with KubeRay's ``setDefaults`` applied (nil rayStartParams -> {})."""
    return ClusterContext(meta=dict(rc.metadata), spec=set_raycluster_defaults(rc.spec), settings=settings)


def desired_children(rc: RayCluster, settings: OperatorSettings) -> ClusterChildren:
    """Every child object of ``rc`` (pods as one head pod plus one template per worker group)."""
    ctx = cluster_context(rc, settings)
    groups = tuple(
        WorkerGroupPlan(
            name=group.group_name,
            pod_template=build_worker_pod(ctx, group),
            replicas=effective_replicas(group),
            num_of_hosts=effective_num_of_hosts(group),
        )
        for group in ctx.spec.worker_group_specs or []
    )
    notes: list[str] = []
    serve = None
    if service.wants_cluster_serve_service(ctx):
        serve = service.build_cluster_serve_service(ctx)
        if serve is None:
            notes.append("no serve Service: the head container has no port named 'serve'")
    autoscaling = is_autoscaling_enabled(ctx.spec)
    sa = rbac.build_service_account(ctx) if autoscaling and rbac.creates_service_account(ctx) else None
    enable_ingress = bool(ctx.spec.head_group_spec.enable_ingress)
    return ClusterChildren(
        head_pod=build_head_pod(ctx),
        worker_groups=groups,
        head_service=service.build_head_service(ctx),
        headless_service=service.build_headless_service(ctx) if service.needs_headless_service(ctx) else None,
        serve_service=serve,
        service_account=sa,
        role=rbac.build_role(ctx) if autoscaling else None,
        role_binding=rbac.build_role_binding(ctx) if autoscaling else None,
        ingress=ingress.build_ingress(ctx) if enable_ingress else None,
        notes=tuple(notes),
    )
