"""RayService (ray.io/v1): Ray Serve applications on a RayCluster with zero-downtime upgrades.

``rayClusterConfig`` reuses :class:`~raykube.api.raycluster.RayClusterSpec`. The upgrade ``type`` has no CRD
enum (the controller validates it), so :class:`ServiceUpgradeType` is used by validation only.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal

from raykube.api.common import MANAGED_BY_DESCRIPTION, MANAGED_BY_VALIDATIONS, RayObject
from raykube.api.meta import Condition, Time
from raykube.api.raycluster import RayClusterSpec, RayClusterStatus
from raykube.api.schema import (
    K8S_CONDITION,
    K8S_SERVICE,
    CrdInfo,
    K8sObject,
    PrinterColumn,
    RayModel,
    prop,
)


class ServiceUpgradeType(StrEnum):
    """``RayService.spec.upgradeStrategy.type`` (checked by the controller, not by the CRD)."""

    NEW_CLUSTER = "NewCluster"
    NEW_CLUSTER_WITH_INCREMENTAL_UPGRADE = "NewClusterWithIncrementalUpgrade"
    NONE = "None"


class ClusterUpgradeOptions(RayModel):
    """Knobs of the incremental (Gateway API based) upgrade."""

    gateway_class_name: str = prop(
        "gatewayClassName", "GatewayClass of the Gateway that splits traffic.", required=True
    )
    interval_seconds: int = prop("intervalSeconds", "Seconds between traffic shifts.", required=True, format="int32")
    max_surge_percent: int | None = prop(
        "maxSurgePercent",
        "Capacity added to the new cluster per step, in percent.",
        default=100,
        format="int32",
    )
    step_size_percent: int = prop(
        "stepSizePercent", "Traffic shifted per step, in percent.", required=True, format="int32"
    )


class ServiceUpgradeStrategy(RayModel):
    """How a RayService rolls out a changed cluster spec."""

    cluster_upgrade_options: ClusterUpgradeOptions | None = prop(
        "clusterUpgradeOptions", "Settings of NewClusterWithIncrementalUpgrade."
    )
    type: str | None = prop("type", "NewCluster (default), NewClusterWithIncrementalUpgrade or None.")


class ServeDeploymentStatusInfo(RayModel):
    """Status of one Serve deployment."""

    message: str | None = prop("message", "Detail from Serve.")
    status: str | None = prop("status", "UPDATING, HEALTHY or UNHEALTHY.")


class AppStatus(RayModel):
    """Status of one Serve application."""

    message: str | None = prop("message", "Detail from Serve.")
    serve_deployment_statuses: dict[str, ServeDeploymentStatusInfo] | None = prop(
        "serveDeploymentStatuses", "Deployment name to its status."
    )
    status: str | None = prop("status", "Application status as reported by Serve.")


class RayServiceStatus(RayModel):
    """State of the active or pending cluster of a RayService."""

    application_statuses: dict[str, AppStatus] | None = prop(
        "applicationStatuses", "Serve application name to its status."
    )
    last_traffic_migrated_time: Time | None = prop(
        "lastTrafficMigratedTime", "When traffic was last shifted (incremental upgrade).", format="date-time"
    )
    ray_cluster_name: str | None = prop("rayClusterName", "Name of the RayCluster.")
    ray_cluster_status: RayClusterStatus | None = prop("rayClusterStatus", "Copy of that RayCluster's status.")
    target_capacity: int | None = prop("targetCapacity", "Serve target_capacity of the cluster.", format="int32")
    traffic_routed_percent: int | None = prop(
        "trafficRoutedPercent", "Share of traffic routed to the cluster.", format="int32"
    )


class RayServiceSpec(RayModel):
    """Desired state of a RayService."""

    deployment_unhealthy_second_threshold: int | None = prop(
        "deploymentUnhealthySecondThreshold", "Deprecated; ignored.", format="int32"
    )
    exclude_head_pod_from_serve_svc: bool | None = prop(
        "excludeHeadPodFromServeSvc", "Never route Serve traffic to the head pod."
    )
    managed_by: str | None = prop("managedBy", MANAGED_BY_DESCRIPTION, validations=MANAGED_BY_VALIDATIONS)
    ray_cluster_config: RayClusterSpec = prop("rayClusterConfig", "Template of the RayClusters.", required=True)
    ray_cluster_deletion_delay_seconds: int | None = prop(
        "rayClusterDeletionDelaySeconds",
        "Delay before an old cluster is deleted (default 60).",
        format="int32",
        minimum=0,
    )
    serve_config_v2: str | None = prop("serveConfigV2", "Serve multi-application config, as YAML.")
    serve_service: K8sObject | None = prop(
        "serveService", "A full Service used as the base of the serve Service.", k8s_type=K8S_SERVICE
    )
    service_unhealthy_second_threshold: int | None = prop(
        "serviceUnhealthySecondThreshold", "Deprecated; ignored.", format="int32"
    )
    suspend: bool | None = prop("suspend", "Delete all clusters and services, keep the RayService.")
    upgrade_strategy: ServiceUpgradeStrategy | None = prop("upgradeStrategy", "How cluster changes roll out.")


class RayServiceStatuses(RayModel):
    """Observed state of a RayService."""

    active_service_status: RayServiceStatus | None = prop(
        "activeServiceStatus", "The cluster currently serving traffic."
    )
    conditions: list[Condition] | None = prop(
        "conditions",
        "Standard conditions (Ready, UpgradeInProgress, ...).",
        k8s_type=K8S_CONDITION,
        list_type="map",
        list_map_keys=("type",),
    )
    last_update_time: Time | None = prop("lastUpdateTime", "When the status was last written.", format="date-time")
    num_serve_endpoints: int | None = prop("numServeEndpoints", "Ready pods behind the serve Service.", format="int32")
    observed_generation: int | None = prop(
        "observedGeneration", "Generation this status was computed from.", format="int64"
    )
    pending_service_status: RayServiceStatus | None = prop(
        "pendingServiceStatus", "The cluster being prepared to take over."
    )
    service_status: str | None = prop("serviceStatus", "Deprecated: 'Running' when Ready, else empty.")


class RayService(RayObject):
    """Ray Serve applications with zero-downtime cluster upgrades."""

    CRD_INFO: ClassVar[CrdInfo] = CrdInfo(
        kind="RayService",
        plural="rayservices",
        singular="rayservice",
        list_kind="RayServiceList",
        description="RayService serves Ray Serve apps and upgrades their RayCluster without downtime.",
        printer_columns=(
            PrinterColumn("service status", "string", ".status.serviceStatus"),
            PrinterColumn("num serve endpoints", "string", ".status.numServeEndpoints"),
        ),
        v1alpha1_deprecation_warning=(
            "ray.io/v1alpha1 RayService is deprecated; use ray.io/v1 RayService. "
            "v1alpha1 receives no new fields and will be unavailable in KubeRay 1.9."
        ),
    )

    kind: Literal["RayService"] = "RayService"
    spec: RayServiceSpec = prop("spec", "Desired state.", python_required=True)
    status: RayServiceStatuses | None = prop("status", "Observed state.")
