"""The models carry everything the upstream v1.7.0 CRDs declare, so a generator can reproduce them.

The walk below follows the upstream ``openAPIV3Schema`` and the models side by side. At every ray.io property
it checks: the property exists on both sides (nothing missing, nothing invented), the OpenAPI type implied by
the Python annotation, and each fact recorded with ``prop`` (format, default, enum, minimum, minLength,
minItems, nullable, list type and keys, CEL validations, required lists). At a field marked with
``k8s_type`` it stops: below it is an embedded Kubernetes type whose schema the generator inlines.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from typing import Any

import pytest
from pydantic.fields import FieldInfo

from raykube.api.common import RayObject
from raykube.api.raycluster import RayCluster
from raykube.api.raycronjob import RayCronJob
from raykube.api.rayjob import RayJob
from raykube.api.rayservice import RayService
from raykube.api.schema import K8S_QUANTITY, CrdProp, PrinterColumn, RayModel, crd_prop
from tests.unit.api.upstream import crd, crd_version, requires_reference

pytestmark = requires_reference

KINDS: list[Any] = [
    pytest.param(RayCluster, "rayclusters", id="RayCluster"),
    pytest.param(RayJob, "rayjobs", id="RayJob"),
    pytest.param(RayService, "rayservices", id="RayService"),
    pytest.param(RayCronJob, "raycronjobs", id="RayCronJob"),
]
ENVELOPE = ("apiVersion", "kind", "metadata")
FACT_KEYS = {
    "format": "format",
    "default": "default",
    "enum": "enum",
    "minimum": "minimum",
    "minLength": "min_length",
    "minItems": "min_items",
    "nullable": "nullable",
    "x-kubernetes-list-type": "list_type",
    "x-kubernetes-list-map-keys": "list_map_keys",
    "x-kubernetes-validations": "validations",
}
SCALARS = {str: "string", bool: "boolean", int: "integer", float: "number", dt.datetime: "string"}
#: Properties that identify each embedded Kubernetes type in the upstream schema (a wrong k8s_type fails).
K8S_SIGNATURES = {
    "io.k8s.api.core.v1.PodTemplateSpec": {"metadata", "spec"},
    "io.k8s.api.core.v1.Service": {"apiVersion", "kind", "metadata", "spec", "status"},
    "io.k8s.api.core.v1.EnvVar": {"name", "value", "valueFrom"},
    "io.k8s.api.core.v1.EnvFromSource": {"configMapRef", "prefix", "secretRef"},
    "io.k8s.api.core.v1.EnvVarSource": {"configMapKeyRef", "fieldRef", "secretKeyRef"},
    "io.k8s.api.core.v1.VolumeMount": {"mountPath", "name", "readOnly"},
    "io.k8s.api.core.v1.ResourceRequirements": {"claims", "limits", "requests"},
    "io.k8s.api.core.v1.SecurityContext": {"capabilities", "privileged", "runAsUser"},
    "io.k8s.api.networking.v1.IngressTLS": {"hosts", "secretName"},
    "io.k8s.api.networking.v1.NetworkPolicyIngressRule": {"from", "ports"},
    "io.k8s.api.networking.v1.NetworkPolicyEgressRule": {"ports", "to"},
    "io.k8s.apimachinery.pkg.apis.meta.v1.Condition": {"lastTransitionTime", "message", "reason", "status", "type"},
}


def _strip_optional(annotation: Any) -> Any:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
        return types.UnionType if all(a in (int, str) for a in args) else annotation
    return annotation


def _expected_facts(facts: CrdProp) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, attr in FACT_KEYS.items():
        value = getattr(facts, attr)
        if value is None or value is False or value == ():
            continue
        if attr == "validations":
            value = [{"message": v.message, "rule": v.rule} for v in value]
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out


def _upstream_facts(node: dict[str, Any]) -> dict[str, Any]:
    return {key: node[key] for key in FACT_KEYS if key in node}


def _check_model(schema: dict[str, Any], model: type[RayModel], path: str, errors: list[str]) -> None:
    fields: dict[str, FieldInfo] = {
        info.alias or name: info for name, info in model.model_fields.items() if (info.alias or name) not in ENVELOPE
    }
    upstream = {k: v for k, v in (schema.get("properties") or {}).items() if k not in ENVELOPE}
    errors.extend(
        f"{path}.{key}: upstream property missing from {model.__name__}" for key in upstream.keys() - fields.keys()
    )
    errors.extend(f"{path}.{key}: not an upstream property" for key in fields.keys() - upstream.keys())
    required = sorted(alias for alias, info in fields.items() if crd_prop(info).required)
    if required != sorted(schema.get("required", [])):
        errors.append(f"{path}: required {required} != upstream {schema.get('required', [])}")
    if schema.get("type") != "object":
        errors.append(f"{path}: upstream type {schema.get('type')} is not object")
    for alias in sorted(fields.keys() & upstream.keys()):
        _check_field(upstream[alias], fields[alias], f"{path}.{alias}", errors)


def _check_field(node: dict[str, Any], info: FieldInfo, path: str, errors: list[str]) -> None:
    facts = crd_prop(info)
    if not info.description:
        errors.append(f"{path}: no description")
    expected = _expected_facts(facts)
    actual = _upstream_facts(node)
    if facts.k8s_type == K8S_QUANTITY:
        actual.pop("format", None)
    if expected != actual:
        errors.append(f"{path}: facts {expected} != upstream {actual}")
    _check_type(node, _strip_optional(info.annotation), facts, path, errors)


def _bare(annotation: Any) -> Any:
    """``T`` for ``Annotated[T, ...]`` (``Time``'s validator and serialiser say nothing about the schema)."""
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated else annotation


def _check_type(node: dict[str, Any], annotation: Any, facts: CrdProp, path: str, errors: list[str]) -> None:
    annotation = _bare(annotation)
    origin = typing.get_origin(annotation)
    if facts.k8s_type is not None:
        if facts.k8s_type == K8S_QUANTITY:
            if not node.get("x-kubernetes-int-or-string"):
                errors.append(f"{path}: Quantity but upstream is not int-or-string")
            return
        expected_type = "array" if origin is list else "object"
        if node.get("type") != expected_type:
            errors.append(f"{path}: {facts.k8s_type} but upstream type {node.get('type')}")
        embedded = node.get("items") or {} if origin is list else node
        signature = K8S_SIGNATURES.get(facts.k8s_type, {"<unknown k8s_type>"})
        if not signature <= set(embedded.get("properties") or {}):
            errors.append(f"{path}: upstream schema does not look like {facts.k8s_type}")
        return
    if annotation in SCALARS:
        if node.get("type") != SCALARS[annotation]:
            errors.append(f"{path}: {annotation.__name__} but upstream type {node.get('type')}")
    elif isinstance(annotation, type) and issubclass(annotation, RayModel):
        _check_model(node, annotation, path, errors)
    elif origin is list:
        (item,) = typing.get_args(annotation)
        _check_container(node, "array", node.get("items") or {}, item, facts, f"{path}[]", errors)
    elif origin is dict:
        _, value = typing.get_args(annotation)
        _check_container(node, "object", node.get("additionalProperties") or {}, value, facts, f"{path}{{}}", errors)
    else:
        errors.append(f"{path}: annotation {annotation!r} has no CRD mapping")


def _check_container(
    node: dict[str, Any], kind: str, inner: dict[str, Any], item: Any, facts: CrdProp, path: str, errors: list[str]
) -> None:
    if node.get("type") != kind:
        errors.append(f"{path}: expected upstream type {kind}, got {node.get('type')}")
    item = _bare(item)
    if isinstance(item, type) and issubclass(item, RayModel):
        _check_model(inner, item, path, errors)
        return
    if inner.get("type") != SCALARS.get(item):
        errors.append(f"{path}: item {item!r} but upstream item type {inner.get('type')}")
    if inner.get("format") != facts.item_format:
        errors.append(f"{path}: item format {facts.item_format} != upstream {inner.get('format')}")


@pytest.mark.parametrize(("kind", "plural"), KINDS)
def test_every_upstream_property_path_has_a_model_field_with_the_same_facts(kind: type[RayObject], plural: str) -> None:
    errors: list[str] = []
    _check_model(crd_version(plural)["schema"]["openAPIV3Schema"], kind, kind.__name__, errors)
    assert errors == []


def _columns(columns: tuple[PrinterColumn, ...]) -> list[dict[str, Any]]:
    out = []
    for c in columns:
        column: dict[str, Any] = {"jsonPath": c.json_path, "name": c.name, "type": c.type}
        if c.priority:
            column["priority"] = c.priority
        out.append(column)
    return out


@pytest.mark.parametrize(("kind", "plural"), KINDS)
def test_crd_info_matches_upstream_names_and_printer_columns(kind: type[RayObject], plural: str) -> None:
    info = kind.CRD_INFO  # type: ignore[attr-defined]
    upstream = crd(plural)["spec"]
    assert upstream["group"] == info.group
    assert upstream["scope"] == info.scope
    assert upstream["names"] == {
        "categories": list(info.categories),
        "kind": info.kind,
        "listKind": info.list_kind,
        "plural": info.plural,
        "singular": info.singular,
    }
    assert crd(plural)["metadata"]["name"] == info.name
    v1 = crd_version(plural)
    assert v1.get("additionalPrinterColumns", []) == _columns(info.printer_columns)
    assert v1["served"] and v1["storage"]
    assert ("status" in v1.get("subresources", {})) == info.status_subresource


@pytest.mark.parametrize(("kind", "plural"), KINDS)
def test_crd_info_records_the_deprecated_v1alpha1_version(kind: type[RayObject], plural: str) -> None:
    info = kind.CRD_INFO  # type: ignore[attr-defined]
    alpha = [v for v in crd(plural)["spec"]["versions"] if v["name"] == "v1alpha1"]
    if info.v1alpha1_deprecation_warning is None:
        assert alpha == []
        return
    (version,) = alpha
    assert version["deprecated"] is True
    assert " ".join(version["deprecationWarning"].split()) == info.v1alpha1_deprecation_warning
    assert version.get("additionalPrinterColumns", []) == _columns(info.v1alpha1_printer_columns)
    assert version["served"] and not version["storage"]
