"""The RayService status, computed in one place from the snapshot and the pass's decision (pure).

``activeServiceStatus`` / ``pendingServiceStatus`` carry the cluster's name, a copy of its status and the
Serve applications (an application named ``""`` is reported as ``default``) with their deployments;
``numServeEndpoints`` counts the distinct ready pods in the serve Service's EndpointSlices. Conditions
(KubeRay's reasons): ``Ready`` True (NonZeroServeEndpoints) with endpoints, False ZeroServeEndpoints once it
has been ready, else False Initializing (or the decision's terminal reason); ``UpgradeInProgress`` True
(BothActivePendingClustersExist) / False (NoPendingCluster) / Unknown (NoActiveCluster). ``serviceStatus``
is ``Running`` iff Ready. A zero ``numServeEndpoints`` and an empty ``serviceStatus`` are left out (KubeRay's
``omitempty``), so ``kubectl get rayservices`` shows blank cells as with KubeRay. Events for every condition
change and every application that turns unhealthy.

The status is a typed `RayServiceStatuses` throughout (times are datetimes, conditions `Condition`s) and is
compared as such; it becomes the API's JSON only at the write (`RayModel.to_json`), where KubeRay's
``omitempty`` shows as the fields left ``None`` here (an empty message, no applications, no share).
"""

from __future__ import annotations

import datetime as dt

import pydantic

from raykube import reasons
from raykube.api.meta import Condition
from raykube.api.raycluster import RayClusterStatus
from raykube.api.rayservice import AppStatus, RayServiceStatus, RayServiceStatuses, ServeDeploymentStatusInfo
from raykube.controllers.event import Event
from raykube.controllers.rayservice.plan import Decision, Snapshot
from raykube.controllers.rayservice.view import ClusterServe
from raykube.runtime.objects import CONDITION_MESSAGE_LIMIT, Obj, truncate_utf8

C = reasons.RayServiceConditionType
R = reasons.RayServiceConditionReason
_BAD = (reasons.ServeApplicationStatus.DEPLOY_FAILED, reasons.ServeApplicationStatus.UNHEALTHY)


def read_status(raw: Obj | None) -> RayServiceStatuses:
    """A status as the API returned it, typed; empty when there is none yet or it does not parse (then the
    RayService did not parse either, the pass reports ValidationFailed, and the status is rebuilt from scratch)."""
    try:
        return RayServiceStatuses.model_validate(raw or {})
    except pydantic.ValidationError:
        return RayServiceStatuses()


def count_serve_endpoints(slices: list[Obj]) -> int:
    """Distinct ready pods behind the serve Service (KubeRay counts pod UIDs)."""
    pods: set[str] = set()
    for piece in slices:
        for endpoint in piece.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            ref = endpoint.get("targetRef") or {}
            pods.add(str(ref.get("uid") or ref.get("name") or ",".join(endpoint.get("addresses") or [])))
    return len(pods)


def application_statuses(view: ClusterServe) -> dict[str, AppStatus]:
    if view.apps is None:
        return {}
    result: dict[str, AppStatus] = {}
    for name, app in sorted(view.apps.applications.items()):
        deployments = {
            d: ServeDeploymentStatusInfo(status=dep.status, message=dep.message or None)
            for d, dep in sorted(app.deployments.items())
        }
        result[name or reasons.DEFAULT_SERVE_APP_NAME] = AppStatus(
            status=app.status, message=app.message or None, serve_deployment_statuses=deployments or None
        )
    return result


def _cluster_copy(raw: Obj | None) -> RayClusterStatus | None:
    """The RayCluster's status, typed; one that does not parse is left out rather than failing every pass."""
    if not raw:
        return None
    try:
        return RayClusterStatus.model_validate(raw)
    except pydantic.ValidationError:
        return None


def _cluster_status(s: Snapshot, d: Decision, name: str, previous: RayServiceStatus | None) -> RayServiceStatus | None:
    if not name:
        return None
    cluster = s.clusters.get(name)
    view = s.serve.get(name)
    apps = application_statuses(view) if view is not None and view.apps is not None else None
    if apps is None and previous is not None and previous.ray_cluster_name == name:
        apps = previous.application_statuses  # no fresh answer: keep what was last seen
    share = d.shares.get(name)
    return RayServiceStatus(
        ray_cluster_name=name,
        ray_cluster_status=_cluster_copy(cluster.get("status") if cluster is not None else None),
        application_statuses=apps or None,
        target_capacity=share.capacity if share is not None else None,
        traffic_routed_percent=share.traffic if share is not None else None,
        last_traffic_migrated_time=_whole(share.migrated_at) if share is not None else None,
    )


def compute(s: Snapshot, d: Decision, *, endpoints: int) -> tuple[RayServiceStatuses, list[Event]]:
    """The new status and the Events its changes call for."""
    old = s.status
    events: list[Event] = []
    previous_by_cluster = {
        (entry.ray_cluster_name or ""): entry
        for entry in (old.active_service_status, old.pending_service_status)
        if entry is not None
    }
    roles: dict[str, RayServiceStatus | None] = {}
    for role, name in (("active", d.active), ("pending", d.pending)):
        previous = previous_by_cluster.get(name)
        entry = roles[role] = _cluster_status(s, d, name, previous)
        if entry is not None:
            events.extend(_app_events(s, name, previous, entry))
    num_endpoints = 0 if d.suspended or d.terminal else endpoints
    conditions = list(old.conditions or [])
    generation = int(s.svc.metadata.get("generation") or 0)
    first: list[Event] = []
    if not conditions:  # KubeRay's first pass: both conditions False, Initializing
        for kind in (C.READY, C.UPGRADE_IN_PROGRESS):
            first.extend(_set(conditions, kind, "False", R.INITIALIZING, INITIALIZING, s.now, generation))
    ready_now = _ready(s, d, num_endpoints)
    if ready_now is None:
        events.extend(first)  # one Event per pass for Ready: the latest of its changes
    else:
        ready, reason, message = ready_now
        events.extend(_set(conditions, C.READY, "True" if ready else "False", reason, message, s.now, generation))
    ready = _is_true(conditions, C.READY)
    if d.suspended:
        events.extend(_set(conditions, C.SUSPENDED, "True", R.SUSPEND_COMPLETE, "All RayClusters deleted", s.now))
        _drop(conditions, C.UPGRADE_IN_PROGRESS)
    else:
        if _condition(conditions, C.SUSPENDED) is not None:
            events.extend(_set(conditions, C.SUSPENDED, "False", R.RESUMED, "The RayService was resumed", s.now))
        upgrade = _upgrade(d, _condition(conditions, C.UPGRADE_IN_PROGRESS))
        if upgrade is not None:
            _set(conditions, C.UPGRADE_IN_PROGRESS, *upgrade, s.now, generation)
    new = old.model_copy(
        update={
            "active_service_status": roles["active"],
            "pending_service_status": roles["pending"],
            "num_serve_endpoints": num_endpoints or None,  # KubeRay's omitempty: 0 is not written
            "conditions": conditions,
            "service_status": str(reasons.SERVICE_STATUS_RUNNING) if ready else None,  # "" is omitted too
            "observed_generation": generation,
        }
    )
    if changed(old, new):
        new = new.model_copy(update={"last_update_time": _whole(s.now)})
    return new, events


#: KubeRay's condition messages (``calculateConditions`` in rayservice_controller.go).
INITIALIZING = "RayService is initializing"
NON_ZERO_ENDPOINTS = "Number of serve endpoints is greater than 0"
ZERO_ENDPOINTS = "Number of serve endpoints dropped to 0"
BOTH_CLUSTERS = "Both active and pending Ray clusters exist"
NO_PENDING = "Active Ray cluster exists and no pending Ray cluster"
NO_ACTIVE = ("No active Ray cluster exists, and the RayService is not initializing. Please open a GitHub issue "
             "in the KubeRay repository.")


def _ready(s: Snapshot, d: Decision, endpoints: int) -> tuple[bool, R, str] | None:
    """The Ready condition this pass sets; None leaves it as it is (as KubeRay: Initializing stays until the
    first endpoint, or the timeout)."""
    if d.terminal is not None:
        return False, d.terminal[0], d.terminal[1]
    if d.suspended:
        return False, R.SUSPEND_COMPLETE, "The RayService is suspended"
    if endpoints > 0:
        return True, R.NON_ZERO_SERVE_ENDPOINTS, NON_ZERO_ENDPOINTS
    previous = _condition(s.status.conditions or [], C.READY)
    if previous is not None and previous.status == "True":
        return False, R.ZERO_SERVE_ENDPOINTS, ZERO_ENDPOINTS
    if previous is not None and previous.reason == R.SUSPEND_COMPLETE:
        return False, R.INITIALIZING, INITIALIZING  # resumed: initializing again
    return None


def _upgrade(d: Decision, current: Condition | None) -> tuple[str, R, str] | None:
    if d.active and d.pending:
        return "True", R.BOTH_ACTIVE_PENDING_CLUSTERS_EXIST, BOTH_CLUSTERS
    if d.active:
        return "False", R.NO_PENDING_CLUSTER, NO_PENDING
    if current is not None and current.reason in (R.INITIALIZING, R.INITIALIZING_TIMEOUT):
        return None  # KubeRay does not override an initializing (or timed-out) RayService's condition
    return "Unknown", R.NO_ACTIVE_CLUSTER, NO_ACTIVE


def _is_true(conditions: list[Condition], kind: str) -> bool:
    current = _condition(conditions, kind)
    return current is not None and current.status == "True"


def _app_events(s: Snapshot, cluster: str, previous: RayServiceStatus | None, entry: RayServiceStatus) -> list[Event]:
    old_apps = (
        (previous.application_statuses or {}) if previous is not None and previous.ray_cluster_name == cluster else {}
    )
    events: list[Event] = []
    for app, status in (entry.application_statuses or {}).items():
        now = status.status
        before = old_apps.get(app)
        if now in _BAD and (before.status if before is not None else None) != now:
            note = (
                f"Serve application {app} on RayCluster {s.svc.namespace}/{cluster} is {now}: "
                f"{status.message or 'no message'}"
            )
            events.append(Event.warning(reasons.EventReason.SERVE_APPLICATION_UNHEALTHY, note))
    return events


def _condition(conditions: list[Condition], kind: str) -> Condition | None:
    return next((c for c in conditions if c.type == kind), None)


def _drop(conditions: list[Condition], kind: str) -> None:
    conditions[:] = [c for c in conditions if c.type != kind]


def _set(
    conditions: list[Condition],
    kind: str,
    status: str,
    reason: reasons.RayServiceConditionReason,
    message: str,
    now: dt.datetime,
    generation: int | None = None,
) -> list[Event]:
    """Set a condition; an Event when its status or reason changed (metav1.Condition semantics).

    A condition whose status and reason stay gets the new message in place (its other fields, and its place in
    the list, kept); any other change replaces it at the end of the list."""
    message = truncate_utf8(message, CONDITION_MESSAGE_LIMIT)  # a longer one fails the whole status write
    current = _condition(conditions, kind)
    if current is not None and (current.status, current.reason) == (status, reason):
        update = {"message": message, "observed_generation": generation}
        conditions[conditions.index(current)] = current.model_copy(update=update)
        return []
    since = _whole(now)
    if current is not None and current.status == status and current.last_transition_time is not None:
        since = current.last_transition_time
    _drop(conditions, kind)
    conditions.append(
        Condition(type=kind, status=status, reason=str(reason), message=message, last_transition_time=since,
                  observed_generation=generation)
    )
    if kind != C.READY:
        return []
    warning = reason in (R.ZERO_SERVE_ENDPOINTS, R.INITIALIZING_TIMEOUT, R.VALIDATION_FAILED)
    return [(Event.warning if warning else Event.normal)(reason, f"Ready={status}: {message}")]


def _whole(moment: dt.datetime | None) -> dt.datetime | None:
    """``metav1.Time`` keeps whole seconds: a time cut here compares equal to the same time read back."""
    return moment.replace(microsecond=0) if moment is not None else None


def changed(old: RayServiceStatuses | None, new: RayServiceStatuses) -> bool:
    """Anything but ``lastUpdateTime`` differs."""
    before = (old or RayServiceStatuses()).model_copy(update={"last_update_time": None})
    return before != new.model_copy(update={"last_update_time": None})
