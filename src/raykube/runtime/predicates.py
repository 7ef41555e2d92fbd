"""Event filters applied before an informer event becomes a queued key.

A :class:`Predicate` answers, per event, "is this worth a reconcile?" (controller-runtime
``predicate.Predicate``). Most filters only care about updates; :class:`OnUpdate` lets creates and
deletes through and applies a function to updates. KubeRay's RayCluster controller watches its own
kind with ``AnyOf(GENERATION_CHANGED, LABELS_CHANGED, ANNOTATIONS_CHANGED)`` so that its status
writes (which bump resourceVersion but not generation) do not trigger another pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from raykube.runtime.objects import Obj, annotations_of, labels_of, meta, resource_version


class Predicate(Protocol):
    """Decides whether an event should enqueue anything."""

    def create(self, obj: Obj) -> bool: ...

    def update(self, old: Obj, new: Obj) -> bool: ...

    def delete(self, obj: Obj) -> bool: ...


@dataclass(frozen=True)
class OnUpdate:
    """Pass creates and deletes; pass updates for which ``changed(old, new)`` is true."""

    changed: Callable[[Obj, Obj], bool]

    def create(self, obj: Obj) -> bool:
        return True

    def update(self, old: Obj, new: Obj) -> bool:
        return self.changed(old, new)

    def delete(self, obj: Obj) -> bool:
        return True


class AnyOf:
    """Passes an event if any member passes it."""

    def __init__(self, *predicates: Predicate) -> None:
        self._predicates = predicates

    def create(self, obj: Obj) -> bool:
        return any(p.create(obj) for p in self._predicates)

    def update(self, old: Obj, new: Obj) -> bool:
        return any(p.update(old, new) for p in self._predicates)

    def delete(self, obj: Obj) -> bool:
        return any(p.delete(obj) for p in self._predicates)


GENERATION_CHANGED = OnUpdate(lambda old, new: meta(old).get("generation") != meta(new).get("generation"))
"""Spec changes only (``metadata.generation`` moves on spec writes, not status writes)."""

LABELS_CHANGED = OnUpdate(lambda old, new: labels_of(old) != labels_of(new))
ANNOTATIONS_CHANGED = OnUpdate(lambda old, new: annotations_of(old) != annotations_of(new))
RESOURCE_VERSION_CHANGED = OnUpdate(lambda old, new: resource_version(old) != resource_version(new))
"""Drops relist no-ops: updates where nothing at all changed."""
