"""The controller kit's plain action values that every controller's plan asks for in the same shape.

A controller's ``actions`` module names its own (``CreateCluster``, ``DeleteSubmitter``, ...) as subclasses of
these, without new fields, so its actor still matches on its own names and two kinds of child never compare
equal; the finalizer actions are shared as they are (each actor knows its kind's finalizer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from raykube.runtime.objects import Obj

__all__ = ["AddFinalizer", "ApplyChild", "CreateChild", "DeleteChild", "RemoveFinalizer"]


@dataclass(frozen=True)
class AddFinalizer:
    """Add the kind's finalizer (``ray.io/<kind>-finalizer``) to the object."""


@dataclass(frozen=True)
class RemoveFinalizer:
    """Remove the kind's finalizer from the object (it may then disappear)."""


@dataclass(frozen=True)
class CreateChild:
    """Create ``body`` (AlreadyExists counts as done)."""

    body: Obj = field(hash=False)  # a dict: not hashable, and the child's name already says which one


@dataclass(frozen=True)
class DeleteChild:
    """Delete the child ``name``."""

    name: str


@dataclass(frozen=True)
class ApplyChild:
    """Create ``body``, or bring the ``existing`` child in line with it."""

    body: Obj = field(hash=False)
    existing: Obj | None = field(default=None, hash=False)
