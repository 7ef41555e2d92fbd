"""Every string constant that is part of KubeRay's external contract, in one place.

Label and annotation keys, finalizers, condition types and reasons, event reasons and the state strings
written to ``.status`` are matched byte-for-byte by users, dashboards, Kueue and Ray's autoscaler, so they
are never spelled out inline anywhere else (house habit 5; jobset's ``pkg/constants/constants.go`` is the
anchor).

The module is organised by section; add new constants to the section they belong to (or start a new, clearly
titled one). Values that several controllers compare against are ``StrEnum`` members, so they work both as
plain ``str`` (JSON, label values) and as a closed set in ``match`` statements. This module imports nothing
from raykube, so every layer may import it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

# ----------------------------------------------------------------------------------------------------------
# API group
# ----------------------------------------------------------------------------------------------------------

GROUP: Final = "ray.io"
VERSION: Final = "v1"
#: The Gateway API (RayService's incremental upgrade): named by the controllers' kinds and by the builders.
GATEWAY_API_GROUP: Final = "gateway.networking.k8s.io"
GATEWAY_API_VERSION: Final = "v1"
API_VERSION: Final = "ray.io/v1"

# ----------------------------------------------------------------------------------------------------------
# managedBy values (spec.managedBy of RayCluster, RayJob and RayService)
# ----------------------------------------------------------------------------------------------------------

MANAGED_BY_KUBERAY: Final = "ray.io/kuberay-operator"
MANAGED_BY_MULTIKUEUE: Final = "kueue.x-k8s.io/multikueue"

# ----------------------------------------------------------------------------------------------------------
# Labels (keys, then well-known values)
# ----------------------------------------------------------------------------------------------------------

LABEL_IS_RAY_NODE: Final = "ray.io/is-ray-node"
LABEL_CLUSTER: Final = "ray.io/cluster"
LABEL_NODE_TYPE: Final = "ray.io/node-type"
LABEL_GROUP: Final = "ray.io/group"
LABEL_IDENTIFIER: Final = "ray.io/identifier"
LABEL_SERVE: Final = "ray.io/serve"
LABEL_HEADLESS_WORKER_SVC: Final = "ray.io/headless-worker-svc"
LABEL_WORKER_GROUP_REPLICA_INDEX: Final = "ray.io/worker-group-replica-index"
LABEL_WORKER_GROUP_REPLICA_NAME: Final = "ray.io/worker-group-replica-name"
LABEL_REPLICA_HOST_INDEX: Final = "ray.io/replica-host-index"
LABEL_ORIGINATED_FROM_CR_NAME: Final = "ray.io/originated-from-cr-name"
LABEL_ORIGINATED_FROM_CRD: Final = "ray.io/originated-from-crd"
LABEL_JOB_SUBMISSION_MODE: Final = "ray.io/job-submission-mode"
LABEL_CRONJOB_NAME: Final = "ray.io/cronjob-name"
LABEL_PRIORITY_CLASS_NAME: Final = "ray.io/priority-class-name"
LABEL_GANG_SCHEDULING_ENABLED: Final = "ray.io/gang-scheduling-enabled"
LABEL_APP_NAME: Final = "app.kubernetes.io/name"
LABEL_APP_CREATED_BY: Final = "app.kubernetes.io/created-by"
LABEL_SERVICE_NAME: Final = "kubernetes.io/service-name"

IS_RAY_NODE_YES: Final = "yes"
APP_NAME_KUBERAY: Final = "kuberay"
CREATED_BY_KUBERAY: Final = "kuberay-operator"
HEAD_GROUP_NAME: Final = "headgroup"


class NodeType(StrEnum):
    """Values of the ``ray.io/node-type`` pod label."""

    HEAD = "head"
    WORKER = "worker"
    REDIS_CLEANUP = "redis-cleanup"


# ----------------------------------------------------------------------------------------------------------
# Annotations
# ----------------------------------------------------------------------------------------------------------

ANNOTATION_FT_ENABLED: Final = "ray.io/ft-enabled"
ANNOTATION_EXTERNAL_STORAGE_NAMESPACE: Final = "ray.io/external-storage-namespace"
ANNOTATION_OVERWRITE_CONTAINER_CMD: Final = "ray.io/overwrite-container-cmd"
ANNOTATION_UPGRADE_STRATEGY_RECREATE_HASH: Final = "ray.io/upgrade-strategy-recreate-hash"
ANNOTATION_KUBERAY_VERSION: Final = "ray.io/kuberay-version"
ANNOTATION_DISABLE_PROVISIONED_HEAD_RESTART: Final = "ray.io/disable-provisioned-head-restart"
ANNOTATION_HASH_WITHOUT_REPLICAS: Final = "ray.io/hash-without-replicas-and-workers-to-delete"
ANNOTATION_NUM_WORKER_GROUPS: Final = "ray.io/num-worker-groups"
ANNOTATION_GCS_FT_DELETION_TIMEOUT: Final = "ray.io/gcs-ft-deletion-timeout"
ANNOTATION_INITIALIZING_TIMEOUT: Final = "ray.io/initializing-timeout"
ANNOTATION_ENABLE_SERVE_SERVICE: Final = "ray.io/enable-serve-service"
ANNOTATION_CRONJOB_SCHEDULED_TIMESTAMP: Final = "ray.io/cronjob-scheduled-timestamp"
ANNOTATION_INGRESS_CLASS: Final = "kubernetes.io/ingress.class"

# ----------------------------------------------------------------------------------------------------------
# Finalizers
# ----------------------------------------------------------------------------------------------------------

FINALIZER_GCS_FT_REDIS_CLEANUP: Final = "ray.io/gcs-ft-redis-cleanup-finalizer"
FINALIZER_RAYJOB: Final = "ray.io/rayjob-finalizer"
FINALIZER_RAYSERVICE: Final = "ray.io/rayservice-finalizer"

# ----------------------------------------------------------------------------------------------------------
# Environment variables whose presence in user templates the validation inspects
# ----------------------------------------------------------------------------------------------------------

ENV_RAY_REDIS_ADDRESS: Final = "RAY_REDIS_ADDRESS"
ENV_REDIS_PASSWORD: Final = "REDIS_PASSWORD"
ENV_REDIS_USERNAME: Final = "REDIS_USERNAME"
ENV_RAY_ENABLE_AUTOSCALER_V2: Final = "RAY_enable_autoscaler_v2"

# ----------------------------------------------------------------------------------------------------------
# RayCluster: status.state, condition types and reasons
# ----------------------------------------------------------------------------------------------------------


class ClusterState(StrEnum):
    """``RayCluster.status.state`` (deprecated upstream in favour of conditions, still written)."""

    READY = "ready"
    SUSPENDED = "suspended"
    FAILED = "failed"  # deprecated: never written by current KubeRay


class RayClusterConditionType(StrEnum):
    """``RayCluster.status.conditions[].type``."""

    PROVISIONED = "RayClusterProvisioned"
    HEAD_POD_READY = "HeadPodReady"
    REPLICA_FAILURE = "ReplicaFailure"
    SUSPENDING = "RayClusterSuspending"
    SUSPENDED = "RayClusterSuspended"


class RayClusterConditionReason(StrEnum):
    """Reasons used on RayCluster conditions (besides reasons copied from the head pod)."""

    ALL_POD_RUNNING_AND_READY_FIRST_TIME = "AllPodRunningAndReadyFirstTime"
    PODS_PROVISIONING = "RayClusterPodsProvisioning"
    HEAD_POD_RUNNING_AND_READY = "HeadPodRunningAndReady"
    HEAD_POD_NOT_FOUND = "HeadPodNotFound"
    UNKNOWN = "Unknown"
    FAILED_DELETE_ALL_PODS = "FailedDeleteAllPods"
    FAILED_DELETE_HEAD_POD = "FailedDeleteHeadPod"
    FAILED_CREATE_HEAD_POD = "FailedCreateHeadPod"
    FAILED_DELETE_WORKER_POD = "FailedDeleteWorkerPod"
    FAILED_CREATE_WORKER_POD = "FailedCreateWorkerPod"
    DUPLICATE_HEAD_PODS = "DuplicateHeadPods"
    FAILED_CREATE_SERVICE = "FailedCreateService"
    REPLICAS_OVER_LIMIT = "ReplicasOverLimit"  # raykube only: --max-pods-per-cluster
    INVALID_SPEC = "InvalidRayClusterSpec"  # raykube only: the spec (or name) did not validate


# ----------------------------------------------------------------------------------------------------------
# RayJob: jobStatus (Ray's own values), jobDeploymentStatus, status.reason
# ----------------------------------------------------------------------------------------------------------


class JobStatus(StrEnum):
    """``RayJob.status.jobStatus``: the Ray job's status as reported by the dashboard; ``""`` means new."""

    NEW = ""
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class JobDeploymentStatus(StrEnum):
    """``RayJob.status.jobDeploymentStatus``: the operator's state machine; ``""`` means new."""

    NEW = ""
    INITIALIZING = "Initializing"
    RUNNING = "Running"
    COMPLETE = "Complete"
    FAILED = "Failed"
    VALIDATION_FAILED = "ValidationFailed"
    SUSPENDING = "Suspending"
    SUSPENDED = "Suspended"
    RETRYING = "Retrying"
    WAITING = "Waiting"


class JobFailedReason(StrEnum):
    """``RayJob.status.reason`` when the RayJob fails."""

    SUBMISSION_FAILED = "SubmissionFailed"
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    PRE_RUNNING_DEADLINE_EXCEEDED = "PreRunningDeadlineExceeded"
    APP_FAILED = "AppFailed"
    TRANSITION_GRACE_PERIOD_EXCEEDED = "JobDeploymentStatusTransitionGracePeriodExceeded"
    STATUS_CHECK_TIMEOUT_EXCEEDED = "JobStatusCheckTimeoutExceeded"
    VALIDATION_FAILED = "ValidationFailed"


# ----------------------------------------------------------------------------------------------------------
# RayService: serviceStatus, condition types and reasons, Serve application/deployment statuses
# ----------------------------------------------------------------------------------------------------------

SERVICE_STATUS_RUNNING: Final = "Running"
DEFAULT_SERVE_APP_NAME: Final = "default"


class RayServiceConditionType(StrEnum):
    """``RayService.status.conditions[].type``."""

    READY = "Ready"
    UPGRADE_IN_PROGRESS = "UpgradeInProgress"
    ROLLBACK_IN_PROGRESS = "RollbackInProgress"
    SUSPENDING = "Suspending"
    SUSPENDED = "Suspended"


class RayServiceConditionReason(StrEnum):
    """Reasons used on RayService conditions."""

    INITIALIZING = "Initializing"
    INITIALIZING_TIMEOUT = "InitializingTimeout"
    ZERO_SERVE_ENDPOINTS = "ZeroServeEndpoints"
    NON_ZERO_SERVE_ENDPOINTS = "NonZeroServeEndpoints"
    BOTH_ACTIVE_PENDING_CLUSTERS_EXIST = "BothActivePendingClustersExist"
    NO_PENDING_CLUSTER = "NoPendingCluster"
    NO_ACTIVE_CLUSTER = "NoActiveCluster"
    VALIDATION_FAILED = "ValidationFailed"
    DESIRED_CLUSTER_SPEC_CHANGED = "DesiredClusterSpecChanged"
    SUSPEND_REQUESTED = "SuspendRequested"
    SUSPEND_IN_PROGRESS = "SuspendInProgress"
    SUSPEND_COMPLETE = "SuspendComplete"
    RESUMED = "RayServiceResumed"


class ServeApplicationStatus(StrEnum):
    """Serve application statuses, mirrored from Ray Serve."""

    NOT_STARTED = "NOT_STARTED"
    DEPLOYING = "DEPLOYING"
    RUNNING = "RUNNING"
    DEPLOY_FAILED = "DEPLOY_FAILED"
    DELETING = "DELETING"
    UNHEALTHY = "UNHEALTHY"


class ServeDeploymentStatus(StrEnum):
    """Serve deployment statuses, mirrored from Ray Serve."""

    UPDATING = "UPDATING"
    HEALTHY = "HEALTHY"
    UNHEALTHY = "UNHEALTHY"


# ----------------------------------------------------------------------------------------------------------
# Event reasons (Kubernetes Events emitted by the controllers)
# ----------------------------------------------------------------------------------------------------------


class EventReason(StrEnum):
    """Reasons of the Events the controllers emit (KubeRay's event type names, verbatim)."""

    # Any reconciler (raykube only): a pass failed with an error no specific reason covers
    RECONCILE_ERROR = "ReconcileError"
    # Any reconciler (raykube only): a value KubeRay accepts silently but cannot honour (`api.spec_warnings`)
    UNEXPECTED_SPEC_VALUE = "UnexpectedSpecValue"
    # RayCluster validation
    INVALID_RAYCLUSTER_STATUS = "InvalidRayClusterStatus"
    INVALID_RAYCLUSTER_SPEC = "InvalidRayClusterSpec"
    INVALID_RAYCLUSTER_METADATA = "InvalidRayClusterMetadata"
    # Head pod
    CREATED_HEAD_POD = "CreatedHeadPod"
    FAILED_TO_CREATE_HEAD_POD = "FailedToCreateHeadPod"
    DELETED_HEAD_POD = "DeletedHeadPod"
    FAILED_TO_DELETE_HEAD_POD = "FailedToDeleteHeadPod"
    # Worker pods
    CREATED_WORKER_POD = "CreatedWorkerPod"
    FAILED_TO_CREATE_WORKER_POD = "FailedToCreateWorkerPod"
    DELETED_WORKER_POD = "DeletedWorkerPod"
    FAILED_TO_DELETE_WORKER_POD = "FailedToDeleteWorkerPod"
    FAILED_TO_DELETE_WORKER_POD_COLLECTION = "FailedToDeleteWorkerPodCollection"
    # raykube only: new workers wait while the scheduler's queue holds many of the cluster's pods (plan.py)
    WAITING_FOR_SCHEDULER = "WaitingForScheduler"
    # GCS fault tolerance cleanup
    CREATED_REDIS_CLEANUP_JOB = "CreatedRedisCleanupJob"
    FAILED_TO_CREATE_REDIS_CLEANUP_JOB = "FailedToCreateRedisCleanupJob"
    FORCE_DELETED_STUCK_CLUSTER = "ForceDeletedStuckCluster"
    CREATED_PERSISTENT_VOLUME_CLAIM = "CreatedPersistentVolumeClaim"
    # raykube only: a failed clean-up Job, and a finalizer removed because the operator would never act on it
    REDIS_CLEANUP_JOB_FAILED = "RedisCleanupJobFailed"
    REMOVED_GCS_FT_FINALIZER = "RemovedGcsFtRedisCleanupFinalizer"
    # RayCluster transitions and states the plan cannot fix
    RAYCLUSTER_PROVISIONED = "RayClusterProvisioned"
    RAYCLUSTER_SUSPENDING = "RayClusterSuspending"
    RAYCLUSTER_SUSPENDED = "RayClusterSuspended"
    RAYCLUSTER_RESUMED = "RayClusterResumed"
    HEAD_POD_NOT_READY = "HeadPodNotReady"
    DUPLICATE_HEAD_PODS = "DuplicateHeadPods"
    # RayJob
    INVALID_RAYJOB_SPEC = "InvalidRayJobSpec"
    INVALID_RAYJOB_METADATA = "InvalidRayJobMetadata"
    INVALID_RAYJOB_STATUS = "InvalidRayJobStatus"
    CREATED_RAYJOB_SUBMITTER = "CreatedRayJobSubmitter"
    DELETED_RAYJOB_SUBMITTER = "DeletedRayJobSubmitter"
    FAILED_TO_CREATE_RAYJOB_SUBMITTER = "FailedToCreateRayJobSubmitter"
    FAILED_TO_DELETE_RAYJOB_SUBMITTER = "FailedToDeleteRayJobSubmitter"
    CREATED_RAYCLUSTER = "CreatedRayCluster"
    UPDATED_RAYCLUSTER = "UpdatedRayCluster"
    DELETED_RAYCLUSTER = "DeletedRayCluster"
    FAILED_TO_CREATE_RAYCLUSTER = "FailedToCreateRayCluster"
    FAILED_TO_DELETE_RAYCLUSTER = "FailedToDeleteRayCluster"
    FAILED_TO_UPDATE_RAYCLUSTER = "FailedToUpdateRayCluster"
    RAYCLUSTER_NOT_FOUND = "RayClusterNotFound"
    # RayCronJob
    INVALID_RAYCRONJOB_SPEC = "InvalidRayCronJobSpec"
    SUSPENDED_RAYCRONJOB = "SuspendedRayCronJob"
    CREATED_RAYJOB = "CreatedRayJob"
    FAILED_TO_CREATE_RAYJOB = "FailedToCreateRayJob"
    # RayService
    INVALID_RAYSERVICE_SPEC = "InvalidRayServiceSpec"
    INVALID_RAYSERVICE_METADATA = "InvalidRayServiceMetadata"
    UPDATED_HEAD_POD_SERVE_LABEL = "UpdatedHeadPodServeLabel"
    UPDATED_SERVE_APPLICATIONS = "UpdatedServeApplications"
    FAILED_TO_UPDATE_HEAD_POD_SERVE_LABEL = "FailedToUpdateHeadPodServeLabel"
    FAILED_TO_UPDATE_SERVE_APPLICATIONS = "FailedToUpdateServeApplications"
    # RayService NewClusterWithIncrementalUpgrade (Gateway API)
    CREATED_GATEWAY = "CreatedGateway"
    UPDATED_GATEWAY = "UpdatedGateway"
    FAILED_TO_CREATE_GATEWAY = "FailedToCreateGateway"
    FAILED_TO_UPDATE_GATEWAY = "FailedToUpdateGateway"
    CREATED_HTTPROUTE = "CreatedHTTPRoute"
    UPDATED_HTTPROUTE = "UpdatedHTTPRoute"
    FAILED_TO_CREATE_HTTPROUTE = "FailedToCreateHTTPRoute"
    FAILED_TO_UPDATE_HTTPROUTE = "FailedToUpdateHTTPRoute"
    UPDATED_SERVE_TARGET_CAPACITY = "UpdatedServeTargetCapacity"
    FAILED_TO_UPDATE_TARGET_CAPACITY = "FailedToUpdateTargetCapacity"
    # RayService, raykube's own (KubeRay emits no Event for these transitions; docs/compatibility.md)
    PROMOTED_PENDING_RAYCLUSTER = "PromotedPendingRayCluster"
    SERVE_APPLICATION_UNHEALTHY = "ServeApplicationUnhealthy"
    RAYSERVICE_SUSPENDED = "RayServiceSuspended"
    # Generic pods
    DELETED_POD = "DeletedPod"
    FAILED_TO_DELETE_POD = "FailedToDeletePod"
    FAILED_TO_DELETE_POD_COLLECTION = "FailedToDeletePodCollection"
    # Ingress and Route
    CREATED_INGRESS = "CreatedIngress"
    FAILED_TO_CREATE_INGRESS = "FailedToCreateIngress"
    CREATED_ROUTE = "CreatedRoute"
    FAILED_TO_CREATE_ROUTE = "FailedToCreateRoute"
    # The auth token Secret
    CREATED_SECRET = "CreatedSecret"
    # raykube only: the auth Secret existed before the cluster's first pod (KubeRay uses it silently)
    USED_EXISTING_SECRET = "UsedExistingSecret"
    # Services
    CREATED_SERVICE = "CreatedService"
    UPDATED_SERVICE = "UpdatedService"
    FAILED_TO_CREATE_SERVICE = "FailedToCreateService"
    FAILED_TO_UPDATE_SERVICE = "FailedToUpdateService"
    # Autoscaler ServiceAccount
    CREATED_SERVICE_ACCOUNT = "CreatedServiceAccount"
    FAILED_TO_CREATE_SERVICE_ACCOUNT = "FailedToCreateServiceAccount"
    AUTOSCALER_SERVICE_ACCOUNT_NOT_FOUND = "AutoscalerServiceAccountNotFound"
    # Autoscaler RBAC
    CREATED_ROLE = "CreatedRole"
    FAILED_TO_CREATE_ROLE = "FailedToCreateRole"
    CREATED_ROLE_BINDING = "CreatedRoleBinding"
    FAILED_TO_CREATE_ROLE_BINDING = "FailedToCreateRoleBinding"
