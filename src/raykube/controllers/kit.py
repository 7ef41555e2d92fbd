"""The controller kit: what every controller does the same way, in one place.

* :func:`parse` turns a watched object into its typed, CRD-defaulted model and runs the kind's validation,
  with one error format (``field.path: message``) for the Warning Event, ``raykube render`` and logs;
* :func:`create_if_absent` creates a child, AlreadyExists counting as done (a stale cache or a repeated
  pass must never become an error);
* :func:`random_suffix` / :func:`seeded_suffix` (re-exported from ``builders.names``) for generated names;
* :data:`Clock` / :func:`utc_now` for the injected time every reconciler takes.

A new controller is mostly its pure plan and status; its reconciler reads caches, calls :func:`parse`, asks
the kind's desired-state function what should exist and uses these helpers to make it so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import pydantic

from raykube.api.common import RayObject
from raykube.api.defaults import apply_crd_defaults
from raykube.builders.names import random_suffix, seeded_suffix
from raykube.runtime.client import KubeClient
from raykube.runtime.errors import ApiError, is_already_exists
from raykube.runtime.kinds import ResourceKind

T = TypeVar("T", bound=RayObject)

#: The time source a reconciler is given (tests pass a fixed or stepping clock).
Clock = Callable[[], dt.datetime]

__all__ = ["Clock", "Invalid", "create_if_absent", "parse", "problems_of", "random_suffix", "seeded_suffix", "utc_now"]


def utc_now() -> dt.datetime:
    """The wall clock, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class Invalid(Exception):
    """An object that cannot be reconciled; ``problems`` are ``field.path: message`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def problems_of(err: pydantic.ValidationError) -> list[str]:
    """A pydantic error as ``field.path: message`` lines (the one format of every invalid-spec message)."""
    return [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()]


def parse(model: type[T], obj: dict[str, Any], validate: Callable[[T], list[str]], *, crd_defaults: bool = True) -> T:
    """``obj`` as ``model`` (CRD defaults applied unless told not to), validated; raises :class:`Invalid`."""
    try:
        typed = model.model_validate(obj)
    except pydantic.ValidationError as err:
        raise Invalid(problems_of(err)) from None
    if crd_defaults:
        typed = apply_crd_defaults(typed)
    problems = validate(typed)
    if problems:
        raise Invalid(problems)
    return typed


async def create_if_absent(client: KubeClient, kind: ResourceKind, obj: dict[str, Any], namespace: str) -> bool:
    """Create ``obj``; False if it already existed (AlreadyExists counts as done), other errors raise."""
    try:
        await client.create(kind, obj, namespace=namespace)
    except ApiError as err:
        if is_already_exists(err):
            return False
        raise
    return True
