"""``make_raycluster(name)``: a RayCluster with a head and the worker groups a test adds.

Every pod has one container (``ray``, image ``rayproject/ray:2.46.0``, no resources) unless told otherwise:
``.image()`` and ``.resources()`` for every pod, ``.head(...)`` and ``.worker_group(..., cpu=, memory=,
container=, env=)`` for one. Head and groups carry ``rayStartParams: {}``; a group has ``minReplicas`` 0,
``maxReplicas`` 10, ``replicas`` 1 and no ``numOfHosts`` unless given.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Self

from raykube.api.raycluster import RayCluster
from tests.builders.meta import ObjectBuilder


@dataclass(frozen=True)
class Pod:
    """The one container of a head or group pod template."""

    container: str = "ray"
    image: str = "rayproject/ray:2.46.0"
    env: dict[str, str] = field(default_factory=dict)
    cpu: str | None = None
    memory: str | None = None
    limits: bool = False

    def template(self) -> dict[str, Any]:
        container: dict[str, Any] = {"name": self.container, "image": self.image}
        if self.env:
            container["env"] = [{"name": k, "value": v} for k, v in self.env.items()]
        amounts = {k: v for k, v in (("cpu", self.cpu), ("memory", self.memory)) if v is not None}
        if amounts:
            container["resources"] = {"requests": amounts, **({"limits": dict(amounts)} if self.limits else {})}
        return {"spec": {"containers": [container]}}


def _changed(pod: Pod, **fields: Any) -> Pod:
    """``pod`` with the fields given (``None``: keep the pod's own)."""
    return replace(pod, **{k: v for k, v in fields.items() if v is not None})


class RayClusterBuilder(ObjectBuilder):
    kind = "RayCluster"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._pod = Pod()
        self._head: dict[str, Any] = {}
        self._groups: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._spec: dict[str, Any] = {}
        self._status: dict[str, Any] | None = None

    # -- every pod -------------------------------------------------------------------------------------

    def image(self, image: str) -> Self:
        self._pod = replace(self._pod, image=image)
        return self

    def resources(self, *, cpu: str | None = None, memory: str | None = None, limits: bool = False) -> Self:
        """Requests of every pod's container (and the same limits with ``limits``)."""
        self._pod = replace(self._pod, cpu=cpu, memory=memory, limits=limits)
        return self

    # -- head and groups -------------------------------------------------------------------------------

    def head(self, *, container: str | None = None, env: dict[str, str] | None = None) -> Self:
        self._head = {"container": container, "env": env}
        return self

    def worker_group(
        self,
        name: str,
        *,
        replicas: int | None = 1,
        min_replicas: int = 0,
        max_replicas: int = 10,
        hosts: int | None = None,
        to_delete: list[str] | None = None,
        suspend: bool | None = None,
        cpu: str | None = None,
        memory: str | None = None,
        container: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Self:
        group: dict[str, Any] = {"groupName": name, "minReplicas": min_replicas, "maxReplicas": max_replicas}
        optional = {"replicas": replicas, "numOfHosts": hosts, "suspend": suspend}
        group.update({k: v for k, v in optional.items() if v is not None})
        if to_delete is not None:
            group["scaleStrategy"] = {"workersToDelete": to_delete}
        self._groups.append((group, {"cpu": cpu, "memory": memory, "container": container, "env": env}))
        return self

    # -- the rest of the spec, and the status ----------------------------------------------------------

    def ray_version(self, version: str) -> Self:
        return self.spec(rayVersion=version)

    def autoscaling(self) -> Self:
        return self.spec(enableInTreeAutoscaling=True)

    def upgrade(self, strategy: str) -> Self:
        return self.spec(upgradeStrategy={"type": strategy})

    def suspend(self, value: bool = True) -> Self:
        return self.spec(suspend=value)

    def spec(self, **fields: Any) -> Self:
        """Any other spec fields, by their JSON names; applied last (``headGroupSpec=`` replaces the built head)."""
        self._spec.update(fields)
        return self

    def status(self, **fields: Any) -> Self:
        self._status = {**(self._status or {}), **fields}
        return self

    def conditions(self, **states: bool) -> Self:
        """Status conditions, each True or False, reason = type."""
        rows = [
            {"type": t, "status": "True" if v else "False", "reason": t, "message": "",
             "lastTransitionTime": "2026-01-01T00:00:00Z"}
            for t, v in states.items()
        ]
        return self.status(conditions=rows)

    # -- output ----------------------------------------------------------------------------------------

    def spec_json(self) -> dict[str, Any]:
        """The spec alone (a RayJob's ``rayClusterSpec``, a RayService's ``rayClusterConfig``)."""
        head = {"rayStartParams": {}, "template": _changed(self._pod, **self._head).template()}
        groups = [
            {**group, "rayStartParams": {}, "template": _changed(self._pod, **pod).template()}
            for group, pod in self._groups
        ]
        return {"headGroupSpec": head, "workerGroupSpecs": groups, **self._spec}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"spec": self.spec_json()}
        if self._status is not None:
            body["status"] = self._status
        return body

    def obj(self) -> RayCluster:
        return RayCluster.model_validate(self.json())


def make_raycluster(name: str = "rc") -> RayClusterBuilder:
    return RayClusterBuilder(name)
