"""Carry out a pod plan: deletes first, then creates in slow-start batches, recording expectations.

Before each batch the actor asks whether the cluster is still wanted (still cached, same uid, no
deletionTimestamp), so a cluster deleted in the middle of a pass gets no further pods.

Every create and delete is recorded with the scale expectations before the next pass may scale that group
again, so a stale cache can never cause duplicate pods. Creates go out in batches of 1, 2, 4, 8, ...
(the ReplicaSet controller's `slowStartBatch`): a quota or admission error costs one failed call, not
fifty, and the first failure stops the pass and shows as the ReplicaFailure condition.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from raykube import reasons
from raykube.api.raycluster import RayCluster
from raykube.builders.cluster import DesiredCluster
from raykube.controllers.events import ObjectEvents
from raykube.controllers.kinds import POD
from raykube.controllers.raycluster.plan import HEAD, Cause, Deletion, Plan
from raykube.controllers.raycluster.status import ReconcileFailure
from raykube.runtime.client import KubeClient
from raykube.runtime.errors import ApiError, is_not_found
from raykube.runtime.expectations import ScaleExpectations
from raykube.runtime.objects import ObjectKey

E = reasons.EventReason
R = reasons.RayClusterConditionReason


class PodActor:
    """Performs one plan for one cluster and reports the first failure (or None)."""

    def __init__(
        self,
        client: KubeClient,
        cluster: RayCluster,
        expectations: ScaleExpectations,
        events: ObjectEvents,
        still_wanted: Callable[[], bool] = lambda: True,
    ) -> None:
        self._client = client
        self._still_wanted = still_wanted
        self._cluster = cluster
        self._expectations = expectations
        self._events = events

    async def carry_out(self, key: ObjectKey, plan: Plan, desired: DesiredCluster) -> ReconcileFailure | None:
        """Carry out `plan`; the pods to create are `desired`'s (stamped from the plan's choice)."""
        if plan.errors:
            message = "; ".join(plan.errors)
            self._events.warning(E.DUPLICATE_HEAD_PODS, "Reconcile", message)
            return ReconcileFailure(R.DUPLICATE_HEAD_PODS, message)
        # Deletions are independent of each other: send them together, then the creates.
        failures = await asyncio.gather(*(self._delete(key, d) for d in plan.deletions))
        if failure := next((f for f in failures if f), None):
            return failure
        self._collection_events(key, plan)
        # The head and every group scale independently (each group in its own slow-start batches).
        creations = []
        if desired.head_pod is not None:
            creations.append(self._create_batch(key, HEAD, [desired.head_pod]))
        for group in self._cluster.spec.worker_group_specs or []:
            pods = [pod for slot, pod in desired.worker_pods if slot.group == group.group_name]
            if pods:
                creations.append(self._create_batch(key, group.group_name, pods))
        failures = await asyncio.gather(*creations)
        return next((f for f in failures if f), None)

    async def _delete(self, key: ObjectKey, deletion: Deletion) -> ReconcileFailure | None:
        """Delete one pod; the Event (KubeRay's text for the deletion's cause) names it, except for the
        whole-cluster and whole-group deletions, which get one Event each (`_collection_events`)."""
        head, name, ns = deletion.group == HEAD, deletion.pod, key.namespace
        try:
            await self._client.delete(POD, name, namespace=ns)
        except ApiError as err:
            if not is_not_found(err):
                return self._delete_failed(key, deletion, err)
        self._expectations.expect_delete(key, deletion.group, name)
        match deletion.cause:
            case Cause.UNHEALTHY:
                kind = "head" if head else "worker"
                reason = E.DELETED_HEAD_POD if head else E.DELETED_WORKER_POD
                self._events.normal(reason, "Delete", f"Deleted {kind} Pod {ns}/{name}; {deletion.state}")
            case Cause.WORKERS_TO_DELETE:
                self._events.normal(E.DELETED_WORKER_POD, "Delete", f"Deleted pod {ns}/{name}")
            case Cause.SCALE_DOWN:
                self._events.normal(E.DELETED_WORKER_POD, "Delete", f"Deleted Pod {ns}/{name}")
            case Cause.RECREATE:
                self._events.normal(E.DELETED_POD, "Delete", f"Deleted Pod {ns}/{name}: {deletion.reason}")
        return None

    def _delete_failed(self, key: ObjectKey, deletion: Deletion, err: ApiError) -> ReconcileFailure:
        head, name, ns, why = deletion.group == HEAD, deletion.pod, key.namespace, err.message or str(err)
        condition_reason = R.FAILED_DELETE_HEAD_POD if head else R.FAILED_DELETE_WORKER_POD
        match deletion.cause:
            case Cause.SUSPENDING:
                condition_reason = R.FAILED_DELETE_ALL_PODS
                self._events.warning(
                    E.FAILED_TO_DELETE_POD_COLLECTION,
                    "Delete",
                    f"Failed deleting Pods due to suspension for RayCluster {ns}/{key.name}, {why}",
                )
            case Cause.GROUP_SUSPENDED:
                self._events.warning(
                    E.FAILED_TO_DELETE_WORKER_POD_COLLECTION,
                    "Delete",
                    f"Failed deleting worker Pods for suspended group {deletion.group} in RayCluster "
                    f"{ns}/{key.name}, {why}",
                )
            case Cause.UNHEALTHY:
                kind = "head" if head else "worker"
                reason = E.FAILED_TO_DELETE_HEAD_POD if head else E.FAILED_TO_DELETE_WORKER_POD
                self._events.warning(
                    reason, "Delete", f"Failed deleting {kind} Pod {ns}/{name}; {deletion.state}, {why}"
                )
            case Cause.WORKERS_TO_DELETE:
                self._events.warning(E.FAILED_TO_DELETE_WORKER_POD, "Delete", f"Failed deleting pod {ns}/{name}, {why}")
            case _:
                reason = E.FAILED_TO_DELETE_HEAD_POD if head else E.FAILED_TO_DELETE_WORKER_POD
                self._events.warning(reason, "Delete", f"Failed deleting Pod {ns}/{name}, {why}")
        return ReconcileFailure(condition_reason, f"{condition_reason}\n{why}")

    def _collection_events(self, key: ObjectKey, plan: Plan) -> None:
        """One Event for a suspended cluster's pods, one per suspended worker group (KubeRay deletes each
        as a collection)."""
        causes = {d.cause for d in plan.deletions}
        if Cause.SUSPENDING in causes:
            self._events.normal(
                E.DELETED_POD, "Delete", f"Deleted Pods for RayCluster {key.namespace}/{key.name} due to suspension"
            )
        for group in dict.fromkeys(d.group for d in plan.deletions if d.cause is Cause.GROUP_SUSPENDED):
            self._events.normal(
                E.DELETED_WORKER_POD,
                "Delete",
                f"Deleted all pods for suspended worker group {group} in RayCluster {key.namespace}/{key.name}",
            )

    async def _create_batch(self, key: ObjectKey, group: str, pods: list[dict[str, Any]]) -> ReconcileFailure | None:
        """Create `pods` in batches of 1, 2, 4, ...; stop at the first failed batch.

        Each created pod gets its own Event, as in KubeRay.
        """
        batch, start, created, failure = 1, 0, [], None
        while start < len(pods) and failure is None:
            if not self._still_wanted():
                break  # the cluster was deleted (or is being deleted) while this pass ran: create nothing more
            chunk = pods[start : start + batch]
            results = await asyncio.gather(*(self._create_one(key, group, p) for p in chunk), return_exceptions=True)
            created += [r for r in results if isinstance(r, str)]
            errors = [r for r in results if isinstance(r, BaseException)]
            if errors:
                failure = self._create_failed(key, group, errors[0], chunk[0])
            start += len(chunk)
            batch *= 2
        if created:
            self._created_event(key, group, created)
        return failure

    async def _create_one(self, key: ObjectKey, group: str, pod: dict[str, Any]) -> str:
        created = await self._client.create(POD, pod, namespace=key.namespace)
        name = str(created["metadata"]["name"])
        self._expectations.expect_create(key, group, name)
        return name

    def _created_event(self, key: ObjectKey, group: str, names: list[str]) -> None:
        """One Event per created pod, KubeRay's text."""
        kind, reason = ("head", E.CREATED_HEAD_POD) if group == HEAD else ("worker", E.CREATED_WORKER_POD)
        for name in names:
            self._events.normal(reason, "Create", f"Created {kind} Pod {key.namespace}/{name}")

    def _create_failed(self, key: ObjectKey, group: str, error: BaseException, pod: dict[str, Any]) -> ReconcileFailure:
        if not isinstance(error, ApiError):
            raise error
        why = error.message or str(error)
        if group == HEAD:
            name = str(pod.get("metadata", {}).get("name", ""))  # empty with generateName, as in KubeRay
            self._events.warning(
                E.FAILED_TO_CREATE_HEAD_POD, "Create", f"Failed to create head Pod {key.namespace}/{name}, {why}"
            )
            return ReconcileFailure(R.FAILED_CREATE_HEAD_POD, f"{R.FAILED_CREATE_HEAD_POD}\n{why}")
        self._events.warning(
            E.FAILED_TO_CREATE_WORKER_POD,
            "Create",
            f"Failed to create worker Pod for the cluster {key.namespace}/{key.name}, {why}",
        )
        return ReconcileFailure(R.FAILED_CREATE_WORKER_POD, f"{R.FAILED_CREATE_WORKER_POD}\n{why}")
