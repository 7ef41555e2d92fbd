"""The controller kit: what every controller does the same way, in one place.

* :func:`parse` turns a watched object into its typed, CRD-defaulted model and runs the kind's validation,
  with one error format (``field.path: message``) for the Warning Event, ``raykube render`` and logs;
* :func:`create_if_absent` creates a child, AlreadyExists counting as done (a stale cache or a repeated
  pass must never become an error);
* :func:`random_suffix` / :func:`seeded_suffix` (re-exported from ``builders.names``) for generated names;
* :data:`Clock` / :func:`utc_now` for the injected time every reconciler takes;
* :class:`ProbingReconciler`: the injected collaborators of a reconciler that reads caches and asks
  background probes (RayJob, RayService); :func:`managed_elsewhere`, :func:`checked` and
  :class:`StatusWriter` (paced by a :class:`StatusPacer` where progress may wait) for the steps of their pass
  that do not depend on the kind;
* :func:`set_finalizer` for the one finalizer write every controller makes the same way.

A new controller is mostly its pure plan and status; its reconciler reads caches, calls :func:`parse`, asks
the kind's desired-state function what should exist and uses these helpers to make it so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pydantic

from raykube import reasons
from raykube.api.common import RayObject
from raykube.api.defaults import apply_crd_defaults
from raykube.builders.names import random_suffix, seeded_suffix
from raykube.builders.settings import OperatorSettings
from raykube.controllers.events import SpecWarnings
from raykube.runtime.client import KubeClient
from raykube.runtime.clock import Clock as RuntimeClock
from raykube.runtime.clock import RealClock
from raykube.runtime.controller import Result
from raykube.runtime.errors import ApiError, is_already_exists, is_not_found
from raykube.runtime.events import EventRecorder
from raykube.runtime.kinds import ResourceKind
from raykube.runtime.objects import Obj, ObjectKey, deep_copy

T = TypeVar("T", bound=RayObject)
CacheT = TypeVar("CacheT")
ProbesT = TypeVar("ProbesT")
SettingsT = TypeVar("SettingsT")
StatusT = TypeVar("StatusT")

#: The time source a reconciler is given (tests pass a fixed or stepping clock).
Clock = Callable[[], dt.datetime]

__all__ = [
    "Clock",
    "Invalid",
    "ProbingReconciler",
    "StatusPacer",
    "StatusWrite",
    "StatusWriter",
    "checked",
    "create_if_absent",
    "managed_elsewhere",
    "parse",
    "problems_of",
    "random_suffix",
    "seeded_suffix",
    "set_finalizer",
    "utc_now",
]


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
    typed, problems = checked(model, obj, validate, crd_defaults=crd_defaults)
    if typed is None or problems:
        raise Invalid(problems)
    return typed


def checked(
    model: type[T], obj: dict[str, Any], validate: Callable[[T], list[str]], *, crd_defaults: bool = True
) -> tuple[T | None, list[str]]:
    """As :func:`parse`, but the problems are returned, not raised: a controller that still acts on an invalid
    object (its finalizer, its status) keeps the typed object when only the validation failed (None when
    even the model did not parse)."""
    try:
        typed = model.model_validate(obj)
    except pydantic.ValidationError as err:
        return None, problems_of(err)
    if crd_defaults:
        typed = apply_crd_defaults(typed)
    return typed, validate(typed)


def managed_elsewhere(obj: dict[str, Any]) -> bool:
    """Whether ``spec.managedBy`` names another controller (MultiKueue): then the object is not ours to touch."""
    return (obj.get("spec") or {}).get("managedBy") not in (None, reasons.MANAGED_BY_KUBERAY)


@dataclass(frozen=True)
class StatusWrite:
    """What `StatusWriter.write` did: wrote the status, held the change back for ``held`` seconds, or nothing (no
    change, or the object is gone). Truthy when written."""

    written: bool = False
    held: float = 0.0

    def __bool__(self) -> bool:
        return self.written


@dataclass(frozen=True)
class StatusWriter(Generic[StatusT]):
    """How one kind's status is written: ``changed`` decides whether a new status differs, ``to_json`` is the one
    place where the typed status (``RayModel.to_json``) becomes the API's JSON, and ``observe`` is the cache's
    write-through, so the next pass does not start from a stale copy."""

    client: KubeClient
    kind: ResourceKind
    changed: Callable[[StatusT | None, StatusT], bool]
    observe: Callable[[dict[str, Any]], None]
    to_json: Callable[[StatusT], dict[str, Any]]

    async def write(self, obj: dict[str, Any], old: StatusT | None, new: StatusT, *,
                    pace: Callable[[StatusT | None, StatusT], float] | None = None) -> StatusWrite:
        """PUT ``new`` through the status subresource if it changed.

        ``pace`` (a `StatusPacer`'s decision for this object) is asked only about a change: the seconds to hold
        it back, 0 to write it now. NotFound means the object was deleted meanwhile: nothing to write. A 409
        means our cache was stale: it raises, and the rate-limited retry reads a fresh one.
        """
        if not self.changed(old, new):
            return StatusWrite()
        held = pace(old, new) if pace is not None else 0.0
        if held > 0:
            return StatusWrite(held=held)
        try:
            written = await self.client.replace_status(self.kind, {**obj, "status": self.to_json(new)})
        except ApiError as err:
            if is_not_found(err):
                return StatusWrite()
            raise
        self.observe(written)
        return StatusWrite(written=True)


class StatusPacer:
    """Holds a status change that is only progress for at most ``window`` seconds, so that the progress of
    one burst (the head, then the workers, turning ready a moment apart) reaches the API server as one
    write instead of one per pass.

    A change that is not progress (a new state, a condition, a new generation, the first status) is
    written at once and carries whatever was held. Keys are per object; :meth:`forget` drops a deleted one.
    """

    def __init__(self, window: float, now: Clock) -> None:
        self.window = window
        self._now = now
        self._held_since: dict[Any, dt.datetime] = {}

    def hold(self, key: Any, *, progress_only: bool, window: float | None = None) -> float:
        """Seconds to wait before writing (0: write now). Called only when the status changed; ``window``
        replaces the pacer's own for this call (an object whose progress may wait longer)."""
        window = self.window if window is None else window
        if not progress_only or window <= 0:
            self._held_since.pop(key, None)
            return 0.0
        now = self._now()
        since = self._held_since.setdefault(key, now)
        remaining = window - (now - since).total_seconds()
        if remaining <= 0:
            del self._held_since[key]
            return 0.0
        return remaining

    def forget(self, key: Any) -> None:
        self._held_since.pop(key, None)


class ProbingReconciler(Generic[CacheT, ProbesT, SettingsT]):
    """The collaborators of a reconciler that reads informer caches and asks background probes (RayJob's
    dashboard, RayService's Serve API): all injected, so tests pass fakes, a fake clock and fixed suffixes."""

    def __init__(
        self,
        client: KubeClient,
        *,
        cache: CacheT,
        probes: ProbesT,
        recorder: EventRecorder,
        settings: SettingsT,
        operator_settings: OperatorSettings,
        clock: RuntimeClock | None = None,
        suffix: Callable[[], str] = random_suffix,
    ) -> None:
        self._client = client
        self._cache = cache
        self._probes = probes
        self._recorder = recorder
        self._spec_warnings = SpecWarnings(recorder)
        self._settings = settings
        self._operator = operator_settings
        self._clock: RuntimeClock = clock or RealClock()
        self._suffix = suffix

    async def reconcile(self, key: ObjectKey) -> Result:
        """One pass over ``key``: each kind's own."""
        raise NotImplementedError

    def get(self, key: ObjectKey) -> Obj | None:
        """The object ``key`` names, from the cache (where a failed pass is shown as a Warning Event)."""
        raise NotImplementedError


async def set_finalizer(
    client: KubeClient, kind: ResourceKind, obj: dict[str, Any], finalizer: str, *, add: bool
) -> dict[str, Any] | None:
    """Write ``obj`` with ``finalizer`` added (at the end) or removed; the written object, or None when there is
    nothing more to do with it: gone (NotFound), or going away once its last finalizer went (the watch tells
    the cache). A conflict raises: the pass is retried from a fresh cache."""
    body = deep_copy(obj)
    finalizers = [f for f in body["metadata"].get("finalizers") or [] if f != finalizer]
    if add:
        finalizers.append(finalizer)
    body["metadata"]["finalizers"] = finalizers
    try:
        written = await client.replace(kind, body)
    except ApiError as err:
        if is_not_found(err):
            return None
        raise
    return None if not add and written["metadata"].get("deletionTimestamp") else written


async def create_if_absent(client: KubeClient, kind: ResourceKind, obj: dict[str, Any], namespace: str) -> bool:
    """Create ``obj``; False if it already existed (AlreadyExists counts as done), other errors raise."""
    try:
        await client.create(kind, obj, namespace=namespace)
    except ApiError as err:
        if is_already_exists(err):
            return False
        raise
    return True
