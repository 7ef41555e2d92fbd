"""What a finished RayJob deletes, and when (KubeRay's deletion policies, §3.3 of the behaviour reference).

Three styles, the first that applies wins:

1. ``deletionStrategy.deletionRules``: every rule whose condition matches (``jobStatus`` SUCCEEDED/FAILED, or
   ``jobDeploymentStatus`` Failed) and whose effect is not already in place becomes due ``ttlSeconds`` after
   ``status.endTime``. Of the rules due now only the most far-reaching runs in one pass
   (DeleteSelf > DeleteCluster > DeleteWorkers > DeleteNone); the next pass looks again at the earliest
   pending deadline.
2. Legacy ``onSuccess``/``onFailure``: one policy, due ``ttlSecondsAfterFinished`` after ``endTime``.
3. ``shutdownAfterJobFinishes`` (not with ``clusterSelector``): delete the cluster after
   ``ttlSecondsAfterFinished``, or the RayJob itself when ``DELETE_RAYJOB_CR_AFTER_JOB_FINISHES`` is set.

The submitter Job is never deleted here: it keeps the driver's logs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from raykube import reasons
from raykube.api.rayjob import DeletionCondition, DeletionPolicyType
from raykube.controllers.rayjob import children
from raykube.controllers.rayjob.actions import Action, DeleteCluster, DeleteSelf, SuspendWorkers
from raykube.controllers.rayjob.snapshot import Snapshot

P = DeletionPolicyType
#: How far each policy reaches: only the strongest due rule runs in one pass.
_IMPACT = {P.DELETE_NONE: 0, P.DELETE_WORKERS: 1, P.DELETE_CLUSTER: 2, P.DELETE_SELF: 3}
#: Never requeue sooner than this (a timer that fires a hair early must not spin).
_MIN_DELAY = 0.1


@dataclass(frozen=True)
class Cleanup:
    """The actions due now and when the next policy falls due (seconds from now)."""

    actions: tuple[Action, ...] = ()
    requeue_after: float | None = None


NOTHING = Cleanup()


def decide(s: Snapshot) -> Cleanup:
    """The cleanup a Complete or Failed RayJob needs now."""
    strategy = s.job.spec.deletion_strategy
    ended = s.status.end_time or s.status.start_time or s.now
    if strategy is not None and strategy.deletion_rules:
        return _rules(s, ended)
    if strategy is not None and (strategy.on_success is not None or strategy.on_failure is not None):
        return _legacy(s, ended)
    if s.job.spec.shutdown_after_job_finishes and not s.cluster_selected:
        policy = P.DELETE_SELF if s.settings.delete_rayjob_after_finish else P.DELETE_CLUSTER
        return _due(s, policy, ended + dt.timedelta(seconds=s.job.spec.ttl_seconds_after_finished or 0))
    return NOTHING


def _rules(s: Snapshot, ended: dt.datetime) -> Cleanup:
    due: list[str] = []
    pending: list[dt.datetime] = []
    for rule in s.job.spec.deletion_strategy.deletion_rules or []:  # type: ignore[union-attr]
        if not _matches(rule.condition, s) or _in_place(rule.policy, s):
            continue
        deadline = ended + dt.timedelta(seconds=rule.condition.ttl_seconds or 0)
        if deadline <= s.now:
            due.append(rule.policy)
        else:
            pending.append(deadline)
    requeue = _delay(s, min(pending)) if pending else None
    if not due:
        return Cleanup((), requeue)
    strongest = max(due, key=lambda p: _IMPACT.get(P(p), 0))
    # After acting, look again soon: a weaker rule may be due too, and the effect needs checking.
    return Cleanup(_actions(strongest, s), min(requeue or s.settings.requeue_seconds, s.settings.requeue_seconds))


def _legacy(s: Snapshot, ended: dt.datetime) -> Cleanup:
    strategy = s.job.spec.deletion_strategy
    assert strategy is not None
    if s.job_status == reasons.JobStatus.SUCCEEDED:
        chosen = strategy.on_success
    elif s.deployment_status == reasons.JobDeploymentStatus.FAILED:
        chosen = strategy.on_failure
    else:
        chosen = None  # Complete but STOPPED: neither policy applies
    if chosen is None or not chosen.policy:
        return NOTHING
    return _due(s, chosen.policy, ended + dt.timedelta(seconds=s.job.spec.ttl_seconds_after_finished or 0))


def _due(s: Snapshot, policy: str, deadline: dt.datetime) -> Cleanup:
    if _in_place(policy, s):
        return NOTHING
    if s.now < deadline:
        return Cleanup((), _delay(s, deadline))
    return Cleanup(_actions(policy, s), s.settings.requeue_seconds)


def _matches(condition: DeletionCondition, s: Snapshot) -> bool:
    if condition.job_status:
        return s.job_status == condition.job_status
    return bool(condition.job_deployment_status) and s.deployment_status == condition.job_deployment_status


def _in_place(policy: str, s: Snapshot) -> bool:
    """Whether the policy's effect already holds (so the rule has nothing left to do)."""
    cluster = s.cluster
    cluster_gone = cluster is None or children.is_deleting(cluster)
    if policy == P.DELETE_NONE:
        return True
    if policy == P.DELETE_CLUSTER:
        return cluster_gone
    if policy == P.DELETE_WORKERS:
        return cluster_gone or all(suspended for _, suspended in children.worker_groups(cluster or {}))
    return False  # DeleteSelf: we are still here


def _actions(policy: str, s: Snapshot) -> tuple[Action, ...]:
    name = s.status.ray_cluster_name or ""
    if policy == P.DELETE_SELF:
        return (DeleteSelf(),)
    if policy == P.DELETE_CLUSTER and s.cluster is not None:
        return (DeleteCluster(name),)
    if policy == P.DELETE_WORKERS and s.cluster is not None:
        groups = tuple(g for g, suspended in children.worker_groups(s.cluster) if not suspended)
        return (SuspendWorkers(name, groups),) if groups else ()
    return ()


def _delay(s: Snapshot, deadline: dt.datetime) -> float:
    return max((deadline - s.now).total_seconds(), _MIN_DELAY)
