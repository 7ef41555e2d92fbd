"""One RayService pass, decided: a pure function of a frozen :class:`Snapshot` (KubeRay v1.7.0's
``rayservice_controller.go``, NewCluster and None strategies).

* The first cluster is created as the *pending* cluster; a pending cluster whose applications are all
  ``RUNNING`` gets both Services (``<svc>-head-svc``, ``<svc>-serve-svc``) and is promoted to *active*.
* A new pending cluster is named (``<svc>-<5 random>``) when the spec hash that ignores replicas, min/max,
  ``workersToDelete``, tolerations, scheduling gates and ``upgradeStrategy`` differs from the active cluster's
  (NewCluster only) or the pending one's.
* An existing cluster is updated in place instead when only ``suspend`` changed or worker groups were
  appended, and the active one also when another operator version made it (KubeRay's ``shouldUpdateCluster``);
  never the active cluster during an upgrade.
* The serve config goes to the pending cluster if there is one, else to the active one, once its head pod is
  ready; it is PUT again only when the config text or the head pod (its UID) changed, or Serve reports no
  applications at all.
* Clusters that are neither active nor pending are deleted ``rayClusterDeletionDelaySeconds`` after they
  were first seen so (the start times are the reconciler's memory, passed in and handed back).
* The head pods' ``ray.io/serve`` label follows their proxy's ``/-/healthz``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from raykube import reasons
from raykube.api.defaults import apply_crd_defaults, effective_deletion_delay_seconds, effective_upgrade_type
from raykube.api.meta import Condition
from raykube.api.raycluster import RayCluster
from raykube.api.rayservice import RayService, RayServiceStatus, RayServiceStatuses, ServiceUpgradeType
from raykube.builders import gateway, names, parents, service, spec_hash
from raykube.builders.cluster import cluster_context
from raykube.builders.pod import ClusterContext
from raykube.builders.settings import OperatorSettings
from raykube.controllers.event import Event
from raykube.controllers.rayservice import actions as a
from raykube.controllers.rayservice.incremental import (
    Options,
    Share,
    is_complete,
    next_capacity,
    next_traffic,
    seconds_to_next_traffic,
)
from raykube.controllers.rayservice.view import Applied, ClusterServe, Endpoint
from raykube.runtime.clock import parse_time
from raykube.runtime.objects import Obj

REQUEUE_SECONDS = 2.0  # KubeRay's ServiceDefaultRequeueDuration
SERVE_PORT = 8000


@dataclass(frozen=True, kw_only=True)
class RayServiceSettings:
    """Switches of the RayService controller.

    Attributes:
        requeue_seconds: look again this often while anything is in motion [KubeRay: 2 s].
        zero_downtime: an unset upgrade strategy means NewCluster [``ENABLE_ZERO_DOWNTIME``, true].
        dashboard_url_override: TEST HOOK (``--dashboard-url-override``): send every Serve call to this URL,
            with the real host in the ``Host`` header.
        kubernetes_proxy_base: with ``--use-kubernetes-proxy``, the API server URL: dashboards are reached through
            ``services/<head svc>:dashboard/proxy`` and proxies through ``pods/<head pod>:<serve port>/proxy``
            (KubeRay's paths), for an operator outside the cluster network.
        incremental_upgrade: NewClusterWithIncrementalUpgrade is carried out [gate RayServiceIncrementalUpgrade,
            on]; off, that type disables zero-downtime upgrades as KubeRay does.
    """

    requeue_seconds: float = REQUEUE_SECONDS
    zero_downtime: bool = True
    incremental_upgrade: bool = True
    dashboard_url_override: str | None = None
    kubernetes_proxy_base: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """Everything one decision about one RayService may look at."""

    svc: RayService
    status: RayServiceStatuses
    now: dt.datetime
    settings: RayServiceSettings
    operator: OperatorSettings
    finalizers: tuple[str, ...] = ()
    deleting: bool = False
    problems: tuple[str, ...] = ()
    clusters: Mapping[str, Obj] = field(default_factory=dict)
    heads: Mapping[str, Obj] = field(default_factory=dict)
    serve: Mapping[str, ClusterServe] = field(default_factory=dict)
    head_svc: Obj | None = None
    serve_svc: Obj | None = None
    dangling_since: Mapping[str, dt.datetime] = field(default_factory=dict)
    suffix: str = "aaaaa"
    # NewClusterWithIncrementalUpgrade only: the Gateway, the HTTPRoute and the per-cluster serve Services
    gateway: Obj | None = None
    httproute: Obj | None = None
    cluster_serve_svcs: Mapping[str, Obj] = field(default_factory=dict)

    def service_status(self, role: str) -> RayServiceStatus | None:
        """The status entry of the ``active`` or ``pending`` cluster."""
        return self.status.active_service_status if role == "active" else self.status.pending_service_status

    def cluster_name(self, role: str) -> str:
        entry = self.service_status(role)
        return (entry.ray_cluster_name if entry is not None else None) or ""


"""(``Normal``/``Warning``, reason, note)."""


@dataclass(frozen=True)
class Decision:
    """What a pass does, and what the status must say about it."""

    actions: tuple[a.Action, ...] = ()
    active: str = ""
    pending: str = ""
    promoted: bool = False
    serving: str = ""
    dangling: Mapping[str, dt.datetime] = field(default_factory=dict)
    terminal: tuple[reasons.RayServiceConditionReason, str] | None = None  # Ready=False (reason, message): the end
    suspended: bool = False
    events: tuple[Event, ...] = ()
    requeue_after: float | None = REQUEUE_SECONDS
    shares: Mapping[str, Share] = field(default_factory=dict)  # incremental upgrade: per cluster, for the status
    endpoint_services: tuple[str, ...] = ()  # whose endpoints count (default: <svc>-serve-svc)


def decide(s: Snapshot) -> Decision:
    """The decision of one pass."""
    if s.deleting:
        deletes = tuple(a.DeleteCluster(n, "the RayService is being deleted") for n in sorted(s.clusters))
        return Decision((*deletes, a.RemoveFinalizer()), requeue_after=None)
    start: tuple[a.Action, ...] = () if reasons.FINALIZER_RAYSERVICE in s.finalizers else (a.AddFinalizer(),)
    if s.problems:
        message = "; ".join(s.problems)
        event = Event.warning(reasons.EventReason.INVALID_RAYSERVICE_SPEC, message)
        return Decision(
            start,
            terminal=(reasons.RayServiceConditionReason.VALIDATION_FAILED, message),
            events=(event,),
            requeue_after=None,
        )
    if s.svc.spec.suspend:
        return _suspend(s, start)
    timed_out = _initializing_timed_out(s)
    if timed_out is not None:
        return timed_out
    return _serve(s, start)


def _teardown(s: Snapshot, why: str) -> tuple[a.Action, ...]:
    deletes: list[a.Action] = [a.DeleteCluster(n, why) for n in sorted(s.clusters)]
    deletes += [a.DeleteService(str(o["metadata"]["name"])) for o in (s.head_svc, s.serve_svc) if o is not None]
    deletes += [
        a.DeleteRouting(str(o["kind"]), str(o["metadata"]["name"])) for o in (s.httproute, s.gateway) if o is not None
    ]
    return tuple(deletes)


def _suspend(s: Snapshot, start: tuple[a.Action, ...]) -> Decision:
    actions = start + _teardown(s, "the RayService is suspended")
    return Decision(
        actions, suspended=True, requeue_after=s.settings.requeue_seconds if len(actions) > len(start) else None
    )


def _initializing_timed_out(s: Snapshot) -> Decision | None:
    ready = _condition(s.status, reasons.RayServiceConditionType.READY)
    reason = ready.reason if ready is not None else None
    if reason == reasons.RayServiceConditionReason.INITIALIZING_TIMEOUT:
        return Decision(
            _teardown(s, "initializing timed out"),
            terminal=(
                reasons.RayServiceConditionReason.INITIALIZING_TIMEOUT,
                (ready.message if ready is not None else None) or "",
            ),
            requeue_after=None,
        )
    if reason not in (None, reasons.RayServiceConditionReason.INITIALIZING):
        return None
    timeout = parse_duration(s.svc.annotations.get(reasons.ANNOTATION_INITIALIZING_TIMEOUT, ""))
    created = parse_time(s.svc.metadata.get("creationTimestamp"))
    if timeout is None or created is None:
        return None
    left = (created + dt.timedelta(seconds=timeout) - s.now).total_seconds()
    if left > 0:
        return None
    message = f"RayService did not become ready within the initializing timeout of {timeout:g}s"
    event = Event.warning(reasons.RayServiceConditionReason.INITIALIZING_TIMEOUT, message)
    return Decision(
        _teardown(s, "initializing timed out"),
        terminal=(reasons.RayServiceConditionReason.INITIALIZING_TIMEOUT, message),
        events=(event,),
        requeue_after=None,
    )


def _serve(s: Snapshot, start: tuple[a.Action, ...]) -> Decision:
    actions: list[a.Action] = list(start)
    events: list[Event] = []
    active = s.cluster_name("active") if s.cluster_name("active") in s.clusters else ""
    pending = named = s.cluster_name("pending")
    upgrade = effective_upgrade_type(s.svc.spec, zero_downtime_enabled=s.settings.zero_downtime)
    incremental = upgrade == ServiceUpgradeType.NEW_CLUSTER_WITH_INCREMENTAL_UPGRADE and s.settings.incremental_upgrade
    zero_downtime = upgrade == ServiceUpgradeType.NEW_CLUSTER or incremental
    upgrading = bool(active and pending in s.clusters)  # UpgradeInProgress as the pass found it
    shares = _shares(s) if incremental else {}
    new_name = names.child_cluster_name(s.svc.name, s.suffix)
    updates = _updates(s, active, pending, upgrading=upgrading)
    actions.extend(updates)
    hashes = {u.body["metadata"]["name"]: _hash(u.body) for u in updates}
    pending = _pending_name(s, active, pending, new_name, events, zero_downtime=zero_downtime, hashes=hashes)
    if incremental and pending != named:
        # the first cluster takes all the capacity at once; a pending one starts empty and grows step by step
        shares[pending] = Share(capacity=0) if active else Share(capacity=100)
    if pending and pending not in s.clusters:
        body = parents.build_service_cluster(s.svc, cluster_name=pending, settings=s.operator)
        if incremental and active:
            _autoscale_from_min(body)
        actions.append(a.CreateCluster(body, "pending" if active else "first"))
    step = _capacity_step(s, active, pending, shares) if incremental and upgrading else None
    for name in (active, pending):
        goal = step[1] if step is not None and step[0] == name else None
        actions.extend(_serve_actions(s, name, deploy=name == (pending or active), shares=shares, capacity_goal=goal))
    if incremental:
        switch = _apps_ready(s, pending) and not active and _head_in_serve_svc(s, pending)
    else:
        switch = _apps_ready(s, pending) and (not _apps_ready(s, active) or _head_in_serve_svc(s, pending))
    serving = pending if switch else active if _apps_ready(s, active) else ""
    if serving:
        actions.extend(_service_actions(s, s.clusters[serving]))
    wake: float | None = None
    if incremental:
        routing, wake = _routing(s, active, pending, shares)
        actions.extend(routing)
    promoted = bool(serving and serving == pending)
    if incremental and upgrading and pending in s.clusters and is_complete(shares[active], shares[pending]):
        promoted = True
    if promoted:
        why = (
            "all traffic has moved to it and the old cluster's target capacity is 0"
            if incremental and active
            else "its Serve applications are RUNNING and the Services point to it"
        )
        note = f"Promoted the pending RayCluster {s.svc.namespace}/{pending} to active: {why}"
        events.append(Event.normal(reasons.EventReason.PROMOTED_PENDING_RAYCLUSTER, note))
        active, pending = pending, ""
    dangling, deletes, delete_wake = _dangling(s, keep={active, pending})
    actions.extend(deletes)
    waits = [w for w in (delete_wake, wake, s.settings.requeue_seconds) if w is not None]
    shares = {n: shares[n] for n in (active, pending) if n in shares}
    counted: tuple[str, ...] = ()
    if incremental and active in s.cluster_serve_svcs:
        # KubeRay counts the per-cluster serve Services then; until the active one exists (a RayService switched
        # to this strategy), <svc>-serve-svc is counted so Ready does not drop meanwhile
        counted = tuple(names.serve_service_name(n) for n in (active, pending) if n in s.cluster_serve_svcs)
    return Decision(
        tuple(actions),
        active,
        pending,
        promoted,
        serving,
        dangling,
        events=tuple(events),
        requeue_after=min(waits),
        shares=shares,
        endpoint_services=counted,
    )


def _updates(s: Snapshot, active: str, pending: str, *, upgrading: bool) -> list[a.UpdateCluster]:
    """The clusters this pass updates in place (KubeRay's ``shouldUpdateCluster``), each to the cluster the spec
    asks for now (KubeRay rebuilds it whole too, replicas included)."""
    updates = []
    for name, role in ((active, "active"), (pending, "pending")):
        cluster = s.clusters.get(name) if name else None
        if cluster is not None and _should_update(s, cluster, is_active=role == "active", upgrading=upgrading):
            body = parents.build_service_cluster(s.svc, cluster_name=name, settings=s.operator)
            updates.append(a.UpdateCluster(body, existing=cluster, role=role))
    return updates


def _should_update(s: Snapshot, cluster: Obj, *, is_active: bool, upgrading: bool) -> bool:
    annotations = cluster["metadata"].get("annotations") or {}
    if is_active:
        if upgrading:
            return False  # during an upgrade the spec is compared with the pending cluster only
        if annotations.get(reasons.ANNOTATION_KUBERAY_VERSION) != s.operator.kuberay_version:
            return True
    spec = s.svc.spec.ray_cluster_config
    if bool(spec.suspend) != bool((cluster.get("spec") or {}).get("suspend")):
        return True  # a suspend toggle (Kueue admitting or preempting) is applied to the cluster itself
    if _hash(cluster) == spec_hash.hash_without_replicas(spec):
        return False
    try:
        groups = int(annotations.get(reasons.ANNOTATION_NUM_WORKER_GROUPS, ""))
    except ValueError:
        return True  # as KubeRay: an unreadable group count counts as "only groups appended"
    if len(spec.worker_group_specs or []) < groups:
        return False
    return _hash(cluster) == spec_hash.hash_of_first_groups(spec, groups)


def _pending_name(
    s: Snapshot, active: str, pending: str, new_name: str, events: list[Event], *, zero_downtime: bool,
    hashes: Mapping[str, str],
) -> str:
    """The pending cluster of this pass: a new name when the spec hash differs from the pending cluster's, or
    (zero-downtime upgrades) from the active one's, or for the first cluster. ``hashes``: the clusters this
    pass updates in place, with the hash they will have."""
    desired = spec_hash.hash_without_replicas(s.svc.spec.ray_cluster_config)

    def hash_of(name: str) -> str:
        return hashes.get(name) or _hash(s.clusters[name])

    if pending and pending in s.clusters and hash_of(pending) != desired:
        return new_name  # the spec changed again: the pending cluster is replaced
    if not active and not pending:
        return new_name
    if active and not pending and zero_downtime and hash_of(active) != desired:
        events.append(
            Event.normal(
                reasons.RayServiceConditionReason.DESIRED_CLUSTER_SPEC_CHANGED,
                f"The RayCluster spec changed: preparing a new RayCluster {s.svc.namespace}/{new_name}",
            )
        )
        return new_name
    return pending


def _shares(s: Snapshot) -> dict[str, Share]:
    """Each status cluster's share, its capacity as last applied to Serve when the probes know it."""
    shares: dict[str, Share] = {}
    for role in ("active", "pending"):
        name = s.cluster_name(role)
        if not name:
            continue
        entry = s.service_status(role) or RayServiceStatus()
        capacity = entry.target_capacity
        applied = s.serve.get(name, ClusterServe()).applied
        if applied is not None and applied.target_capacity is not None:
            capacity = applied.target_capacity
        shares[name] = Share(capacity, entry.traffic_routed_percent, entry.last_traffic_migrated_time)
    return shares


def _autoscale_from_min(body: Obj) -> None:
    """A pending cluster of an incremental upgrade starts without worker replicas: the autoscaler grows it from
    minReplicas as its target capacity rises (KubeRay unsets ``replicas``)."""
    for group in body["spec"].get("workerGroupSpecs") or []:
        group.pop("replicas", None)


def _options(s: Snapshot) -> Options:
    strategy = s.svc.spec.upgrade_strategy
    assert strategy is not None and strategy.cluster_upgrade_options is not None  # validated before
    return Options.of(strategy.cluster_upgrade_options)


def _capacity_step(s: Snapshot, active: str, pending: str, shares: Mapping[str, Share]) -> tuple[str, int] | None:
    """The target_capacity change of this pass: only once the Gateway and the HTTPRoute are ready (a gateway
    controller accepted them), the pending cluster took the config and no Serve PUT is under way."""
    if not gateway.gateway_ready(s.gateway):
        return None
    if not gateway.httproute_ready(s.httproute, gateway.gateway_name(s.svc.name), s.svc.namespace):
        return None
    if any(s.serve.get(n, ClusterServe()).deploying for n in (active, pending)):
        return None
    pending_head = s.heads.get(pending)
    taken = Applied(s.svc.spec.serve_config_v2 or "", str((pending_head or {}).get("metadata", {}).get("uid", "")))
    if pending_head is None or not taken.same_config(s.serve.get(pending, ClusterServe()).applied):
        return None  # the pending cluster first takes the config, at its starting capacity
    change = next_capacity(shares.get(active, Share()), shares.get(pending, Share()), _options(s))
    if change is None:
        return None
    role, goal = change
    return (active if role == "active" else pending), goal


def _routing(s: Snapshot, active: str, pending: str, shares: dict[str, Share]) -> tuple[list[a.Action], float | None]:
    """The Gateway, the per-cluster serve Services and, once there is an active cluster, the HTTPRoute with
    this pass's weights (recorded in ``shares``); and when traffic may next move."""
    options = _options(s)
    svc_meta = dict(s.svc.metadata)
    actions: list[a.Action] = []
    for name in (active, pending):
        cluster = s.clusters.get(name)
        if cluster is None or s.cluster_serve_svcs.get(name) is not None:
            continue
        body = service.build_rayservice_cluster_serve_service(svc_meta, context(cluster, s.operator))
        if body is not None:
            actions.append(a.ApplyService(body))
    strategy = s.svc.spec.upgrade_strategy
    assert strategy is not None and strategy.cluster_upgrade_options is not None  # validated before
    wanted = gateway.build_gateway(svc_meta, strategy.cluster_upgrade_options.gateway_class_name)
    if s.gateway is None or not gateway.spec_matches(wanted["spec"], s.gateway.get("spec")):
        actions.append(a.ApplyRouting("Gateway", wanted, s.gateway))
    if not active:
        return actions, None  # KubeRay routes only once a cluster is active
    old_active, old_pending = shares.get(active, Share()), shares.get(pending, Share())
    with_pending = pending in s.clusters
    if with_pending:
        ready = _apps_ready(s, pending)
        active_weight, pending_weight = next_traffic(old_active, old_pending, options, now=s.now, pending_ready=ready)
    else:
        active_weight, pending_weight = (100 if old_active.traffic is None else old_active.traffic), 0
    shares[active] = _moved(old_active, active_weight, s.now)
    backends = [gateway.Backend(names.serve_service_name(active), _serve_port(s, active), active_weight)]
    if with_pending:
        shares[pending] = _moved(old_pending, pending_weight, s.now)
        backends.append(gateway.Backend(names.serve_service_name(pending), _serve_port(s, pending), pending_weight))
    route = gateway.build_httproute(svc_meta, backends)
    if s.httproute is None or not gateway.spec_matches(route["spec"], s.httproute.get("spec")):
        actions.append(a.ApplyRouting("HTTPRoute", route, s.httproute))
    wake = seconds_to_next_traffic(shares[pending], options, now=s.now) if with_pending else None
    return actions, wake


def _moved(share: Share, weight: int, now: dt.datetime) -> Share:
    if share.traffic == weight:
        return share
    return Share(share.capacity, weight, now)


def _serve_port(s: Snapshot, name: str) -> int:
    return service.serve_port(context(s.clusters[name], s.operator))


def _serve_actions(
    s: Snapshot,
    name: str,
    *,
    deploy: bool,
    shares: Mapping[str, Share] | None = None,
    capacity_goal: int | None = None,
) -> list[a.Action]:
    """Poll the applications and proxy of an existing cluster whose head is ready; PUT the config if due.

    During an incremental upgrade the PUT carries the cluster's ``target_capacity``; the active cluster gets
    no new config then (KubeRay), only its capacity steps, sent with the config it last took."""
    cluster, head = s.clusters.get(name), s.heads.get(name)
    if cluster is None or head is None or not _head_ready(cluster):
        return []
    ctx = context(cluster, s.operator)
    endpoint = dashboard_endpoint(ctx, s.settings)
    view = s.serve.get(name, ClusterServe())
    actions: list[a.Action] = [a.PollApplications(name, endpoint)]
    pod_ip = str((head.get("status") or {}).get("podIP") or "")
    if pod_ip:
        actions.append(a.CheckProxy(name, proxy_endpoint(ctx, head, s.settings), pod_ip))
        actions.extend(_label_action(s, head, view.proxy_healthy(pod_ip)))
    share = (shares or {}).get(name)
    capacity = capacity_goal if capacity_goal is not None else share.capacity if share is not None else None
    uid = str(head["metadata"].get("uid", ""))
    if deploy:
        config = s.svc.spec.serve_config_v2 or ""
    elif capacity_goal is not None:
        config = view.applied.config if view.applied is not None else s.svc.spec.serve_config_v2 or ""
    else:
        return actions
    want = Applied(config, uid, capacity)
    lost = view.apps is not None and not view.apps.applications and view.applied == want and not view.deploying
    if config and (view.applied != want or lost):
        body = serve_config_json(config)
        if capacity is not None:
            body["target_capacity"] = capacity
        capacity_only = want.same_config(view.applied) and not lost
        actions.append(a.DeployConfig(name, endpoint, body, want, capacity_only=capacity_only))
    return actions


def _label_action(s: Snapshot, head: Obj, healthy: bool | None) -> list[a.Action]:
    if s.svc.spec.exclude_head_pod_from_serve_svc:
        want = "false"
    elif healthy is None:
        return []
    else:
        want = "true" if healthy else "false"
    current = (head["metadata"].get("labels") or {}).get(reasons.LABEL_SERVE)
    return [] if current == want else [a.LabelHeadPod(str(head["metadata"]["name"]), want)]


def _service_actions(s: Snapshot, cluster: Obj) -> list[a.Action]:
    ctx = context(cluster, s.operator)
    svc_meta = dict(s.svc.metadata)
    bodies = [(service.build_rayservice_head_service(svc_meta, ctx), s.head_svc)]
    serve = service.build_rayservice_serve_service(svc_meta, s.svc.spec.serve_service, ctx)
    if serve is not None:
        bodies.append((serve, s.serve_svc))
    return [
        a.ApplyService(body, existing)
        for body, existing in bodies
        if existing is None or (existing.get("spec") or {}).get("selector") != body["spec"].get("selector")
    ]


def _dangling(s: Snapshot, *, keep: set[str]) -> tuple[dict[str, dt.datetime], list[a.Action], float | None]:
    delay = effective_deletion_delay_seconds(s.svc.spec)
    since: dict[str, dt.datetime] = {}
    deletes: list[a.Action] = []
    wake: float | None = None
    for name, cluster in sorted(s.clusters.items()):
        if name in keep or (cluster["metadata"].get("deletionTimestamp")):
            continue
        first = s.dangling_since.get(name, s.now)
        left = (first + dt.timedelta(seconds=delay) - s.now).total_seconds()
        if left <= 0:
            deletes.append(
                a.DeleteCluster(name, f"it has served no traffic for {delay}s (rayClusterDeletionDelaySeconds)")
            )
        else:
            since[name] = first
            wake = left if wake is None else min(wake, left)
    return since, deletes, wake


# -- facts -----------------------------------------------------------------------------------------------


def context(cluster: Obj, settings: OperatorSettings) -> ClusterContext:
    return cluster_context(apply_crd_defaults(RayCluster.model_validate(cluster)), settings)


def dashboard_endpoint(ctx: ClusterContext, settings: RayServiceSettings) -> Endpoint:
    host = f"{ctx.fqdn}:{service.dashboard_port(ctx)}"
    if settings.dashboard_url_override:
        return Endpoint(settings.dashboard_url_override.rstrip("/"), host)
    if settings.kubernetes_proxy_base:
        base = settings.kubernetes_proxy_base.rstrip("/")
        return Endpoint(f"{base}/api/v1/namespaces/{ctx.namespace}/services/{ctx.head_service}:dashboard/proxy")
    return Endpoint(f"http://{host}")


def proxy_endpoint(ctx: ClusterContext, head: Obj, settings: RayServiceSettings) -> Endpoint:
    """The Serve proxy on the head pod (its IP and the head's ``serve`` port, 8000 by default)."""
    port = service.head_ports(ctx).get("serve", SERVE_PORT)
    host = f"{(head.get('status') or {}).get('podIP', '')}:{port}"
    if settings.dashboard_url_override:
        return Endpoint(settings.dashboard_url_override.rstrip("/"), host)
    if settings.kubernetes_proxy_base:
        base, pod = settings.kubernetes_proxy_base.rstrip("/"), head["metadata"]["name"]
        return Endpoint(f"{base}/api/v1/namespaces/{ctx.namespace}/pods/{pod}:{port}/proxy")
    return Endpoint(f"http://{host}")


def serve_config_json(config: str) -> dict[str, Any]:
    """``serveConfigV2`` (YAML) as the JSON body of the PUT (an unreadable config is PUT as it is: Serve
    rejects it and the rejection is reported)."""
    try:
        data = yaml.safe_load(config)
    except yaml.YAMLError:
        return {"applications": config}
    return json.loads(json.dumps(data, default=str)) if isinstance(data, dict) else {"applications": data}


def _hash(cluster: Obj) -> str:
    return str((cluster["metadata"].get("annotations") or {}).get(reasons.ANNOTATION_HASH_WITHOUT_REPLICAS, ""))


def _head_ready(cluster: Obj) -> bool:
    return any(
        c.get("type") == reasons.RayClusterConditionType.HEAD_POD_READY and c.get("status") == "True"
        for c in (cluster.get("status") or {}).get("conditions") or []
    )


def _apps_ready(s: Snapshot, name: str) -> bool:
    """At least one application and all RUNNING, read after the config the spec asks for was applied."""
    view = s.serve.get(name)
    head = s.heads.get(name)
    if not name or view is None or view.apps is None or head is None or view.deploying:
        return False
    if not Applied(s.svc.spec.serve_config_v2 or "", str(head["metadata"].get("uid", ""))).same_config(view.applied):
        return False
    apps = view.apps.applications
    return bool(apps) and all(app.status == reasons.ServeApplicationStatus.RUNNING for app in apps.values())


def _head_in_serve_svc(s: Snapshot, name: str) -> bool:
    """The head of ``name`` already carries ``ray.io/serve=true`` (its proxy answered ``/-/healthz``), so the
    serve Service has an endpoint the moment its selector moves there [raykube: KubeRay switches on RUNNING
    applications alone, and requests fail until the label follows]. With ``excludeHeadPodFromServeSvc`` the
    head never serves and is not waited for."""
    if s.svc.spec.exclude_head_pod_from_serve_svc:
        return True
    head = s.heads.get(name) or {}
    return (head.get("metadata", {}).get("labels") or {}).get(reasons.LABEL_SERVE) == "true"


def _condition(status: RayServiceStatuses, kind: str) -> Condition | None:
    return next((c for c in status.conditions or [] if c.type == kind), None)


_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")


def parse_duration(text: str) -> float | None:
    """``ray.io/initializing-timeout``: a Go duration (``5m``, ``1h30m``) or whole seconds; None if unset/bad."""
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text) or None
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNITS[u] for n, u in parts) or None
