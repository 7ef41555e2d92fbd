"""Head and worker pods of a RayCluster, as JSON ready to POST.

Follows KubeRay's ``DefaultHeadPodTemplate`` / ``DefaultWorkerPodTemplate`` (``controllers/ray/common/
pod.go``) and ``buildHeadPod`` / ``buildWorkerPod`` (``raycluster_controller.go``): start from a copy of
the group's template, compute rayStartParams, set labels and annotations, inject the autoscaler sidecar,
GCS fault tolerance, auth and operator sidecars, then finish the Ray container
(:func:`raykube.builders.ray_container.finish_ray_pod`) and add the controller ownerReference.

A worker pod is built once per group as a *template*: it carries ``generateName`` and no per-replica
labels. The controller calls :func:`stamp_worker_replica` for each pod it creates to add the replica
index labels (feature gate RayMultiHostIndexing, on in KubeRay v1.7.0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from raykube import reasons
from raykube.api.defaults import is_autoscaler_v2, is_autoscaling_enabled, is_gcs_fault_tolerance_enabled
from raykube.api.raycluster import RayClusterSpec, WorkerGroupSpec
from raykube.api.schema import K8sObject
from raykube.builders import kube, names, raystart, sidecars, spec_hash
from raykube.builders.ray_container import RayPodInputs, finish_ray_pod
from raykube.builders.settings import OperatorSettings

METRICS_PORT_NAME: Final = "metrics"
CREATOR_KINDS: Final = ("RayJob", "RayService")


@dataclass(frozen=True)
class ClusterContext:
    """A RayCluster's metadata and (operator-defaulted) spec, plus the operator settings."""

    meta: K8sObject
    spec: RayClusterSpec
    settings: OperatorSettings

    @property
    def name(self) -> str:
        return str(self.meta.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.meta.get("namespace", ""))

    @property
    def annotations(self) -> dict[str, str]:
        return dict(self.meta.get("annotations") or {})

    @property
    def creator(self) -> str:
        """``RayJob`` / ``RayService`` when a parent created the cluster, else ``RayCluster``."""
        parent = (self.meta.get("labels") or {}).get(reasons.LABEL_ORIGINATED_FROM_CRD, "")
        return parent if parent in CREATOR_KINDS else "RayCluster"

    @property
    def head_service(self) -> str:
        custom = self.spec.head_group_spec.head_service or {}
        return names.head_service_name(self.name, (custom.get("metadata") or {}).get("name"))

    @property
    def fqdn(self) -> str:
        return names.fqdn(self.head_service, self.namespace, self.settings.cluster_domain)

    @property
    def head_port(self) -> str:
        return raystart.head_port(self.spec.head_group_spec.ray_start_params)


def _base_pod(ctx: ClusterContext, template: K8sObject) -> K8sObject:
    copy = kube.clone(template)
    metadata = copy.get("metadata") or {}
    metadata["namespace"] = ctx.namespace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": copy.get("spec") or {}}


def _pod_labels(ctx: ClusterContext, node: names.NodeKind, group: str, user: dict[str, str]) -> dict[str, str]:
    labels = names.pod_labels(ctx.name, node, group)
    labels.update({k: v for k, v in user.items() if k not in names.PROTECTED_POD_LABELS})
    return labels


def _annotate_overwrite(ctx: ClusterContext, pod: K8sObject) -> None:
    annotations = pod["metadata"].setdefault("annotations", {})
    if ctx.annotations.get(reasons.ANNOTATION_OVERWRITE_CONTAINER_CMD, "").lower() == "true":
        annotations[reasons.ANNOTATION_OVERWRITE_CONTAINER_CMD] = "true"


def _ensure_metrics_port(pod: K8sObject) -> None:
    ray = kube.ray_container(pod)
    if not any(p.get("name") == METRICS_PORT_NAME for p in ray.get("ports") or []):
        port = {"name": METRICS_PORT_NAME, "containerPort": raystart.DEFAULT_METRICS_PORT}
        ray.setdefault("ports", []).append(port)


def _group_params(
    params: dict[str, str] | None, resources: dict[str, str] | None, labels: dict[str, str] | None
) -> dict[str, str]:
    with_resources = raystart.with_group_resources(params or {}, resources)
    return raystart.with_group_labels(with_resources, labels)


def start_params(ctx: ClusterContext, group: WorkerGroupSpec | None = None) -> dict[str, str]:
    """A group's rayStartParams, computed once: the user's, the group's Ray resources and labels, KubeRay's
    defaults, ``no-monitor`` on an autoscaling head and GCS FT's credentials (``group=None``: the head).
    ``finish_ray_pod`` adds only what the Ray container's resources imply."""
    if group is None:
        head = ctx.spec.head_group_spec
        params = _group_params(head.ray_start_params, head.resources, head.labels)
        params = raystart.with_missing_defaults(params, "head", address="")
        if is_autoscaling_enabled(ctx.spec):
            params["no-monitor"] = "true"
        ft = is_gcs_fault_tolerance_enabled(ctx.spec, ctx.annotations)
        return {**params, **sidecars.gcs_ft_start_params(ctx.spec, node="head", ft_enabled=ft)}
    params = _group_params(group.ray_start_params, group.resources, group.labels)
    return raystart.with_missing_defaults(params, "worker", address=f"{ctx.fqdn}:{ctx.head_port}")


def build_head_pod(ctx: ClusterContext) -> K8sObject:
    """The head pod (``generateName: <cluster>-head-`` unless deterministic names are on)."""
    head = ctx.spec.head_group_spec
    pod = _base_pod(ctx, head.template)
    meta = pod["metadata"]
    deterministic = ctx.settings.enable_deterministic_head_pod_name
    meta["name" if deterministic else "generateName"] = names.head_pod_name(ctx.name, deterministic=deterministic)
    params = start_params(ctx)
    user_labels = {**((head.template.get("metadata") or {}).get("labels") or {}), **(head.labels or {})}
    meta["labels"] = _pod_labels(ctx, "head", reasons.HEAD_GROUP_NAME, user_labels)
    _annotate_overwrite(ctx, pod)
    autoscaling = is_autoscaling_enabled(ctx.spec)
    if autoscaling:
        _inject_autoscaler(ctx, pod)
    ft = is_gcs_fault_tolerance_enabled(ctx.spec, ctx.annotations)
    sidecars.apply(pod, sidecars.gcs_ft_additions(pod, ctx.spec, params, node="head", cluster_meta=ctx.meta,
                                                  ft_enabled=ft))
    _ensure_metrics_port(pod)
    if ctx.spec.auth_options is not None and ctx.spec.auth_options.mode == "token":
        sidecars.apply(pod, sidecars.auth_additions(pod, ctx.name, ctx.spec.auth_options))
    kube.containers(pod).extend(kube.clone(list(ctx.settings.head_sidecar_containers)))
    finish_ray_pod(pod, _inputs(ctx, "head", params, autoscaling))
    annotations = meta.setdefault("annotations", {})
    annotations[reasons.ANNOTATION_UPGRADE_STRATEGY_RECREATE_HASH] = spec_hash.recreate_hash(ctx.spec)
    annotations[reasons.ANNOTATION_KUBERAY_VERSION] = ctx.settings.kuberay_version
    return _finish_metadata(ctx, pod)


def _inject_autoscaler(ctx: ClusterContext, pod: K8sObject) -> None:
    spec = pod["spec"]
    template_sa = ctx.spec.head_group_spec.template.get("spec", {}).get("serviceAccountName")
    spec["serviceAccountName"] = names.autoscaler_service_account_name(ctx.name, template_sa)
    ray = kube.ray_container(pod)
    container = sidecars.autoscaler_container(
        ctx.spec, image=ray.get("image", ""), cluster=ctx.name, login_shell=ctx.settings.enable_login_shell
    )
    kube.containers(pod).append(container)
    options = ctx.spec.autoscaler_options
    if is_autoscaler_v2(ctx.spec):
        kube.add_env_if_absent(ray, reasons.ENV_RAY_ENABLE_AUTOSCALER_V2, "true")
        spec["restartPolicy"] = "Never"
    elif options is not None and options.version == "v1":
        kube.add_env_if_absent(ray, reasons.ENV_RAY_ENABLE_AUTOSCALER_V2, "false")


def build_worker_pod(ctx: ClusterContext, group: WorkerGroupSpec) -> K8sObject:
    """The pod template of one worker group (``generateName: <cluster>-<group>-worker-``)."""
    pod = _base_pod(ctx, group.template)
    meta = pod["metadata"]
    meta.pop("name", None)
    meta["generateName"] = names.worker_pod_generate_name(ctx.name, group.group_name)
    address = f"{ctx.fqdn}:{ctx.head_port}"
    if ctx.settings.enable_init_container_injection:
        init = sidecars.wait_gcs_ready_container(
            kube.ray_container(pod), address=address, login_shell=ctx.settings.enable_login_shell
        )
        pod["spec"].setdefault("initContainers", []).append(init)
    params = start_params(ctx, group)
    user_labels = {**((group.template.get("metadata") or {}).get("labels") or {}), **(group.labels or {})}
    meta["labels"] = _pod_labels(ctx, "worker", group.group_name, user_labels)
    _annotate_overwrite(ctx, pod)
    ft = is_gcs_fault_tolerance_enabled(ctx.spec, ctx.annotations)
    sidecars.apply(pod, sidecars.gcs_ft_additions(pod, ctx.spec, params, node="worker", cluster_meta=ctx.meta,
                                                  ft_enabled=ft))
    _ensure_metrics_port(pod)
    autoscaling = is_autoscaling_enabled(ctx.spec)
    if autoscaling and is_autoscaler_v2(ctx.spec):
        pod["spec"]["restartPolicy"] = "Never"
    if ctx.spec.auth_options is not None and ctx.spec.auth_options.mode == "token":
        sidecars.apply(pod, sidecars.auth_additions(pod, ctx.name, ctx.spec.auth_options))
    kube.containers(pod).extend(kube.clone(list(ctx.settings.worker_sidecar_containers)))
    finish_ray_pod(pod, _inputs(ctx, "worker", params, autoscaling))
    return _finish_metadata(ctx, pod)


def _inputs(ctx: ClusterContext, node: names.NodeKind, params: dict[str, str], autoscaling: bool) -> RayPodInputs:
    return RayPodInputs(
        node=node,
        params=params,
        fqdn=ctx.fqdn,
        head_port=ctx.head_port,
        creator=ctx.creator,
        autoscaling=autoscaling,
        ray_version=ctx.spec.ray_version,
        settings=ctx.settings,
    )


def _finish_metadata(ctx: ClusterContext, pod: K8sObject) -> K8sObject:
    meta = pod["metadata"]
    labels = meta.setdefault("labels", {})
    for key, value in ctx.settings.default_pod_labels.items():
        labels.setdefault(key, value)
    annotations = meta.setdefault("annotations", {})
    for key, value in ctx.settings.default_pod_annotations.items():
        annotations.setdefault(key, value)
    if not annotations:
        del meta["annotations"]
    meta["ownerReferences"] = [kube.ray_owner_reference("RayCluster", ctx.meta)]
    return pod


def stamp_worker_replica(
    template: K8sObject,
    *,
    group: WorkerGroupSpec,
    replica_index: int,
    host_index: int = 0,
    replica_name: str | None = None,
    settings: OperatorSettings,
) -> K8sObject:
    """One worker pod to create from a group's template, with the multi-host indexing labels.

    ``replica_name`` (``<group>-<5 random>``, from :func:`raykube.builders.names.worker_replica_name`)
    identifies the replica a pod belongs to when ``numOfHosts > 1``; all hosts of a replica share it.
    """
    pod: K8sObject = kube.clone(template)
    if not settings.enable_multi_host_indexing:
        return pod
    labels = pod["metadata"].setdefault("labels", {})
    labels[reasons.LABEL_WORKER_GROUP_REPLICA_INDEX] = str(replica_index)
    if (group.num_of_hosts or 1) > 1:
        labels[reasons.LABEL_WORKER_GROUP_REPLICA_NAME] = replica_name or group.group_name
        labels[reasons.LABEL_REPLICA_HOST_INDEX] = str(host_index)
    return pod
