"""The step schedule of a NewClusterWithIncrementalUpgrade (pure; KubeRay v1.7.0's rules, REP 2024-12-4).

Each cluster of the upgrade has a :class:`Share`: its Serve ``target_capacity`` (percent of its replicas Serve
keeps) and the percent of the HTTPRoute's traffic it gets. From active 100/100 and pending 0/0 the upgrade
repeats three moves until the active cluster is at capacity 0 and the pending one has all the traffic:

1. **pending capacity up** by ``maxSurgePercent`` (capped at 100) when the two capacities add up to at most
   100 and the pending traffic has caught up with the pending capacity (:func:`next_capacity`);
2. **traffic over** by ``stepSizePercent`` every ``intervalSeconds``, never past the pending capacity, only
   while the pending cluster's applications are all RUNNING (:func:`next_traffic`);
3. **active capacity down** by ``maxSurgePercent`` (floored at 0) when the capacities add up to more than 100
   and the traffic has caught up (:func:`next_capacity`).

Then (:func:`is_complete`) the pending cluster is promoted. :func:`schedule` plays the whole sequence, as a
pass-by-pass controller with every interval elapsed would, and is what the unit tests and docs show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Literal

from raykube.api.defaults import DEFAULT_MAX_SURGE_PERCENT
from raykube.api.rayservice import ClusterUpgradeOptions

Role = Literal["active", "pending"]

FULL = 100


@dataclass(frozen=True)
class Share:
    """One cluster's part in an incremental upgrade (the status fields of the same names)."""

    capacity: int | None = None  # targetCapacity
    traffic: int | None = None  # trafficRoutedPercent
    migrated_at: dt.datetime | None = None  # lastTrafficMigratedTime


@dataclass(frozen=True)
class Options:
    """``clusterUpgradeOptions`` as the schedule uses them."""

    step: int
    interval: float
    max_surge: int = DEFAULT_MAX_SURGE_PERCENT

    @classmethod
    def of(cls, options: ClusterUpgradeOptions) -> Options:
        surge = options.max_surge_percent if options.max_surge_percent is not None else DEFAULT_MAX_SURGE_PERCENT
        return cls(step=options.step_size_percent, interval=float(options.interval_seconds), max_surge=surge)


def next_traffic(
    active: Share, pending: Share, options: Options, *, now: dt.datetime, pending_ready: bool
) -> tuple[int, int]:
    """The HTTPRoute weights (active, pending) of this pass.

    Unset traffic reads as 100 (active) and 0 (pending). Traffic moves only when the pending cluster is ready,
    its traffic is below its capacity and ``intervalSeconds`` passed since the pending share last moved; then
    the pending weight grows by ``stepSizePercent`` up to its capacity and the active one is the rest."""
    active_weight = FULL if active.traffic is None else active.traffic
    pending_weight = 0 if pending.traffic is None else pending.traffic
    capacity = pending.capacity or 0
    if not pending_ready or pending_weight == capacity:
        return active_weight, pending_weight
    last = pending.migrated_at
    if last is not None and (now - last).total_seconds() < options.interval:
        return active_weight, pending_weight
    pending_weight = min(FULL, pending_weight + options.step, capacity)
    return FULL - pending_weight, pending_weight


def seconds_to_next_traffic(pending: Share, options: Options, *, now: dt.datetime) -> float | None:
    """How long until traffic may move again (None when it may now or is not waiting on the interval)."""
    if pending.migrated_at is None or (pending.traffic or 0) == (pending.capacity or 0):
        return None
    left = options.interval - (now - pending.migrated_at).total_seconds()
    return left if left > 0 else None


def next_capacity(active: Share, pending: Share, options: Options) -> tuple[Role, int] | None:
    """The one ``target_capacity`` change of this pass, as (cluster role, new value), or None.

    Unset capacities read as 100 (active) and 0 (pending). Nothing changes while the pending traffic has not
    caught up with the pending capacity, or once the upgrade is complete."""
    active_capacity = FULL if active.capacity is None else active.capacity
    pending_capacity = 0 if pending.capacity is None else pending.capacity
    if active_capacity == 0 and pending_capacity == FULL:
        return None  # complete: only the promotion is left
    if pending_capacity != (pending.traffic or 0):
        return None  # traffic is still moving towards the pending capacity
    if active_capacity + pending_capacity > FULL:
        return "active", max(0, active_capacity - options.max_surge)
    goal = min(FULL, pending_capacity + options.max_surge)
    return ("pending", goal) if goal != pending_capacity else None


def is_complete(active: Share, pending: Share) -> bool:
    """KubeRay's ``IsIncrementalUpgradeComplete``: the active capacity is 0 and the pending traffic 100."""
    return active.capacity == 0 and pending.traffic == FULL


@dataclass(frozen=True)
class Step:
    """One state of :func:`schedule`: capacities and traffic of both clusters."""

    active_capacity: int
    pending_capacity: int
    active_traffic: int
    pending_traffic: int


def schedule(options: Options, *, limit: int = 1000) -> list[Step]:
    """Every state an upgrade goes through, from (100, 0, 100, 0) to completion, one move at a time.

    Moves are tried in the controller's order (capacity, then traffic) with every interval elapsed and the
    pending cluster always ready; a state is listed when anything changed. Raises ValueError when the options
    cannot complete (``maxSurgePercent`` or ``stepSizePercent`` 0)."""
    epoch = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    active, pending = Share(FULL, FULL), Share(0, 0)
    steps = [Step(FULL, 0, FULL, 0)]
    for tick in range(limit):
        if is_complete(active, pending):
            return steps
        now = epoch + dt.timedelta(seconds=(tick + 1) * max(options.interval, 1.0))
        change = next_capacity(active, pending, options)
        if change is not None:
            role, value = change
            if role == "active":
                active = replace(active, capacity=value)
            else:
                pending = replace(pending, capacity=value)
        else:
            active_weight, pending_weight = next_traffic(active, pending, options, now=now, pending_ready=True)
            if pending_weight == (pending.traffic or 0):
                raise ValueError(f"the upgrade cannot complete with {options}")
            active = replace(active, traffic=active_weight)
            pending = replace(pending, traffic=pending_weight, migrated_at=now)
        steps.append(Step(active.capacity or 0, pending.capacity or 0, active.traffic or 0, pending.traffic or 0))
    raise ValueError(f"the upgrade did not complete in {limit} moves with {options}")
