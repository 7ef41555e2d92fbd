"""GCS fault tolerance objects beyond the pods: the Redis clean-up Job and the rocksdb storage PVC.

* ``<cluster>-redis-cleanup`` (KubeRay ``buildRedisCleanupJob``): created when a RayCluster with Redis GCS FT
  is deleted, after its pods are gone. It is the head pod reduced to its Ray container: probes dropped,
  200m CPU / 256Mi, ``restartPolicy: Never``, one attempt (``backoffLimit: 0``) within
  ``activeDeadlineSeconds: 300``. Its command removes the keys of the cluster's external storage namespace
  from Redis with Ray's own helper, reading address, credentials and namespace from the env the head had,
  so a password given as a ``secretKeyRef`` stays a reference here too.
* ``<cluster>-gcs-pvc`` (KubeRay ``reconcileGCSStoragePVC``): the volume of the embedded rocksdb backend when
  ``gcsFaultToleranceOptions.storage.claimName`` is not given; owned by the cluster (deleted with it) unless
  ``deletionPolicy: Retain``.
"""

from __future__ import annotations

from typing import Final

from raykube import reasons
from raykube.api.cluster_options import GcsBackend, GcsStorageDeletionPolicy
from raykube.api.defaults import is_gcs_fault_tolerance_enabled
from raykube.api.raycluster import RayClusterSpec
from raykube.api.schema import K8sObject
from raykube.builders import kube, names
from raykube.builders.pod import ClusterContext, build_head_pod

CLEANUP_ACTIVE_DEADLINE_SECONDS: Final = 300
DEFAULT_GCS_PVC_SIZE: Final = "1Gi"
DEFAULT_GCS_PVC_ACCESS_MODES: Final = ("ReadWriteOnce",)

#: Python run in the clean-up container. RAY_REDIS_ADDRESS may be a comma-separated list, a bare host:port or
#: a redis:// / rediss:// URI; the credentials default to the ones inside the URI.
_CLEANUP_PYTHON: Final = "; ".join(
    (
        "import os, sys",
        "from urllib.parse import urlparse",
        "from ray._private.gcs_utils import cleanup_redis_storage",
        "first = os.environ.get('RAY_REDIS_ADDRESS', '').split(',')[0].strip()",
        "url = urlparse(first if '://' in first else 'redis://' + first)",
        "ok = cleanup_redis_storage(host=url.hostname, port=url.port or 6379,"
        " username=os.environ.get('REDIS_USERNAME', url.username),"
        " password=os.environ.get('REDIS_PASSWORD', url.password),"
        " use_ssl=url.scheme == 'rediss',"
        " storage_namespace=os.environ.get('RAY_external_storage_namespace'))",
        "sys.exit(0 if ok else 1)",
    )
)
_CLEANUP_HINT: Final = (
    "If this Job cannot finish, delete the cluster's storage namespace in Redis by hand and remove the "
    f"RayCluster's {reasons.FINALIZER_GCS_FT_REDIS_CLEANUP} finalizer (see Ray's GCS fault tolerance guide)."
)


def uses_redis(spec: RayClusterSpec, annotations: dict[str, str]) -> bool:
    """GCS FT is on with the Redis backend (the annotation, or options without ``backend: rocksdb``)."""
    if not is_gcs_fault_tolerance_enabled(spec, annotations):
        return False
    options = spec.gcs_fault_tolerance_options
    return options is None or options.backend != GcsBackend.ROCKSDB


def uses_rocksdb(spec: RayClusterSpec) -> bool:
    options = spec.gcs_fault_tolerance_options
    return options is not None and options.backend == GcsBackend.ROCKSDB


def redis_cleanup_job_name(cluster: str) -> str:
    return names.check_name(f"{cluster}-redis-cleanup")


def gcs_pvc_name(cluster: str) -> str:
    return f"{cluster}-gcs-pvc"


def build_redis_cleanup_job(ctx: ClusterContext) -> K8sObject:
    """The Job that deletes the cluster's keys from Redis (see the module docstring)."""
    pod = build_head_pod(ctx)
    meta = pod["metadata"]
    labels = dict(meta.get("labels") or {})
    labels[reasons.LABEL_NODE_TYPE] = reasons.NodeType.REDIS_CLEANUP
    ray = kube.ray_container(pod)
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        ray.pop(probe, None)
    ray["command"] = kube.shell_command(login=ctx.settings.enable_login_shell)
    ray["args"] = [f'echo "{_CLEANUP_HINT}" && python -c "{_CLEANUP_PYTHON}"']
    ray["resources"] = {
        "limits": {"cpu": "200m", "memory": "256Mi"},
        "requests": {"cpu": "200m", "memory": "256Mi"},
    }
    # Redis may be restarting too: retry the connection for a minute instead of failing at once.
    kube.add_env_if_absent(ray, "RAY_redis_db_connect_retries", "120")
    kube.add_env_if_absent(ray, "RAY_redis_db_connect_wait_milliseconds", "500")
    spec = pod["spec"]
    spec["containers"] = [ray]
    spec.pop("initContainers", None)
    spec["restartPolicy"] = "Never"
    template_meta: K8sObject = {"labels": labels}
    if meta.get("annotations"):
        template_meta["annotations"] = dict(meta["annotations"])
    job_meta: K8sObject = {
        "name": redis_cleanup_job_name(ctx.name),
        "namespace": ctx.namespace,
        "labels": labels,
        "ownerReferences": [kube.ray_owner_reference("RayCluster", ctx.meta)],
    }
    if meta.get("annotations"):
        job_meta["annotations"] = dict(meta["annotations"])
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": job_meta,
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": CLEANUP_ACTIVE_DEADLINE_SECONDS,
            "template": {"metadata": template_meta, "spec": spec},
        },
    }


def wants_gcs_pvc(ctx: ClusterContext) -> bool:
    """The rocksdb backend without a user-given claim: the operator creates ``<cluster>-gcs-pvc``."""
    options = ctx.spec.gcs_fault_tolerance_options
    if options is None or not uses_rocksdb(ctx.spec):
        return False
    return not (options.storage is not None and options.storage.claim_name)


def build_gcs_pvc(ctx: ClusterContext) -> K8sObject:
    """``<cluster>-gcs-pvc``: ``storage.size`` (1Gi), ``accessModes`` (RWO), ``storageClassName``; owned by the
    cluster unless ``deletionPolicy: Retain``."""
    options = ctx.spec.gcs_fault_tolerance_options
    storage = options.storage if options is not None else None
    size = str(storage.size) if storage is not None and storage.size is not None else DEFAULT_GCS_PVC_SIZE
    modes = list(storage.access_modes) if storage is not None and storage.access_modes else []
    spec: K8sObject = {
        "accessModes": modes or list(DEFAULT_GCS_PVC_ACCESS_MODES),
        "resources": {"requests": {"storage": size}},
    }
    if storage is not None and storage.storage_class_name:
        spec["storageClassName"] = storage.storage_class_name
    meta: K8sObject = {
        "name": gcs_pvc_name(ctx.name),
        "namespace": ctx.namespace,
        "labels": {reasons.LABEL_CLUSTER: ctx.name},
    }
    retain = storage is not None and storage.deletion_policy == GcsStorageDeletionPolicy.RETAIN
    if not retain:
        meta["ownerReferences"] = [kube.ray_owner_reference("RayCluster", ctx.meta)]
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec}
