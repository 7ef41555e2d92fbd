"""The RayService status as computed before it was typed (JSON dicts, camelCase keys, time strings).

Kept only as the reference of tests/unit/properties/test_rayservice_status_typed.py, which checks that the typed
`raykube.controllers.rayservice.status` serialises to exactly these dicts. Not used by the operator; the one
change from the removed code is that the old status is an argument (`Snapshot.status` is typed now, and JSON
text is what this version was written against).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from raykube import reasons
from raykube.controllers.event import Event
from raykube.controllers.rayservice.plan import Decision, Snapshot
from raykube.controllers.rayservice.view import ClusterServe
from raykube.runtime.clock import stamp
from raykube.runtime.objects import CONDITION_MESSAGE_LIMIT, truncate_utf8

C = reasons.RayServiceConditionType
R = reasons.RayServiceConditionReason
_BAD = (reasons.ServeApplicationStatus.DEPLOY_FAILED, reasons.ServeApplicationStatus.UNHEALTHY)


def application_statuses(view: ClusterServe) -> dict[str, Any]:
    if view.apps is None:
        return {}
    result: dict[str, Any] = {}
    for name, app in sorted(view.apps.applications.items()):
        deployments = {d: _entry(dep.status, dep.message) for d, dep in sorted(app.deployments.items())}
        entry = _entry(app.status, app.message)
        if deployments:
            entry["serveDeploymentStatuses"] = deployments
        result[name or reasons.DEFAULT_SERVE_APP_NAME] = entry
    return result


def _entry(status: str, message: str) -> dict[str, Any]:
    return {"status": status, "message": message} if message else {"status": status}


def _cluster_status(s: Snapshot, d: Decision, name: str, previous: Mapping[str, Any]) -> dict[str, Any] | None:
    if not name:
        return None
    cluster = s.clusters.get(name)
    entry: dict[str, Any] = {"rayClusterName": name}
    if cluster is not None and cluster.get("status"):
        entry["rayClusterStatus"] = cluster["status"]
    view = s.serve.get(name)
    apps = application_statuses(view) if view is not None and view.apps is not None else None
    if apps is None and previous.get("rayClusterName") == name:
        apps = previous.get("applicationStatuses")  # no fresh answer: keep what was last seen
    if apps:
        entry["applicationStatuses"] = apps
    share = d.shares.get(name)
    if share is not None:
        if share.capacity is not None:
            entry["targetCapacity"] = share.capacity
        if share.traffic is not None:
            entry["trafficRoutedPercent"] = share.traffic
        if share.migrated_at is not None:
            entry["lastTrafficMigratedTime"] = stamp(share.migrated_at)
    return entry


def compute(s: Snapshot, d: Decision, *, endpoints: int, old: Mapping[str, Any]) -> tuple[dict[str, Any], list[Event]]:
    """The new status and the Events its changes call for."""
    new: dict[str, Any] = {k: v for k, v in old.items() if k not in ("activeServiceStatus", "pendingServiceStatus")}
    events: list[Event] = []
    previous_by_cluster = {
        str((old.get(k) or {}).get("rayClusterName") or ""): old.get(k) or {}
        for k in ("activeServiceStatus", "pendingServiceStatus")
    }
    for key, name in (("activeServiceStatus", d.active), ("pendingServiceStatus", d.pending)):
        entry = _cluster_status(s, d, name, previous_by_cluster.get(name, {}))
        if entry is not None:
            new[key] = entry
            events.extend(_app_events(s, name, previous_by_cluster.get(name, {}), entry))
    new["numServeEndpoints"] = 0 if d.suspended or d.terminal else endpoints
    conditions = [dict(c) for c in old.get("conditions") or []]
    generation = int(s.svc.metadata.get("generation") or 0)
    first: list[Event] = []
    if not conditions:
        for kind in (C.READY, C.UPGRADE_IN_PROGRESS):
            first.extend(_set(conditions, kind, "False", R.INITIALIZING, "RayService is initializing", s.now,
                              generation))
    ready_now = _ready(old, d, new["numServeEndpoints"])
    if ready_now is None:
        events.extend(first)
    else:
        events.extend(_set(conditions, C.READY, "True" if ready_now[0] else "False", ready_now[1], ready_now[2],
                           s.now, generation))
    ready = (_condition(conditions, C.READY) or {}).get("status") == "True"
    if d.suspended:
        events.extend(_set(conditions, C.SUSPENDED, "True", R.SUSPEND_COMPLETE, "All RayClusters deleted", s.now))
        _drop(conditions, C.UPGRADE_IN_PROGRESS)
    else:
        if _condition(conditions, C.SUSPENDED) is not None:
            events.extend(_set(conditions, C.SUSPENDED, "False", R.RESUMED, "The RayService was resumed", s.now))
        _set_upgrade(conditions, d, s.now, generation)
    new["conditions"] = conditions
    new["serviceStatus"] = reasons.SERVICE_STATUS_RUNNING if ready else ""
    for key in ("numServeEndpoints", "serviceStatus"):  # KubeRay's omitempty
        if not new[key]:
            del new[key]
    new["observedGeneration"] = generation
    if changed(old, new):
        new["lastUpdateTime"] = stamp(s.now)
    return new, events


def _set_upgrade(conditions: list[dict[str, Any]], d: Decision, now: dt.datetime, generation: int) -> None:
    current = _condition(conditions, C.UPGRADE_IN_PROGRESS) or {}
    if d.active and d.pending:
        _set(conditions, C.UPGRADE_IN_PROGRESS, "True", R.BOTH_ACTIVE_PENDING_CLUSTERS_EXIST,
             "Both active and pending Ray clusters exist", now, generation)
    elif d.active:
        _set(conditions, C.UPGRADE_IN_PROGRESS, "False", R.NO_PENDING_CLUSTER,
             "Active Ray cluster exists and no pending Ray cluster", now, generation)
    elif current.get("reason") not in (R.INITIALIZING, R.INITIALIZING_TIMEOUT):
        _set(conditions, C.UPGRADE_IN_PROGRESS, "Unknown", R.NO_ACTIVE_CLUSTER,
             "No active Ray cluster exists, and the RayService is not initializing. Please open a GitHub issue "
             "in the KubeRay repository.", now, generation)


def _ready(old: Mapping[str, Any], d: Decision, endpoints: int) -> tuple[bool, R, str] | None:
    if d.terminal is not None:
        return False, d.terminal[0], d.terminal[1]
    if d.suspended:
        return False, R.SUSPEND_COMPLETE, "The RayService is suspended"
    if endpoints > 0:
        return True, R.NON_ZERO_SERVE_ENDPOINTS, "Number of serve endpoints is greater than 0"
    previous = _condition(old.get("conditions") or [], C.READY) or {}
    if previous.get("status") == "True":
        return False, R.ZERO_SERVE_ENDPOINTS, "Number of serve endpoints dropped to 0"
    if previous.get("reason") == R.SUSPEND_COMPLETE:
        return False, R.INITIALIZING, "RayService is initializing"
    return None


def _app_events(s: Snapshot, cluster: str, previous: Mapping[str, Any], entry: Mapping[str, Any]) -> list[Event]:
    old_apps = previous.get("applicationStatuses") or {} if previous.get("rayClusterName") == cluster else {}
    events: list[Event] = []
    for app, status in (entry.get("applicationStatuses") or {}).items():
        now = status.get("status")
        if now in _BAD and (old_apps.get(app) or {}).get("status") != now:
            note = (
                f"Serve application {app} on RayCluster {s.svc.namespace}/{cluster} is {now}: "
                f"{status.get('message') or 'no message'}"
            )
            events.append(Event.warning(reasons.EventReason.SERVE_APPLICATION_UNHEALTHY, note))
    return events


def _condition(conditions: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    return next((c for c in conditions if c.get("type") == kind), None)


def _drop(conditions: list[dict[str, Any]], kind: str) -> None:
    conditions[:] = [c for c in conditions if c.get("type") != kind]


def _set(
    conditions: list[dict[str, Any]],
    kind: str,
    status: str,
    reason: reasons.RayServiceConditionReason,
    message: str,
    now: dt.datetime,
    generation: int | None = None,
) -> list[Event]:
    """Set a condition; an Event when its status or reason changed (metav1.Condition semantics)."""
    message = truncate_utf8(message, CONDITION_MESSAGE_LIMIT)  # a longer one fails the whole status write
    current = _condition(conditions, kind)
    if current is not None and (current.get("status"), current.get("reason")) == (status, reason):
        current["message"] = message
        if generation is not None:
            current["observedGeneration"] = generation
        return []
    entry: dict[str, Any] = {
        "type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": stamp(now)
    }
    if generation is not None:
        entry["observedGeneration"] = generation
    if current is not None and current.get("status") == status:
        entry["lastTransitionTime"] = current.get("lastTransitionTime", entry["lastTransitionTime"])
    _drop(conditions, kind)
    conditions.append(entry)
    if kind != C.READY:
        return []
    warning = reason in (R.ZERO_SERVE_ENDPOINTS, R.INITIALIZING_TIMEOUT, R.VALIDATION_FAILED)
    return [(Event.warning if warning else Event.normal)(reason, f"Ready={status}: {message}")]


def changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Anything but ``lastUpdateTime`` differs."""
    strip = ("lastUpdateTime",)
    return {k: v for k, v in old.items() if k not in strip} != {k: v for k, v in new.items() if k not in strip}
