"""``desired_cluster``: every object the operator creates for a RayCluster, computed from the RayCluster alone.

The one desired-state function of the kind, used by the RayCluster controller (which only makes the observed
state match it) and by ``raykube render`` (which prints it). It is pure: the same RayCluster, settings, token
and pod choice always give the same JSON. Objects come in KubeRay v1.7.0's creation order
(``rayClusterReconcile``: autoscaler ServiceAccount, Role, RoleBinding, the head Ingress, the auth token
Secret, the head, headless and serve Services, the rocksdb GCS PVC, then the pods).

Which pods to create is an input (:class:`PodsToCreate`), chosen by the plan from the live pods
(``controllers/raycluster/plan.py``): the head or not, and one :class:`~raykube.builders.replicas.WorkerSlot`
per worker pod. The random parts (the auth token, replica-name suffixes) are inputs too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from raykube.api.defaults import is_autoscaling_enabled, set_raycluster_defaults
from raykube.api.raycluster import RayCluster
from raykube.api.schema import K8sObject
from raykube.builders import gcs_ft, ingress, rbac, secret, service
from raykube.builders.pod import ClusterContext, build_head_pod, build_worker_pod, stamp_worker_replica
from raykube.builders.replicas import WorkerSlot
from raykube.builders.settings import OperatorSettings


@dataclass(frozen=True)
class PodsToCreate:
    """The pods one pass creates: the head (or not) and one slot per worker pod."""

    head: bool = False
    workers: tuple[WorkerSlot, ...] = ()


@dataclass(frozen=True)
class DesiredCluster:
    """The objects a RayCluster owns, in the order KubeRay creates them."""

    children: tuple[K8sObject, ...]
    """Everything but pods: RBAC, Ingress, Secret, Services, the GCS PVC."""
    head_pod: K8sObject | None
    worker_pods: tuple[tuple[WorkerSlot, K8sObject], ...]
    notes: tuple[str, ...] = field(default=())

    def objects(self) -> list[K8sObject]:
        """Every object, children first, then the head and the worker pods."""
        head = [self.head_pod] if self.head_pod is not None else []
        return [*self.children, *head, *(pod for _, pod in self.worker_pods)]


def cluster_context(rc: RayCluster, settings: OperatorSettings) -> ClusterContext:
    """Context of a RayCluster with KubeRay's ``setDefaults`` applied (nil rayStartParams -> {})."""
    return ClusterContext(meta=dict(rc.metadata), spec=set_raycluster_defaults(rc.spec), settings=settings)


def desired_children(ctx: ClusterContext, *, auth_token: str) -> tuple[tuple[K8sObject, ...], tuple[str, ...]]:
    """The non-pod children of a cluster in KubeRay's order, and notes on objects left out."""
    autoscaling = is_autoscaling_enabled(ctx.spec)
    objects: list[K8sObject | None] = []
    if autoscaling:
        sa = rbac.build_service_account(ctx) if rbac.creates_service_account(ctx) else None
        objects += [sa, rbac.build_role(ctx), rbac.build_role_binding(ctx)]
    if ctx.spec.head_group_spec.enable_ingress:
        objects.append(ingress.build_ingress(ctx))
    if secret.wants_auth_secret(ctx):
        objects.append(secret.build_auth_secret(ctx, auth_token))
    objects.append(service.build_head_service(ctx))
    if service.needs_headless_service(ctx):
        objects.append(service.build_headless_service(ctx))
    notes: list[str] = []
    if service.wants_cluster_serve_service(ctx):
        serve = service.build_cluster_serve_service(ctx)
        if serve is None:
            notes.append("no serve Service: the head container has no port named 'serve'")
        objects.append(serve)
    if gcs_ft.wants_gcs_pvc(ctx):
        objects.append(gcs_ft.build_gcs_pvc(ctx))
    return tuple(o for o in objects if o is not None), tuple(notes)


def desired_pods(
    ctx: ClusterContext, pods: PodsToCreate
) -> tuple[K8sObject | None, tuple[tuple[WorkerSlot, K8sObject], ...]]:
    """The head pod (if wanted) and one stamped pod per worker slot; each group's template is built once."""
    head = build_head_pod(ctx) if pods.head else None
    groups = {g.group_name: g for g in ctx.spec.worker_group_specs or []}
    templates: dict[str, K8sObject] = {}
    workers = []
    for slot in pods.workers:
        group = groups[slot.group]
        if slot.group not in templates:
            templates[slot.group] = build_worker_pod(ctx, group)
        pod = stamp_worker_replica(
            templates[slot.group],
            group=group,
            replica_index=slot.replica_index,
            host_index=slot.host_index,
            replica_name=slot.replica_name,
            settings=ctx.settings,
        )
        workers.append((slot, pod))
    return head, tuple(workers)


def desired_cluster(
    rc: RayCluster, settings: OperatorSettings, *, auth_token: str, pods: PodsToCreate
) -> DesiredCluster:
    """Every object the operator creates for ``rc`` when the pods in ``pods`` are to be created."""
    ctx = cluster_context(rc, settings)
    children, notes = desired_children(ctx, auth_token=auth_token)
    head, workers = desired_pods(ctx, pods)
    return DesiredCluster(children=children, head_pod=head, worker_pods=workers, notes=notes)
