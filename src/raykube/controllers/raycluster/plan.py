"""Decide which pods of a RayCluster to create and delete: a pure function of spec and observed pods.

The plan is a value (what to do, and why) that the reconciler then carries out and turns into Events;
tests inspect it directly. It follows KubeRay's `reconcilePods` (controllers/ray/raycluster_controller.go):

* suspend: while the RayClusterSuspending condition is True every pod goes; before that condition is
  set (or once Suspended) nothing is touched: the status step drives the suspend state machine;
* head: exactly one; a dead head (see `pods.deletion_reason`) is deleted, a missing one is created
  (unless the cluster was provisioned and the `ray.io/disable-provisioned-head-restart` annotation says not to);
* each worker group: a suspended group loses all pods; dead pods are deleted (and nothing is created
  in that pass, as KubeRay); every pod named in `scaleStrategy.workersToDelete` is deleted whatever
  `replicas` says, and the list itself is left to the autoscaler that wrote it; then the group is
  brought to its desired size. Surplus pods are deleted only when autoscaling is off: with the
  autoscaler on, it alone picks which pods go. Groups are never reordered.

Where we differ from KubeRay (docs/compatibility.md): terminating pods do not count towards a group's
size (a replacement starts while the old pod shuts down, as a ReplicaSet does), and surplus pods are
chosen unready first, then newest first, instead of in list order. One pass creates at most
``max_creates`` pods (:data:`MAX_CREATES_PER_PASS`) over the whole cluster: the rest follow in later passes,
once the expectations of this one are met, so the work (and memory) of a pass never grows with ``replicas``
and a huge cluster cannot hold a worker while other clusters wait. Nor does it hold the scheduler: new worker
pods are created only while fewer than :data:`MAX_AWAITING_SCHEDULER` of the cluster's pods wait for the
default scheduler's first attempt (`pods.awaits_first_scheduling`). The scheduler serves its queue in
arrival order, so without this a 0 -> 1,000 scale-up puts every other cluster's new pods behind 1,000 of
its own; with it, behind at most that many. Pods the scheduler found no node for (PodScheduled False) do not
count, so a cluster autoscaler still sees every pending pod within a few scheduling rounds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from raykube import reasons
from raykube.api.defaults import effective_replicas, is_autoscaling_enabled
from raykube.api.raycluster import RayCluster
from raykube.builders import names, spec_hash
from raykube.builders.cluster import PodsToCreate
from raykube.builders.replicas import WorkerSlot, choose_worker_slots
from raykube.builders.settings import KUBERAY_VERSION
from raykube.controllers.raycluster import pods as podfacts
from raykube.controllers.raycluster.pods import Pod

HEAD = reasons.HEAD_GROUP_NAME
#: Pods one reconcile pass creates at most, head and all groups together.
MAX_CREATES_PER_PASS = 200
#: New worker pods are created only while fewer of the cluster's pods than this wait for the scheduler's first
#: attempt (see the module docstring): about one second of a default scheduler's work (its client binds at most
#: 50 pods/s). Measured (docs/benchmarks.md, one big scale-up): 100 -> 50 took other clusters' p99 to ready
#: during a 1,000-worker scale-up from 3.1 s to 1.6 s, and the big cluster was not slower.
MAX_AWAITING_SCHEDULER = 50


class Cause(Enum):
    """Why a pod is deleted; decides the Event KubeRay writes for it."""

    UNHEALTHY = "unhealthy"  # one Event per pod, with its state
    SUSPENDING = "suspending"  # one Event for the whole cluster
    GROUP_SUSPENDED = "group-suspended"  # one Event per worker group
    WORKERS_TO_DELETE = "workers-to-delete"
    SCALE_DOWN = "scale-down"
    RECREATE = "recreate"


@dataclass(frozen=True)
class Deletion:
    """One pod to delete: its group (`headgroup` for the head), why (free text) and the cause class.

    ``state`` is the pod's state summary (phase, restart policy, Ray container's terminated status) that
    KubeRay prints in the Event of an unhealthy pod's deletion.
    """

    group: str
    pod: str
    reason: str
    cause: Cause = Cause.UNHEALTHY
    state: str = field(default="", compare=False)


@dataclass
class Plan:
    """Everything one reconcile pass should do to the cluster's pods."""

    create_head: bool = False
    new_workers: dict[str, tuple[WorkerSlot, ...]] = field(default_factory=dict)  # worker group -> pods to create
    deletions: list[Deletion] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # states the plan cannot fix by itself
    skipped_groups: list[str] = field(default_factory=list)  # waiting on expectations
    deferred: int = 0  # pods still missing after this pass's create budget was spent
    awaiting_scheduler: int = 0  # the cluster's pods waiting for the scheduler's first attempt
    held_for_scheduler: int = 0  # of `deferred`, the workers held back because of them (MAX_AWAITING_SCHEDULER)

    @property
    def creates(self) -> dict[str, int]:
        """How many pods each worker group gets."""
        return {group: len(slots) for group, slots in self.new_workers.items()}

    @property
    def awaiting_after(self) -> int:
        """The cluster's pods waiting for the scheduler once this pass's new pods exist."""
        return self.awaiting_scheduler + int(self.create_head) + sum(self.creates.values())

    @property
    def pods_to_create(self) -> PodsToCreate:
        """The pods to create, as the desired-state function takes them."""
        return PodsToCreate(self.create_head, tuple(s for slots in self.new_workers.values() for s in slots))

    @property
    def empty(self) -> bool:
        return not (self.create_head or self.new_workers or self.deletions)


def _condition_true(cluster: RayCluster, kind: str) -> bool:
    conditions = (cluster.status.conditions if cluster.status else None) or []
    return any(c.type == kind and c.is_true for c in conditions)


def plan_pods(
    cluster: RayCluster,
    observed: list[Pod],
    *,
    expectations_satisfied: Callable[[str], bool] = lambda _group: True,
    operator_version: str = KUBERAY_VERSION,
    suffix: Callable[[str], Callable[[], str]] = lambda _group: names.random_suffix,
    status_conditions: bool = True,
    max_creates: int = MAX_CREATES_PER_PASS,
    max_awaiting_scheduler: int = MAX_AWAITING_SCHEDULER,
) -> Plan:
    """Compute the plan for `cluster` given its pods as the informer sees them.

    New worker pods get their replica index (and, multi-host, replica name and host index) here;
    ``suffix(group)`` gives the random part of the group's new replica names. ``status_conditions`` is
    KubeRay's RayClusterStatusConditions gate: off, ``spec.suspend`` deletes every pod at once (no
    Suspending step). At most ``max_creates`` pods are planned, and new workers only while fewer than
    ``max_awaiting_scheduler`` pods wait for the scheduler; ``plan.deferred`` counts the ones left for later
    passes.
    """
    plan = Plan()
    suspending = _condition_true(cluster, reasons.RayClusterConditionType.SUSPENDING)
    if suspending if status_conditions else cluster.spec.suspend:
        plan.deletions += [
            Deletion(
                HEAD if podfacts.is_head(p) else podfacts.group(p),
                podfacts.name(p),
                "the RayCluster is suspending",
                Cause.SUSPENDING,
            )
            for p in observed
            if not podfacts.is_terminating(p)
        ]
        return plan
    if cluster.spec.suspend or _condition_true(cluster, reasons.RayClusterConditionType.SUSPENDED):
        return plan  # the status step moves the cluster to Suspending first

    live = [p for p in observed if not podfacts.is_terminating(p)]
    if _needs_recreate(cluster, live, operator_version):
        plan.deletions += [
            Deletion(
                HEAD if podfacts.is_head(p) else podfacts.group(p), podfacts.name(p), RECREATE_REASON, Cause.RECREATE
            )
            for p in live
        ]
        return plan
    awaiting = plan.awaiting_scheduler = sum(1 for p in live if podfacts.awaits_first_scheduling(p))
    if expectations_satisfied(HEAD):
        _plan_head(cluster, [p for p in live if podfacts.is_head(p)], plan)
    else:
        plan.skipped_groups.append(HEAD)
    for group in cluster.spec.worker_group_specs or []:
        if not expectations_satisfied(group.group_name):
            plan.skipped_groups.append(group.group_name)
            continue
        members = [p for p in live if podfacts.is_worker(p) and podfacts.group(p) == group.group_name]
        spent = int(plan.create_head) + sum(plan.creates.values())
        pass_budget = max(0, max_creates - spent)
        queue_budget = max(0, max_awaiting_scheduler - awaiting - spent)
        deferred_before = plan.deferred
        _plan_group(cluster, group.group_name, members, plan, suffix(group.group_name),
                    min(pass_budget, queue_budget))
        if queue_budget < pass_budget:
            plan.held_for_scheduler += plan.deferred - deferred_before
    return plan


RECREATE_REASON = "upgradeStrategy Recreate: the cluster spec changed"


def _needs_recreate(cluster: RayCluster, live: list[Pod], operator_version: str) -> bool:
    """`upgradeStrategy: Recreate` and the head pod was built from another spec (KubeRay v1.6+).

    A head pod stamped by another operator version is not recreated: its hash may be computed
    differently (KubeRay refreshes the annotation instead; we simply leave such pods alone).
    """
    strategy = cluster.spec.upgrade_strategy
    if strategy is None or strategy.type != "Recreate":
        return False
    heads = [p for p in live if podfacts.is_head(p)]
    if len(heads) != 1:
        return False
    annotations = heads[0]["metadata"].get("annotations") or {}
    stamped = annotations.get(reasons.ANNOTATION_UPGRADE_STRATEGY_RECREATE_HASH)
    if stamped is None or annotations.get(reasons.ANNOTATION_KUBERAY_VERSION) != operator_version:
        return False
    return bool(stamped != spec_hash.recreate_hash(cluster.spec))


def _plan_head(cluster: RayCluster, heads: list[Pod], plan: Plan) -> None:
    if len(heads) > 1:
        names = ", ".join(sorted(podfacts.name(p) for p in heads))
        plan.errors.append(f"found {len(heads)} head pods ({names}); a RayCluster has exactly one")
        return
    if heads:
        reason = podfacts.deletion_reason(heads[0])
        if reason:
            plan.deletions.append(
                Deletion(HEAD, podfacts.name(heads[0]), reason, state=podfacts.state_summary(heads[0]))
            )
        return
    provisioned = _condition_true(cluster, reasons.RayClusterConditionType.PROVISIONED)
    if provisioned and cluster.annotations.get(reasons.ANNOTATION_DISABLE_PROVISIONED_HEAD_RESTART) == "true":
        return
    plan.create_head = True


def _plan_group(
    cluster: RayCluster, group_name: str, members: list[Pod], plan: Plan, suffix: Callable[[], str], budget: int
) -> None:
    spec = next(g for g in cluster.spec.worker_group_specs or [] if g.group_name == group_name)
    if spec.suspend:
        plan.deletions += [
            Deletion(group_name, podfacts.name(p), "the worker group is suspended", Cause.GROUP_SUSPENDED)
            for p in members
        ]
        return
    dead = [(p, r) for p in members if (r := podfacts.deletion_reason(p))]
    if dead:
        plan.deletions += [
            Deletion(group_name, podfacts.name(p), reason, state=podfacts.state_summary(p)) for p, reason in dead
        ]
        return
    wanted_gone = set(spec.scale_strategy.workers_to_delete or []) if spec.scale_strategy else set()
    remaining = []
    for pod in members:
        if podfacts.name(pod) in wanted_gone:
            plan.deletions.append(
                Deletion(
                    group_name, podfacts.name(pod), "listed in scaleStrategy.workersToDelete", Cause.WORKERS_TO_DELETE
                )
            )
        else:
            remaining.append(pod)
    diff = effective_replicas(spec) - len(remaining)
    if diff > 0:
        count = min(diff, budget)
        plan.deferred += diff - count
        if count:
            slots = choose_worker_slots(spec, [podfacts.labels(p) for p in members], count, suffix)
            # New multi-host replicas come whole from choose_worker_slots; cut at `count` so that a pass never
            # creates more pods than are missing nor more than its budget (the next pass completes the replica
            # by its replica-name label).
            plan.new_workers[group_name] = slots[:count]
    elif diff < 0 and not is_autoscaling_enabled(cluster.spec):
        for pod in _surplus_order(remaining)[:-diff]:
            plan.deletions.append(
                Deletion(
                    group_name, podfacts.name(pod), "the worker group has more pods than replicas", Cause.SCALE_DOWN
                )
            )


def _surplus_order(members: list[Pod]) -> list[Pod]:
    """Pods in the order they should go when a group shrinks: unready first, then newest first."""
    by_age = sorted(members, key=lambda p: (p["metadata"].get("creationTimestamp", ""), podfacts.name(p)), reverse=True)
    return sorted(by_age, key=podfacts.is_ready)
