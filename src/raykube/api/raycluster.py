"""RayCluster (ray.io/v1): spec, head and worker groups, status, and the kind itself.

Field declarations follow the convention of :mod:`raykube.api.schema`; the feature blocks referenced by
``RayClusterSpec`` live in :mod:`raykube.api.cluster_options`. ``RayClusterSpec`` and ``RayClusterStatus`` are
reused verbatim by RayJob (``rayClusterSpec``, ``status.rayClusterStatus``) and RayService.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Final, Literal

from raykube.api.cluster_options import (
    AuthOptions,
    AutoscalerOptions,
    ClusterUpgradeStrategy,
    GcsFaultToleranceOptions,
    HistoryServerOptions,
    NetworkPolicyOptions,
    TLSOptions,
)
from raykube.api.common import MANAGED_BY_DESCRIPTION, MANAGED_BY_VALIDATIONS, RayObject
from raykube.api.meta import Condition, Time
from raykube.api.schema import (
    K8S_CONDITION,
    K8S_INGRESS_TLS,
    K8S_POD_TEMPLATE_SPEC,
    K8S_QUANTITY,
    K8S_SERVICE,
    CrdInfo,
    K8sObject,
    PrinterColumn,
    Quantity,
    RayModel,
    prop,
)

#: Largest int32, the CRD default of ``workerGroupSpecs[].maxReplicas``.
MAX_INT32 = 2147483647


class IngressPathType(StrEnum):
    """``headGroupSpec.ingressOptions.pathType`` (networking.k8s.io PathType)."""

    EXACT = "Exact"
    PREFIX = "Prefix"
    IMPLEMENTATION_SPECIFIC = "ImplementationSpecific"


class IngressOptions(RayModel):
    """Settings of the head Ingress created when ``enableIngress`` is true."""

    host: str | None = prop("host", "Host name the Ingress rule matches.")
    path: str | None = prop("path", "URL path of the rule (operator default '/').")
    path_type: str | None = prop(
        "pathType", "How the path matches (operator default Prefix).", enum=tuple(IngressPathType)
    )
    tls: list[K8sObject] | None = prop("tls", "TLS settings of the Ingress.", k8s_type=K8S_INGRESS_TLS)


class HeadGroupSpec(RayModel):
    """The head pod and its services."""

    enable_ingress: bool | None = prop("enableIngress", "Create an Ingress (or Route) to the dashboard.")
    head_service: K8sObject | None = prop(
        "headService", "A full Service used as the base of the head Service.", k8s_type=K8S_SERVICE
    )
    ingress_options: IngressOptions | None = prop("ingressOptions", "Settings of the created Ingress.")
    labels: dict[str, str] | None = prop("labels", "Ray node labels of the head (not Kubernetes labels).")
    ray_start_params: dict[str, str] | None = prop("rayStartParams", "Flags of 'ray start' on the head.")
    resources: dict[str, str] | None = prop(
        "resources", "Ray logical resources of the head (override rayStartParams num-cpus etc.)."
    )
    service_type: str | None = prop("serviceType", "Type of the head Service (ClusterIP when unset).")
    template: K8sObject = prop(
        "template",
        "Pod template of the head; the Ray container is containers[0].",
        required=True,
        k8s_type=K8S_POD_TEMPLATE_SPEC,
    )


class ScaleStrategy(RayModel):
    """Scale-down requests from the autoscaler."""

    workers_to_delete: list[str] | None = prop(
        "workersToDelete", "Names of worker pods to delete; cleared by the autoscaler, not the operator."
    )


class WorkerGroupSpec(RayModel):
    """One group of identical worker pods."""

    group_name: str = prop("groupName", "Name of the group, unique in the cluster.", required=True)
    idle_timeout_seconds: int | None = prop(
        "idleTimeoutSeconds", "Per-group idle timeout (autoscaler v2 only).", format="int32"
    )
    labels: dict[str, str] | None = prop("labels", "Ray node labels of the group's pods.")
    max_replicas: int | None = prop(
        "maxReplicas", "Upper bound of replicas.", required=True, default=MAX_INT32, format="int32"
    )
    min_replicas: int | None = prop("minReplicas", "Lower bound of replicas.", required=True, default=0, format="int32")
    num_of_hosts: int | None = prop(
        "numOfHosts", "Pods per replica (multi-host, e.g. TPU slices).", default=1, format="int32"
    )
    priority: int | None = prop(
        "priority", "Scale-up preference for autoscaler v2 (higher first).", default=0, format="int32"
    )
    ray_start_params: dict[str, str] | None = prop("rayStartParams", "Flags of 'ray start' on the workers.")
    replicas: int | None = prop("replicas", "Desired replicas (written by the autoscaler).", default=0, format="int32")
    resources: dict[str, str] | None = prop("resources", "Ray logical resources of each worker.")
    scale_strategy: ScaleStrategy | None = prop("scaleStrategy", "Scale-down requests.")
    suspend: bool | None = prop("suspend", "Delete all pods of the group (set by RayJob DeleteWorkers).")
    template: K8sObject = prop(
        "template",
        "Pod template of the workers; the Ray container is containers[0].",
        required=True,
        k8s_type=K8S_POD_TEMPLATE_SPEC,
    )


class RayClusterSpec(RayModel):
    """Desired state of a Ray cluster."""

    auth_options: AuthOptions | None = prop("authOptions", "Ray token authentication.")
    autoscaler_options: AutoscalerOptions | None = prop("autoscalerOptions", "Autoscaler sidecar overrides.")
    enable_in_tree_autoscaling: bool | None = prop(
        "enableInTreeAutoscaling", "Inject the Ray autoscaler sidecar and its RBAC."
    )
    gcs_fault_tolerance_options: GcsFaultToleranceOptions | None = prop(
        "gcsFaultToleranceOptions", "GCS fault tolerance."
    )
    head_group_spec: HeadGroupSpec = prop("headGroupSpec", "The head group.", required=True)
    head_service_annotations: dict[str, str] | None = prop(
        "headServiceAnnotations", "Annotations added to the head Service."
    )
    history_server_options: HistoryServerOptions | None = prop(
        "historyServerOptions", "Ray history server integration."
    )
    managed_by: str | None = prop("managedBy", MANAGED_BY_DESCRIPTION, validations=MANAGED_BY_VALIDATIONS)
    network_policy: NetworkPolicyOptions | None = prop("networkPolicy", "NetworkPolicies for the cluster.")
    ray_version: str | None = prop("rayVersion", "Ray version of the images; gates version-dependent features.")
    suspend: bool | None = prop("suspend", "Delete all pods but keep the RayCluster.")
    tls_options: TLSOptions | None = prop("tlsOptions", "Mutual TLS between Ray processes.")
    upgrade_strategy: ClusterUpgradeStrategy | None = prop("upgradeStrategy", "Reaction to spec changes.")
    worker_group_specs: list[WorkerGroupSpec] | None = prop("workerGroupSpecs", "The worker groups.")


class HeadInfo(RayModel):
    """Addresses of the head pod and Service."""

    pod_ip: str | None = prop("podIP", "IP of the head pod.")
    pod_name: str | None = prop("podName", "Name of the head pod.")
    service_ip: str | None = prop("serviceIP", "ClusterIP of the head Service (head pod IP when headless).")
    service_name: str | None = prop("serviceName", "Name of the head Service.")


class RayClusterStatus(RayModel):
    """Observed state of a Ray cluster."""

    available_worker_replicas: int | None = prop(
        "availableWorkerReplicas", "Worker pods in phase Running.", format="int32"
    )
    conditions: list[Condition] | None = prop(
        "conditions",
        "Standard conditions (RayClusterProvisioned, HeadPodReady, ...).",
        k8s_type=K8S_CONDITION,
        list_type="map",
        list_map_keys=("type",),
    )
    desired_cpu: Quantity | None = prop("desiredCPU", "Total CPU requested by all pods.", k8s_type=K8S_QUANTITY)
    desired_gpu: Quantity | None = prop("desiredGPU", "Total GPUs requested by all pods.", k8s_type=K8S_QUANTITY)
    desired_memory: Quantity | None = prop(
        "desiredMemory", "Total memory requested by all pods.", k8s_type=K8S_QUANTITY
    )
    desired_tpu: Quantity | None = prop("desiredTPU", "Total TPUs requested by all pods.", k8s_type=K8S_QUANTITY)
    desired_worker_replicas: int | None = prop("desiredWorkerReplicas", "Sum of desired worker pods.", format="int32")
    endpoints: dict[str, str] | None = prop("endpoints", "Head Service port name to port.")
    head: HeadInfo | None = prop("head", "Head pod and Service addresses.")
    last_update_time: Time | None = prop(
        "lastUpdateTime", "When the status was last written.", format="date-time", nullable=True
    )
    max_worker_replicas: int | None = prop("maxWorkerReplicas", "Sum of maxReplicas x numOfHosts.", format="int32")
    min_worker_replicas: int | None = prop("minWorkerReplicas", "Sum of minReplicas x numOfHosts.", format="int32")
    observed_generation: int | None = prop(
        "observedGeneration", "Generation this status was computed from.", format="int64"
    )
    ready_worker_replicas: int | None = prop("readyWorkerReplicas", "Worker pods Running and Ready.", format="int32")
    reason: str | None = prop("reason", "Why the cluster is in its state.")
    state: str | None = prop("state", "Deprecated summary state (ready, suspended).")
    state_transition_times: dict[str, Time] | None = prop(
        "stateTransitionTimes", "When each state was last entered.", item_format="date-time"
    )


#: Printer columns of both served versions (v1alpha1 has the same ones).
_PRINTER_COLUMNS: Final = (
    PrinterColumn("desired workers", "integer", ".status.desiredWorkerReplicas"),
    PrinterColumn("available workers", "integer", ".status.availableWorkerReplicas"),
    PrinterColumn("cpus", "string", ".status.desiredCPU"),
    PrinterColumn("memory", "string", ".status.desiredMemory"),
    PrinterColumn("gpus", "string", ".status.desiredGPU"),
    PrinterColumn("tpus", "string", ".status.desiredTPU", priority=1),
    PrinterColumn("status", "string", ".status.state"),
    PrinterColumn("age", "date", ".metadata.creationTimestamp"),
    PrinterColumn("head pod IP", "string", ".status.head.podIP", priority=1),
    PrinterColumn("head service IP", "string", ".status.head.serviceIP", priority=1),
)


class RayCluster(RayObject):
    """A Ray cluster: one head pod plus worker groups."""

    CRD_INFO: ClassVar[CrdInfo] = CrdInfo(
        kind="RayCluster",
        plural="rayclusters",
        singular="raycluster",
        list_kind="RayClusterList",
        description="RayCluster is a Ray cluster on Kubernetes: a head pod and groups of worker pods.",
        printer_columns=_PRINTER_COLUMNS,
        v1alpha1_printer_columns=_PRINTER_COLUMNS,
        v1alpha1_deprecation_warning=(
            "ray.io/v1alpha1 RayCluster is deprecated; use ray.io/v1 RayCluster. "
            "v1alpha1 receives no new fields and will be unavailable in KubeRay 1.9."
        ),
    )

    kind: Literal["RayCluster"] = "RayCluster"
    spec: RayClusterSpec = prop("spec", "Desired state.", python_required=True)
    status: RayClusterStatus | None = prop("status", "Observed state.")
