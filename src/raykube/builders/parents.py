"""Objects created by the parent kinds: a RayService's RayCluster, and a RayCronJob's RayJob.

* RayService (``rayservice_controller.go``, ``constructRayClusterForRayService``): RayCluster
  ``<rayservice>-<suffix>`` with the service's labels plus ``ray.io/originated-from-*``, its annotations plus
  the spec hash, the number of worker groups and the KubeRay version; ``suspend`` is copied only here, at
  creation.
* RayCronJob (``raycronjob_controller.go``): RayJob ``<cronjob>-<minutes since epoch>`` labelled
  ``ray.io/cronjob-name`` and annotated with the scheduled time, spec = ``jobTemplate``.

Random suffixes and the schedule time are inputs, so these builders stay deterministic.
"""

from __future__ import annotations

from datetime import UTC, datetime

from raykube import reasons
from raykube.api.raycronjob import RayCronJob
from raykube.api.rayservice import RayService
from raykube.api.schema import K8sObject
from raykube.builders import kube, names, spec_hash
from raykube.builders.settings import OperatorSettings


def build_service_cluster(svc: RayService, *, cluster_name: str, settings: OperatorSettings) -> K8sObject:
    """The RayCluster a RayService creates (pending or first active cluster)."""
    spec = svc.spec.ray_cluster_config
    labels = {**svc.labels, **names.originated_from(svc.name, "RayService")}
    annotations = {
        **svc.annotations,
        reasons.ANNOTATION_HASH_WITHOUT_REPLICAS: spec_hash.hash_without_replicas(spec),
        reasons.ANNOTATION_NUM_WORKER_GROUPS: str(len(spec.worker_group_specs or [])),
        reasons.ANNOTATION_KUBERAY_VERSION: settings.kuberay_version,
    }
    meta: K8sObject = {
        "name": cluster_name,
        "namespace": svc.namespace,
        "labels": labels,
        "annotations": annotations,
        "ownerReferences": [kube.ray_owner_reference("RayService", svc.metadata)],
    }
    return {"apiVersion": reasons.API_VERSION, "kind": "RayCluster", "metadata": meta, "spec": spec.to_json()}


def build_cron_rayjob(cron: RayCronJob, *, scheduled: datetime) -> K8sObject:
    """The RayJob a RayCronJob creates for the tick at ``scheduled`` (timezone-aware)."""
    when = scheduled.astimezone(UTC)
    meta: K8sObject = {
        "name": names.cron_rayjob_name(cron.name, int(when.timestamp())),
        "namespace": cron.namespace,
        "labels": {reasons.LABEL_CRONJOB_NAME: cron.name},
        "annotations": {reasons.ANNOTATION_CRONJOB_SCHEDULED_TIMESTAMP: when.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "ownerReferences": [kube.ray_owner_reference("RayCronJob", cron.metadata)],
    }
    spec = cron.spec.job_template.to_json()
    return {"apiVersion": reasons.API_VERSION, "kind": "RayJob", "metadata": meta, "spec": spec}
