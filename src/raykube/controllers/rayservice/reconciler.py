"""The RayService reconciler: observe → decide → act → one status write → Events.

Level-based like the other reconcilers: ``reconcile(key)`` reads the RayService, its RayClusters, their head
pods, ``<svc>-head-svc``/``<svc>-serve-svc`` and the serve EndpointSlices from informer caches, and the
latest Serve answers from memory; :func:`raykube.controllers.rayservice.plan.decide` says what to do;
:class:`~raykube.controllers.rayservice.act.ServiceActor` does it; :func:`~.status.compute`
builds the status, written once when it changed; Events go out after the write. No pass waits on HTTP.

In memory (as KubeRay): when each no-longer-used cluster was first seen so (its deletion is due
``rayClusterDeletionDelaySeconds`` later), and, in the probes, the config last applied to each cluster.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json

from raykube import reasons
from raykube.api.rayservice import RayService, RayServiceSpec, RayServiceStatuses, ServiceUpgradeType
from raykube.api.spec_warnings import rayservice_warnings
from raykube.api.validation import ValidationGates, validate_rayservice
from raykube.builders import gateway, names
from raykube.controllers import kit
from raykube.controllers.events import ObjectEvents
from raykube.controllers.kinds import GATEWAY, HTTPROUTE, RAYSERVICE
from raykube.controllers.rayservice import plan, status
from raykube.controllers.rayservice.act import ServiceActor
from raykube.controllers.rayservice.cache import ServiceCache
from raykube.controllers.rayservice.serve import Outcome, ServeProbes
from raykube.runtime.controller import Result
from raykube.runtime.errors import ApiError, is_not_found
from raykube.runtime.objects import Obj, ObjectKey, is_being_deleted, meta, uid_of


class RayServiceReconciler(kit.ProbingReconciler[ServiceCache, ServeProbes, plan.RayServiceSettings]):
    """Reconciles one RayService key; collaborators are injected (client, cache, probes, clock)."""

    @functools.cached_property
    def _dangling(self) -> dict[ObjectKey, dict[str, dt.datetime]]:
        """Per RayService, when each no-longer-used cluster was first seen so (memory of this process only)."""
        return {}

    def get(self, key: ObjectKey) -> Obj | None:
        return self._cache.rayservice(key)

    async def reconcile(self, key: ObjectKey) -> Result:
        obj = self.get(key)
        if obj is None:
            self._probes.forget(key)
            self._dangling.pop(key, None)
            self._spec_warnings.forget(key)
            return Result()
        if kit.managed_elsewhere(obj):
            return Result()
        events = ObjectEvents.start(self._recorder, obj)
        snapshot = self._observe(key, obj)
        if not snapshot.problems and not snapshot.deleting:
            self._spec_warnings.emit(key, obj, rayservice_warnings(snapshot.svc))
        if _incremental(snapshot):
            snapshot = await self._observe_routing(snapshot)
        decision = plan.decide(snapshot)
        for outcome in self._probes.take_outcomes(key):
            _deploy_event(events, key.namespace, outcome)
        current = await ServiceActor(self._client, self._probes, key=key, rayservice=obj, events=events).carry_out(
            decision.actions
        )
        self._dangling[key] = dict(decision.dangling)
        if current is not None and not snapshot.deleting:
            if current is not obj:
                self._cache.observe_rayservice(current)
            serve_names = decision.endpoint_services or (self._serve_service_name(snapshot),)
            slices = [piece for n in serve_names for piece in self._cache.endpoint_slices(key.namespace, n)]
            endpoints = status.count_serve_endpoints(slices)
            new, notes = status.compute(snapshot, decision, endpoints=endpoints)
            await self._write_status(current, snapshot.status, new)
            for event in (*decision.events, *notes):
                events.record(event)
        elif snapshot.deleting:
            self._probes.forget(key)
        events.emit()
        return Result(requeue_after=decision.requeue_after)

    def _observe(self, key: ObjectKey, obj: Obj) -> plan.Snapshot:
        svc, problems = _parse(obj, self._operator.gates)
        clusters = self._cache.clusters(key, owner_uid=uid_of(obj))
        self._probes.keep_only(key, set(clusters))
        heads = {n: h for n in clusters if (h := self._cache.head_pod(key.namespace, n)) is not None}
        custom = ((svc.spec.serve_service or {}).get("metadata") or {}).get("name")
        return plan.Snapshot(
            svc=svc,
            status=status.read_status(obj.get("status")),
            now=self._clock.now(),
            settings=self._settings,
            operator=self._operator,
            finalizers=tuple(meta(obj).get("finalizers") or ()),
            deleting=is_being_deleted(obj),
            problems=tuple(problems),
            clusters=clusters,
            heads=heads,
            serve={n: self._probes.view(key, n) for n in clusters},
            head_svc=self._cache.service(key.namespace, names.head_service_name(key.name)),
            serve_svc=self._cache.service(key.namespace, str(custom or names.serve_service_name(key.name))),
            dangling_since=self._dangling.get(key, {}),
            suffix=cluster_suffix(obj),
        )

    async def _observe_routing(self, s: plan.Snapshot) -> plan.Snapshot:
        """The Gateway and HTTPRoute, read from the API server (only for incremental RayServices: no Gateway API
        informer runs, so a cluster without its CRDs costs nothing), and the per-cluster serve Services."""
        ns = s.svc.namespace
        found: dict[str, Obj | None] = {}
        for kind, name in (
            (GATEWAY, gateway.gateway_name(s.svc.name)),
            (HTTPROUTE, gateway.httproute_name(s.svc.name)),
        ):
            try:
                found[kind.kind] = await self._client.get(kind, name, namespace=ns)
            except ApiError as err:
                if not is_not_found(err):
                    raise
                found[kind.kind] = None
        serve_svcs = {
            n: svc for n in s.clusters if (svc := self._cache.service(ns, names.serve_service_name(n))) is not None
        }
        return dataclasses.replace(
            s, gateway=found["Gateway"], httproute=found["HTTPRoute"], cluster_serve_svcs=serve_svcs
        )

    @staticmethod
    def _serve_service_name(s: plan.Snapshot) -> str:
        custom = ((s.svc.spec.serve_service or {}).get("metadata") or {}).get("name")
        return str(custom or names.serve_service_name(s.svc.name))

    async def _write_status(self, obj: Obj, old: RayServiceStatuses, new: RayServiceStatuses) -> kit.StatusWrite:
        return await self._status_writer.write(obj, old, new)

    @functools.cached_property
    def _status_writer(self) -> kit.StatusWriter[RayServiceStatuses]:
        return kit.StatusWriter(self._client, RAYSERVICE, status.changed, self._cache.observe_rayservice,
                                RayServiceStatuses.to_json)


def _incremental(s: plan.Snapshot) -> bool:
    strategy = s.svc.spec.upgrade_strategy
    return (
        not s.problems
        and not s.deleting
        and s.settings.incremental_upgrade
        and strategy is not None
        and strategy.type == ServiceUpgradeType.NEW_CLUSTER_WITH_INCREMENTAL_UPGRADE
    )


def _deploy_event(events: ObjectEvents, namespace: str, outcome: Outcome) -> None:
    cluster, error = outcome.cluster, outcome.error
    if outcome.capacity_only:
        if error:
            events.warning(
                reasons.EventReason.FAILED_TO_UPDATE_TARGET_CAPACITY,
                "Update",
                f"Failed to update target_capacity of serve applications to the RayCluster {namespace}/{cluster}: "
                f"{error}",
            )
        else:
            events.normal(
                reasons.EventReason.UPDATED_SERVE_TARGET_CAPACITY,
                "Update",
                f"Updated target_capacity of serve applications to the RayCluster {namespace}/{cluster}",
            )
        return
    if error:
        events.warning(
            reasons.EventReason.FAILED_TO_UPDATE_SERVE_APPLICATIONS,
            "Update",
            f"Failed to update serve applications to the RayCluster {namespace}/{cluster}: {error}",
        )
    else:
        events.normal(
            reasons.EventReason.UPDATED_SERVE_APPLICATIONS,
            "Update",
            f"Updated serve applications to the RayCluster {namespace}/{cluster}",
        )


def _parse(obj: Obj, gates: ValidationGates) -> tuple[RayService, list[str]]:
    """The typed RayService (as the API server defaulted it) and KubeRay's validation problems; a RayService
    whose model does not parse becomes an empty one, so the pass can still drop its finalizer and report."""
    svc, problems = kit.checked(RayService, obj, lambda svc: validate_rayservice(svc, gates=gates))
    if svc is None:
        spec = RayServiceSpec.model_construct()
        return RayService.model_construct(metadata=obj.get("metadata") or {}, spec=spec), problems
    return svc, problems


def cluster_suffix(obj: Obj) -> str:
    """The suffix of a new cluster: KubeRay's is random; ours is drawn from the RayService's uid, generation and
    cluster spec, so a pass that created the cluster but failed before its status write (a Gateway the API
    server refuses, a conflict) names the same cluster again on retry - AlreadyExists - instead of creating
    one more cluster on every retry. A new spec (a new generation) still gets a new name."""
    config = json.dumps((obj.get("spec") or {}).get("rayClusterConfig"), sort_keys=True)
    return names.seeded_suffix(f"{uid_of(obj)}/{meta(obj).get('generation')}/{config}")
