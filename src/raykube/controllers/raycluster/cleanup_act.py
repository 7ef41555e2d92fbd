"""Carry out the GCS FT Redis clean-up step that `gcs_cleanup.decide` chose (finalizer, pods, Job).

Deletion is rare, so the finalizer is written with a plain update of the cached object (a conflict means
the cache was stale: the rate-limited retry reads a fresh copy). The Job comes from the informer cache of
``ray.io/node-type=redis-cleanup`` Jobs, whose changes wake the cluster's reconcile (it owns them).
"""

from __future__ import annotations

from typing import Any

from raykube import reasons
from raykube.api.raycluster import RayCluster
from raykube.builders.cluster import cluster_context
from raykube.builders.gcs_ft import build_redis_cleanup_job, redis_cleanup_job_name, uses_redis
from raykube.builders.settings import OperatorSettings
from raykube.controllers import kit
from raykube.controllers.events import ObjectEvents
from raykube.controllers.kinds import JOB, POD, RAYCLUSTER
from raykube.controllers.raycluster.cache import ClusterCache
from raykube.controllers.raycluster.gcs_cleanup import Decision, Step, decide
from raykube.runtime.client import KubeClient
from raykube.runtime.errors import ApiError, is_already_exists, is_not_found
from raykube.runtime.objects import ObjectKey

E = reasons.EventReason
FINALIZER = reasons.FINALIZER_GCS_FT_REDIS_CLEANUP


class CleanupActor:
    """Takes one clean-up step per pass for one cluster."""

    def __init__(self, client: KubeClient, cache: ClusterCache, settings: OperatorSettings, now: kit.Clock) -> None:
        self._client = client
        self._cache = cache
        self._settings = settings
        self._now = now

    async def step(
        self, key: ObjectKey, obj: dict[str, Any], cluster: RayCluster, ray_pods: list[dict[str, Any]],
        events: ObjectEvents,
    ) -> tuple[Decision, dict[str, Any] | None]:
        """Decide and act; returns the decision and the cluster as written (when the finalizer changed)."""
        job = self._cache.cleanup_job(key, redis_cleanup_job_name(key.name))
        decision = decide(
            obj,
            redis_ft=uses_redis(cluster.spec, cluster.annotations),
            cleanup_enabled=self._settings.enable_gcs_ft_redis_cleanup,
            ray_pods=ray_pods,
            job=job,
            now=self._now(),
        )
        written = None
        match decision.step:
            case Step.ADD_FINALIZER:
                written = await self._set_finalizer(obj, add=True)
            case Step.REMOVE_FINALIZER:
                written = await self._set_finalizer(obj, add=False)
            case Step.DELETE_PODS:
                await self._delete_pods(key, ray_pods, decision.pods, events)
            case Step.CREATE_JOB:
                if not await self._create_job(key, cluster, events):
                    return decision, None  # the failure Event replaces the decision's "created" one
            case _:
                pass
        for event in decision.events:
            events.record(event)
        return decision, written

    async def release_invalid(self, obj: dict[str, Any], events: ObjectEvents) -> None:
        """A cluster whose spec does not validate cannot get a clean-up Job: never hold its deletion."""
        meta = obj["metadata"]
        if meta.get("deletionTimestamp") is None or FINALIZER not in (meta.get("finalizers") or []):
            return
        await self._set_finalizer(obj, add=False)
        events.warning(
            E.REMOVED_GCS_FT_FINALIZER,
            "Cleanup",
            f"Removed finalizer {FINALIZER} from RayCluster {meta.get('namespace')}/{meta.get('name')} without "
            "running the Redis clean-up Job: the spec is invalid",
        )

    async def _set_finalizer(self, obj: dict[str, Any], *, add: bool) -> dict[str, Any] | None:
        without_status = {k: v for k, v in obj.items() if k != "status"}  # a plain update: the status is not ours
        return await kit.set_finalizer(self._client, RAYCLUSTER, without_status, FINALIZER, add=add)

    async def _delete_pods(
        self, key: ObjectKey, ray_pods: list[dict[str, Any]], names: tuple[str, ...], events: ObjectEvents
    ) -> None:
        heads = {p["metadata"]["name"] for p in ray_pods if p["metadata"].get("labels", {}).get(
            reasons.LABEL_NODE_TYPE) == reasons.NodeType.HEAD}
        for name in names:
            head = name in heads
            try:
                await self._client.delete(POD, name, namespace=key.namespace)
            except ApiError as err:
                if is_not_found(err):
                    continue
                reason = E.FAILED_TO_DELETE_HEAD_POD if head else E.FAILED_TO_DELETE_WORKER_POD
                events.warning(reason, "Delete", f"Failed deleting pod {key.namespace}/{name}: {err}")
                continue
            reason = E.DELETED_HEAD_POD if head else E.DELETED_WORKER_POD
            why = "the RayCluster is being deleted; the Redis clean-up Job runs once the head is gone"
            events.normal(reason, "Delete", f"Deleted {'head' if head else 'worker'} Pod {key.namespace}/{name}: {why}")

    async def _create_job(self, key: ObjectKey, cluster: RayCluster, events: ObjectEvents) -> bool:
        job = build_redis_cleanup_job(cluster_context(cluster, self._settings))
        try:
            await self._client.create(JOB, job, namespace=key.namespace)
        except ApiError as err:
            if is_already_exists(err):
                return True
            events.warning(
                E.FAILED_TO_CREATE_REDIS_CLEANUP_JOB,
                "Create",
                f"Failed to create Redis clean-up Job {key.namespace}/{job['metadata']['name']}: {err.message or err}",
            )
            return False
        return True
