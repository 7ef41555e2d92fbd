"""Optional feature blocks of ``RayClusterSpec``: autoscaler, GCS fault tolerance, auth, network policy, mTLS,
history server and the cluster upgrade strategy.

Each block is a small :class:`~raykube.api.schema.RayModel`; enum values are ``StrEnum`` classes so the CRD
enum (``enum=tuple(X)``) and the code that compares against it share one definition. Fields stay typed as
``str`` rather than the enum so that a value added by a newer CRD parses instead of crashing the informer;
validation and defaults compare against the enum members.
"""

from __future__ import annotations

from enum import StrEnum

from raykube.api.schema import (
    K8S_ENV_FROM_SOURCE,
    K8S_ENV_VAR,
    K8S_ENV_VAR_SOURCE,
    K8S_NETWORK_POLICY_EGRESS_RULE,
    K8S_NETWORK_POLICY_INGRESS_RULE,
    K8S_QUANTITY,
    K8S_RESOURCE_REQUIREMENTS,
    K8S_SECURITY_CONTEXT,
    K8S_VOLUME_MOUNT,
    CelRule,
    K8sObject,
    Quantity,
    RayModel,
    prop,
)


class UpscalingMode(StrEnum):
    """``autoscalerOptions.upscalingMode`` (read by the Ray autoscaler)."""

    DEFAULT = "Default"
    AGGRESSIVE = "Aggressive"
    CONSERVATIVE = "Conservative"


class AutoscalerVersion(StrEnum):
    """``autoscalerOptions.version``."""

    V1 = "v1"
    V2 = "v2"


class GcsBackend(StrEnum):
    """``gcsFaultToleranceOptions.backend``."""

    REDIS = "redis"
    ROCKSDB = "rocksdb"


class GcsStorageDeletionPolicy(StrEnum):
    """``gcsFaultToleranceOptions.storage.deletionPolicy``."""

    DELETE_WITH_CLUSTER = "DeleteWithCluster"
    RETAIN = "Retain"


class AuthMode(StrEnum):
    """``authOptions.mode``."""

    DISABLED = "disabled"
    TOKEN = "token"


class NetworkPolicyMode(StrEnum):
    """``networkPolicy.mode``."""

    DENY_ALL = "DenyAll"
    DENY_ALL_INGRESS = "DenyAllIngress"
    DENY_ALL_EGRESS = "DenyAllEgress"


class ClusterUpgradeType(StrEnum):
    """``RayCluster.spec.upgradeStrategy.type``."""

    RECREATE = "Recreate"
    NONE = "None"


class AutoscalerOptions(RayModel):
    """Overrides for the injected Ray autoscaler sidecar."""

    args: list[str] | None = prop("args", "Replaces the autoscaler container's args.")
    command: list[str] | None = prop("command", "Replaces the autoscaler container's command.")
    env: list[K8sObject] | None = prop(
        "env", "Extra environment variables for the autoscaler container.", k8s_type=K8S_ENV_VAR
    )
    env_from: list[K8sObject] | None = prop(
        "envFrom", "Extra environment sources for the autoscaler container.", k8s_type=K8S_ENV_FROM_SOURCE
    )
    idle_timeout_seconds: int | None = prop(
        "idleTimeoutSeconds", "Seconds a worker may idle before the autoscaler removes it.", format="int32"
    )
    image: str | None = prop("image", "Autoscaler image; defaults to the head Ray container's image.")
    image_pull_policy: str | None = prop("imagePullPolicy", "Autoscaler image pull policy.")
    resources: K8sObject | None = prop(
        "resources",
        "Autoscaler container resources (default 500m CPU / 512Mi).",
        k8s_type=K8S_RESOURCE_REQUIREMENTS,
    )
    security_context: K8sObject | None = prop(
        "securityContext", "Autoscaler container security context.", k8s_type=K8S_SECURITY_CONTEXT
    )
    upscaling_mode: str | None = prop("upscalingMode", "How fast the autoscaler scales up.", enum=tuple(UpscalingMode))
    version: str | None = prop(
        "version", "Autoscaler generation; unset lets Ray decide.", enum=tuple(AutoscalerVersion)
    )
    volume_mounts: list[K8sObject] | None = prop(
        "volumeMounts", "Extra volume mounts for the autoscaler container.", k8s_type=K8S_VOLUME_MOUNT
    )


class RedisCredential(RayModel):
    """A Redis user name or password, literal or taken from a Secret/ConfigMap."""

    value: str | None = prop("value", "Literal value.")
    value_from: K8sObject | None = prop("valueFrom", "Source of the value.", k8s_type=K8S_ENV_VAR_SOURCE)


class GcsStorageOptions(RayModel):
    """Persistent volume for the embedded (rocksdb) GCS storage backend."""

    access_modes: list[str] | None = prop("accessModes", "PVC access modes (default ReadWriteOnce).")
    claim_name: str | None = prop("claimName", "Existing PVC to use instead of creating one.")
    deletion_policy: str | None = prop(
        "deletionPolicy",
        "What happens to a created PVC with the cluster.",
        enum=tuple(GcsStorageDeletionPolicy),
    )
    size: Quantity | None = prop("size", "Size of a created PVC (default 1Gi).", k8s_type=K8S_QUANTITY)
    storage_class_name: str | None = prop("storageClassName", "Storage class of a created PVC.")
    sub_path: str | None = prop("subPath", "Sub-path inside the volume.")


class GcsFaultToleranceOptions(RayModel):
    """Enables GCS fault tolerance (Redis or embedded rocksdb storage)."""

    backend: str | None = prop(
        "backend",
        "Storage backend of the GCS (default redis). Immutable.",
        enum=tuple(GcsBackend),
        validations=(CelRule(rule="self == oldSelf", message="gcsFaultToleranceOptions.backend is immutable"),),
    )
    external_storage_namespace: str | None = prop(
        "externalStorageNamespace", "Key namespace in Redis (default: the RayCluster UID)."
    )
    redis_address: str | None = prop("redisAddress", "Redis address, host:port or a redis:// URI.")
    redis_password: RedisCredential | None = prop("redisPassword", "Redis password.")
    redis_username: RedisCredential | None = prop("redisUsername", "Redis user name.")
    storage: GcsStorageOptions | None = prop("storage", "Volume for the rocksdb backend.")


class AuthOptions(RayModel):
    """Ray token authentication."""

    enable_k8s_token_auth: bool | None = prop(
        "enableK8sTokenAuth", "Authenticate with projected Kubernetes service-account tokens."
    )
    mode: str | None = prop("mode", "Authentication mode; only 'token' enables auth.", enum=tuple(AuthMode))
    secret_name: str | None = prop("secretName", "Existing Secret holding the token (key auth_token).")


class NetworkPolicyRules(RayModel):
    """Extra allowed traffic for the head or for all workers."""

    egress_rules: list[K8sObject] | None = prop(
        "egressRules", "Additional allowed egress.", k8s_type=K8S_NETWORK_POLICY_EGRESS_RULE
    )
    ingress_rules: list[K8sObject] | None = prop(
        "ingressRules", "Additional allowed ingress.", k8s_type=K8S_NETWORK_POLICY_INGRESS_RULE
    )


class WorkerGroupNetworkPolicy(RayModel):
    """Extra allowed traffic for one worker group."""

    egress_rules: list[K8sObject] | None = prop(
        "egressRules", "Additional allowed egress.", k8s_type=K8S_NETWORK_POLICY_EGRESS_RULE
    )
    group_name: str = prop("groupName", "Worker group the rules apply to.", required=True)
    ingress_rules: list[K8sObject] | None = prop(
        "ingressRules", "Additional allowed ingress.", k8s_type=K8S_NETWORK_POLICY_INGRESS_RULE
    )


class NetworkPolicyOptions(RayModel):
    """NetworkPolicies isolating the cluster's pods."""

    head: NetworkPolicyRules | None = prop("head", "Extra rules for the head pod.")
    mode: str | None = prop(
        "mode", "Which directions are denied by default.", enum=tuple(NetworkPolicyMode), default="DenyAll"
    )
    worker: NetworkPolicyRules | None = prop("worker", "Extra rules for all worker pods.")
    worker_groups: list[WorkerGroupNetworkPolicy] | None = prop(
        "workerGroups", "Extra rules per worker group.", list_type="map", list_map_keys=("groupName",)
    )


class TLSOptions(RayModel):
    """Mutual TLS between Ray processes (certificates from cert-manager)."""

    enabled: bool | None = prop("enabled", "Turn on mTLS.")


class CollectorOptions(RayModel):
    """The history-server collector sidecar."""

    env: list[K8sObject] | None = prop("env", "Extra environment variables.", k8s_type=K8S_ENV_VAR)
    image: str | None = prop("image", "Collector image.")
    image_pull_policy: str | None = prop("imagePullPolicy", "Collector image pull policy.")
    resources: K8sObject | None = prop("resources", "Collector resources.", k8s_type=K8S_RESOURCE_REQUIREMENTS)


class HistoryServerOptions(RayModel):
    """Ray history server integration."""

    collector_options: CollectorOptions | None = prop("collectorOptions", "Collector sidecar settings.")


class ClusterUpgradeStrategy(RayModel):
    """What to do with running pods when the cluster spec changes."""

    type: str | None = prop(
        "type",
        "Recreate deletes all pods on a spec change; None (default) leaves them.",
        enum=tuple(ClusterUpgradeType),
    )
