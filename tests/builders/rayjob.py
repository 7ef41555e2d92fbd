"""``make_rayjob(name)`` and ``make_rayservice(name)``: the kinds that carry a RayCluster spec.

Their cluster comes from a :class:`~tests.builders.raycluster.RayClusterBuilder` (``.cluster(builder)``);
other spec fields by their JSON names (``.spec(submissionMode="HTTPMode")``), applied last, so they may
replace the cluster spec too (``rayClusterSpec=None`` for a clusterSelector job).
"""

from __future__ import annotations

from typing import Any, Self

from raykube.api.rayjob import RayJob
from raykube.api.rayservice import RayService
from tests.builders.meta import ObjectBuilder
from tests.builders.raycluster import RayClusterBuilder


class _WithCluster(ObjectBuilder):
    cluster_field = ""

    def __init__(self, name: str, first: dict[str, Any]) -> None:
        super().__init__(name)
        self._first = first
        self._cluster: RayClusterBuilder | None = None
        self._spec: dict[str, Any] = {}

    def cluster(self, cluster: RayClusterBuilder) -> Self:
        self._cluster = cluster
        return self

    def spec(self, **fields: Any) -> Self:
        self._spec.update(fields)
        return self

    def body(self) -> dict[str, Any]:
        cluster = {self.cluster_field: self._cluster.spec_json()} if self._cluster is not None else {}
        return {"spec": {**self._first, **cluster, **self._spec}}


class RayJobBuilder(_WithCluster):
    kind = "RayJob"
    cluster_field = "rayClusterSpec"

    def __init__(self, name: str) -> None:
        super().__init__(name, {"entrypoint": "python main.py"})

    def entrypoint(self, command: str) -> Self:
        self._first["entrypoint"] = command
        return self

    def obj(self) -> RayJob:
        return RayJob.model_validate(self.json())


class RayServiceBuilder(_WithCluster):
    kind = "RayService"
    cluster_field = "rayClusterConfig"

    def __init__(self, name: str) -> None:
        super().__init__(name, {"serveConfigV2": "applications: []\n"})

    def serve_config(self, text: str) -> Self:
        self._first["serveConfigV2"] = text
        return self

    def obj(self) -> RayService:
        return RayService.model_validate(self.json())


def make_rayjob(name: str = "rj") -> RayJobBuilder:
    return RayJobBuilder(name)


def make_rayservice(name: str = "svc") -> RayServiceBuilder:
    return RayServiceBuilder(name)
