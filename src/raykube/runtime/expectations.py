"""Scale expectations: do not scale a group again until the cache has seen the last scaling.

The informer cache lags behind the API server. A controller that creates a worker pod and
reconciles again before the pod shows up in the cache would create it a second time. The
ReplicaSet controller (``controller_utils.go``) and KubeRay (``expectations/scale_expectations.go``)
guard against this the same way, and so does :class:`ScaleExpectations`:

* after each create or delete, record it per (owner key, group) with the pod's name:
  :meth:`~ScaleExpectations.expect_create` / :meth:`~ScaleExpectations.expect_delete`;
* before scaling that group, ask :meth:`~ScaleExpectations.satisfied`. Like KubeRay (and unlike
  ReplicaSet's counters) the answer is level-based: each expectation is checked against the cache
  (a create is met once the pod is in the cache, a delete once it is gone or has a
  ``deletionTimestamp``), so the order of "record" and "informer event" cannot matter and
  ``generateName`` pods work;
* an expectation older than ``timeout`` (30 s by default, measured on the injected clock) counts
  as met, so a lost watch event can stall a group only briefly;
* :meth:`~ScaleExpectations.forget_owner` drops everything for an owner that is gone.

The reconcile that the informer event triggers (via ``Controller.owns``) is the one that finds
the expectations met.
"""

from __future__ import annotations

import enum
from typing import Protocol

from raykube.runtime import logs
from raykube.runtime.clock import Clock, RealClock
from raykube.runtime.objects import Obj, ObjectKey, is_being_deleted

_log = logs.get_logger("raykube.expectations")


class Lookup(Protocol):
    """Read access to a cache (an informer's :class:`~raykube.runtime.store.Store`)."""

    def get(self, key: ObjectKey) -> Obj | None: ...


class Action(enum.Enum):
    """What was done to a child.

    Attributes:
        CREATE: met once the child is in the cache.
        DELETE: met once the child is gone from the cache or is terminating.
    """

    CREATE = "create"
    DELETE = "delete"


class ScaleExpectations:
    """Outstanding creates and deletes per (owner key, group), checked against a cache.

    Parameters:
        cache: where children are looked up (the pods informer's store).
        clock: time source for the timeout.
        timeout: seconds after which an unmet expectation is given up on.
    """

    def __init__(self, cache: Lookup, *, clock: Clock | None = None, timeout: float = 30.0) -> None:
        self._cache = cache
        self._clock = clock or RealClock()
        self.timeout = timeout
        self._pending: dict[tuple[ObjectKey, str], dict[str, tuple[Action, float]]] = {}

    def expect_create(self, owner: ObjectKey, group: str, name: str) -> None:
        """Record that child ``name`` (in the owner's namespace) was just created."""
        self._record(owner, group, name, Action.CREATE)

    def expect_delete(self, owner: ObjectKey, group: str, name: str) -> None:
        """Record that child ``name`` (in the owner's namespace) was just deleted."""
        self._record(owner, group, name, Action.DELETE)

    def satisfied(self, owner: ObjectKey, group: str) -> bool:
        """Whether every recorded create/delete of this group is visible in the cache (or timed out)."""
        pending = self._pending.get((owner, group))
        if not pending:
            return True
        now = self._clock.monotonic()
        for name, (action, recorded) in list(pending.items()):
            if self._met(owner.namespace, name, action):
                del pending[name]
            elif now - recorded >= self.timeout:
                _log.warning("Expectation timed out", owner=str(owner), group=group, pod=name, action=action.value)
                del pending[name]
        if not pending:
            del self._pending[(owner, group)]
            return True
        return False

    def pending(self, owner: ObjectKey, group: str) -> dict[str, Action]:
        """Unmet expectations of a group, by child name (for logs and tests)."""
        return {name: action for name, (action, _) in self._pending.get((owner, group), {}).items()}

    def forget_owner(self, owner: ObjectKey) -> None:
        """Drop every expectation of ``owner`` (call when the owner is deleted)."""
        for entry in [e for e in self._pending if e[0] == owner]:
            del self._pending[entry]

    def _record(self, owner: ObjectKey, group: str, name: str, action: Action) -> None:
        self._pending.setdefault((owner, group), {})[name] = (action, self._clock.monotonic())

    def _met(self, namespace: str, name: str, action: Action) -> bool:
        child = self._cache.get(ObjectKey(namespace, name))
        if action is Action.CREATE:
            return child is not None
        return child is None or is_being_deleted(child)
