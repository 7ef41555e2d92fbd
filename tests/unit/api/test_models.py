"""Behaviour of the models themselves: naming, unknown fields, strict types, the metadata accessors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from raykube.api.common import unknown_fields
from raykube.api.raycluster import RayCluster, WorkerGroupSpec
from raykube.api.rayjob import RayJob
from raykube.api.schema import CRD_KEY, CelRule, CrdProp, crd_prop
from tests.unit.api import factories


def test_fields_are_snake_case_in_python_and_camel_case_in_json() -> None:
    group = WorkerGroupSpec(group_name="g", min_replicas=1, template={})
    assert group.to_json() == {"groupName": "g", "minReplicas": 1, "template": {}}
    assert WorkerGroupSpec.model_validate({"groupName": "g", "template": {}}).group_name == "g"


def test_unset_fields_are_not_dumped_even_when_the_crd_has_a_default() -> None:
    group = WorkerGroupSpec.model_validate({"groupName": "g", "template": {}})
    assert group.replicas is None
    assert group.to_json() == {"groupName": "g", "template": {}}


def test_unknown_fields_are_kept_round_tripped_and_reported() -> None:
    doc = factories.raycluster()
    doc["spec"]["workerGroupSpecs"][0]["futureField"] = {"x": 1}
    doc["spec"]["newTopLevel"] = True
    rc = RayCluster.model_validate(doc)
    assert rc.to_json()["spec"]["workerGroupSpecs"][0]["futureField"] == {"x": 1}
    assert unknown_fields(rc) == ["spec.newTopLevel", "spec.workerGroupSpecs[0].futureField"]


def test_unknown_fields_inside_embedded_kubernetes_objects_are_not_reported() -> None:
    doc = factories.raycluster()
    doc["spec"]["headGroupSpec"]["template"]["spec"]["anything"] = 1
    assert unknown_fields(RayCluster.model_validate(doc)) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("replicas", "3", id="string-for-int32"),
        pytest.param("suspend", "true", id="string-for-bool"),
        pytest.param("rayStartParams", {"num-cpus": 1}, id="int-in-string-map"),
    ],
)
def test_values_of_the_wrong_json_type_are_rejected_like_the_api_server_does(field: str, value: object) -> None:
    doc = factories.raycluster()
    doc["spec"]["workerGroupSpecs"][0][field] = value
    with pytest.raises(ValidationError):
        RayCluster.model_validate(doc)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(("headGroupSpec", "template"), id="head-template"),
        pytest.param(("workerGroupSpecs", 0, "groupName"), id="worker-groupName"),
        pytest.param(("headGroupSpec",), id="headGroupSpec"),
    ],
)
def test_crd_required_fields_without_a_default_are_required(path: tuple[str | int, ...]) -> None:
    doc = factories.raycluster()
    parent = doc["spec"]
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    with pytest.raises(ValidationError):
        RayCluster.model_validate(doc)


def test_crd_required_fields_with_a_default_may_be_omitted() -> None:
    doc = factories.raycluster()
    del doc["spec"]["workerGroupSpecs"][0]["minReplicas"]
    del doc["spec"]["workerGroupSpecs"][0]["maxReplicas"]
    group = RayCluster.model_validate(doc).spec.worker_group_specs
    assert group is not None and group[0].min_replicas is None


def test_metadata_accessors_read_object_meta() -> None:
    rc = RayCluster.model_validate(factories.raycluster("x", namespace="ns", labels={"a": "b"}))
    assert (rc.name, rc.namespace, rc.labels, rc.annotations) == ("x", "ns", {"a": "b"}, {})
    assert rc.kind == "RayCluster" and rc.api_version == "ray.io/v1"


def test_crd_facts_are_stored_as_json_and_read_back_typed() -> None:
    info = WorkerGroupSpec.model_fields["max_replicas"]
    assert isinstance(info.json_schema_extra, dict)
    assert info.json_schema_extra[CRD_KEY] == {"required": True, "default": 2147483647, "format": "int32"}
    assert crd_prop(info) == CrdProp(required=True, default=2147483647, format="int32")


def test_crd_facts_include_cel_rules_and_enums_as_plain_strings() -> None:
    facts = crd_prop(RayJob.model_fields["spec"].annotation.model_fields["managed_by"])  # type: ignore[union-attr]
    assert facts.validations[0] == CelRule(rule="self == oldSelf", message="the managedBy field is immutable")
    mode = crd_prop(RayJob.model_fields["spec"].annotation.model_fields["submission_mode"])  # type: ignore[union-attr]
    assert mode.default == "K8sJobMode" and type(mode.default) is str


def test_a_field_without_crd_facts_reads_as_empty_facts() -> None:
    assert crd_prop(RayCluster.model_fields["metadata"]) == CrdProp()
