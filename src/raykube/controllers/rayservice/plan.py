"""One RayService pass, decided: a pure function of a frozen :class:`Snapshot` (KubeRay v1.7.0's
``rayservice_controller.go``, NewCluster and None strategies).

* The first cluster is created as the *pending* cluster; a pending cluster whose applications are all
  ``RUNNING`` gets both Services (``<svc>-head-svc``, ``<svc>-serve-svc``) and is promoted to *active*.
* A new pending cluster is named (``<svc>-<5 random>``) when the spec hash that ignores replicas, min/max,
  ``workersToDelete`` and suspend differs from the active cluster's (NewCluster only) or the pending one's.
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
from raykube.api.raycluster import RayCluster
from raykube.api.rayservice import RayService, ServiceUpgradeType
from raykube.builders import names, parents, service, spec_hash
from raykube.builders.cluster import cluster_context
from raykube.builders.pod import ClusterContext
from raykube.builders.settings import OperatorSettings
from raykube.controllers.event import Event
from raykube.controllers.rayservice import actions as a
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
    """

    requeue_seconds: float = REQUEUE_SECONDS
    zero_downtime: bool = True
    dashboard_url_override: str | None = None
    kubernetes_proxy_base: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """Everything one decision about one RayService may look at."""

    svc: RayService
    status: Mapping[str, Any]
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

    def cluster_name(self, role: str) -> str:
        return str(((self.status.get(f"{role}ServiceStatus") or {}).get("rayClusterName")) or "")


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
    return tuple(deletes)


def _suspend(s: Snapshot, start: tuple[a.Action, ...]) -> Decision:
    actions = start + _teardown(s, "the RayService is suspended")
    return Decision(
        actions, suspended=True, requeue_after=s.settings.requeue_seconds if len(actions) > len(start) else None
    )


def _initializing_timed_out(s: Snapshot) -> Decision | None:
    ready = _condition(s.status, reasons.RayServiceConditionType.READY)
    reason = (ready or {}).get("reason")
    if reason == reasons.RayServiceConditionReason.INITIALIZING_TIMEOUT:
        return Decision(
            _teardown(s, "initializing timed out"),
            terminal=(reasons.RayServiceConditionReason.INITIALIZING_TIMEOUT, str((ready or {}).get("message", ""))),
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
    pending = s.cluster_name("pending")
    desired = spec_hash.hash_without_replicas(s.svc.spec.ray_cluster_config)
    upgrade = effective_upgrade_type(s.svc.spec, zero_downtime_enabled=s.settings.zero_downtime)
    new_name = names.child_cluster_name(s.svc.name, s.suffix)
    if pending and pending in s.clusters and _hash(s.clusters[pending]) != desired:
        pending = new_name  # the spec changed again: the pending cluster is replaced
    elif not active and not pending:
        pending = new_name
    elif active and not pending and upgrade == ServiceUpgradeType.NEW_CLUSTER and _hash(s.clusters[active]) != desired:
        pending = new_name
        events.append(
            Event.normal(
                reasons.RayServiceConditionReason.DESIRED_CLUSTER_SPEC_CHANGED,
                f"The RayCluster spec changed: preparing a new RayCluster {s.svc.namespace}/{pending}",
            )
        )
    if pending and pending not in s.clusters:
        body = parents.build_service_cluster(s.svc, cluster_name=pending, settings=s.operator)
        actions.append(a.CreateCluster(body, "pending" if active else "first"))
    for name in (active, pending):
        actions.extend(_serve_actions(s, name, deploy=name == (pending or active)))
    switch = _apps_ready(s, pending) and (not _apps_ready(s, active) or _head_in_serve_svc(s, pending))
    serving = pending if switch else active if _apps_ready(s, active) else ""
    if serving:
        actions.extend(_service_actions(s, s.clusters[serving]))
    promoted = bool(serving and serving == pending)
    if promoted:
        events.append(
            Event.normal(
                reasons.EventReason.PROMOTED_PENDING_RAYCLUSTER,
                f"Promoted the pending RayCluster {s.svc.namespace}/{pending} to active: its Serve "
                f"applications are RUNNING and the Services point to it",
            )
        )
        active, pending = pending, ""
    dangling, deletes, wake = _dangling(s, keep={active, pending})
    actions.extend(deletes)
    requeue = min(s.settings.requeue_seconds, wake) if wake is not None else s.settings.requeue_seconds
    return Decision(
        tuple(actions), active, pending, promoted, serving, dangling, events=tuple(events), requeue_after=requeue
    )


def _serve_actions(s: Snapshot, name: str, *, deploy: bool) -> list[a.Action]:
    """Poll the applications and proxy of an existing cluster whose head is ready; PUT the config if due."""
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
    if deploy:
        config = s.svc.spec.serve_config_v2 or ""
        want = Applied(config, str(head["metadata"].get("uid", "")))
        lost = view.apps is not None and not view.apps.applications and view.applied == want and not view.deploying
        if config and (view.applied != want or lost):
            actions.append(a.DeployConfig(name, endpoint, serve_config_json(config), want))
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
    if view.applied != Applied(s.svc.spec.serve_config_v2 or "", str(head["metadata"].get("uid", ""))):
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


def _condition(status: Mapping[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


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
