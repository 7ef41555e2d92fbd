"""Every upstream v1.7.0 sample of our four kinds parses, round-trips and uses only modelled fields."""

from __future__ import annotations

import json
from typing import Any

import pytest

from raykube.api.common import RayObject, unknown_fields
from raykube.api.raycluster import RayCluster
from raykube.api.raycronjob import RayCronJob
from raykube.api.rayjob import RayJob
from raykube.api.rayservice import RayService
from tests.unit.api.upstream import requires_reference, sample_documents, without_nulls

KIND_CLASSES: dict[str, type[RayObject]] = {
    "RayCluster": RayCluster,
    "RayJob": RayJob,
    "RayService": RayService,
    "RayCronJob": RayCronJob,
}
SAMPLES = [pytest.param(doc, id=sample_id) for sample_id, doc in sample_documents()]

pytestmark = requires_reference


def _parse(doc: dict[str, Any]) -> RayObject:
    return KIND_CLASSES[doc["kind"]].model_validate(doc)


def test_samples_of_every_kind_are_present() -> None:
    kinds = {doc["kind"] for _, doc in sample_documents()}
    assert kinds == set(KIND_CLASSES)


@pytest.mark.parametrize("doc", SAMPLES)
def test_sample_round_trips_without_inventing_fields(doc: dict[str, Any]) -> None:
    dumped = _parse(doc).model_dump(by_alias=True, exclude_none=True)
    # exclude_none drops unset ray.io fields; explicit nulls inside embedded Kubernetes objects (e.g.
    # ``template.metadata: null``) are kept verbatim, so both sides are compared with nulls removed.
    assert without_nulls(dumped) == without_nulls(doc)


@pytest.mark.parametrize("doc", SAMPLES)
def test_sample_round_trips_through_json(doc: dict[str, Any]) -> None:
    obj = _parse(doc)
    again = type(obj).model_validate(json.loads(json.dumps(obj.to_json())))
    assert again == obj


@pytest.mark.parametrize("doc", SAMPLES)
def test_sample_uses_only_modelled_fields(doc: dict[str, Any]) -> None:
    assert unknown_fields(_parse(doc)) == []
