"""The generated CRDs: up to date, structural, and a superset of upstream KubeRay v1.7.0's schemas.

* ``config/crd/bases`` equals a fresh ``raykube.api.crdgen`` run (needs the Kubernetes OpenAPI documents from the
  Go module cache; skipped when they cannot be found).
* Every property path of every upstream schema, down through the embedded PodTemplateSpec, Service, EnvVar...,
  exists in ours with the same type, and we add no path upstream lacks. Validation facts (formats, defaults,
  enums, patterns, limits, list/map semantics, required lists, CEL rules) are compared as well, since they decide
  what the API server accepts, defaults and how server-side apply merges. Descriptions are ours, not compared.
* Names, scope, categories, subresources and printer columns are upstream's, per version.
* A structural-schema checker (the rules the API server enforces for ``apiextensions.k8s.io/v1``) passes over
  every version; its own unit tests show that it catches each violation.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from raykube.api import crdgen, k8s_openapi
from raykube.api.k8s_openapi import OpenAPIError
from tests.unit.api.upstream import crd, requires_reference

PLURALS = ("rayclusters", "rayjobs", "rayservices", "raycronjobs")
#: Facts compared node by node with upstream (besides the type, which is compared separately).
FACTS = (
    "format",
    "default",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "nullable",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
)
#: Upstream v1alpha1 paths that our v1alpha1 (served with the v1 schema) does not have, and why that is fine.
V1ALPHA1_ONLY = {
    "rayservices": {
        ".status.activeServiceStatus.applicationStatuses{}.healthLastUpdateTime",
        ".status.activeServiceStatus.applicationStatuses{}.serveDeploymentStatuses{}.healthLastUpdateTime",
        ".status.pendingServiceStatus.applicationStatuses{}.healthLastUpdateTime",
        ".status.pendingServiceStatus.applicationStatuses{}.serveDeploymentStatuses{}.healthLastUpdateTime",
    },  # status fields only pre-v1 operators wrote; v1 removed them and our controllers never write them
}


@functools.cache
def _generated() -> dict[str, str]:
    try:
        return crdgen.generate()
    except OpenAPIError as err:
        pytest.skip(f"Kubernetes OpenAPI documents unavailable: {err}")


@functools.cache
def ours(plural: str) -> dict[str, Any]:
    """Our committed CRD."""
    text = (crdgen.DEFAULT_OUTPUT / f"ray.io_{plural}.yaml").read_text()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return next(doc for doc in yaml.load_all(text, Loader=loader) if doc)


def version(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(v for v in document["spec"]["versions"] if v["name"] == name)


def schema(document: dict[str, Any], name: str = "v1") -> dict[str, Any]:
    result: dict[str, Any] = version(document, name)["schema"]["openAPIV3Schema"]
    return result


def children(node: dict[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    """The sub-schemas of ``node`` with their paths (``.prop``, ``[]`` for items, ``{}`` for map values)."""
    found = [(f"{path}.{key}", value) for key, value in (node.get("properties") or {}).items()]
    if isinstance(node.get("items"), dict):
        found.append((f"{path}[]", node["items"]))
    if isinstance(node.get("additionalProperties"), dict):
        found.append((f"{path}{{}}", node["additionalProperties"]))
    return found


def paths(node: dict[str, Any], path: str = "") -> dict[str, dict[str, Any]]:
    """Every node of a schema tree by path."""
    found = {path: node}
    for child_path, child in children(node, path):
        found.update(paths(child, child_path))
    return found


# ---------------------------------------------------------------------------------------------- up to date


def test_committed_crds_equal_freshly_generated_ones() -> None:
    generated = _generated()
    assert sorted(generated) == [f"ray.io_{plural}.yaml" for plural in sorted(PLURALS)]
    assert crdgen.stale(generated, crdgen.DEFAULT_OUTPUT) == []


def test_generation_is_deterministic() -> None:
    generated = _generated()
    assert crdgen.generate() == generated


def test_check_mode_reports_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, text in _generated().items():
        (tmp_path / name).write_text(text)
    assert crdgen.main(["--check", "--output-dir", str(tmp_path)]) == 0
    stale = tmp_path / "ray.io_raycronjobs.yaml"
    stale.write_text(stale.read_text().replace("name: schedule", "name: when"))
    assert crdgen.main(["--check", "--output-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "ray.io_raycronjobs.yaml: 2 changed lines" in err
    assert "make crds" in err


def test_a_missing_openapi_source_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(OpenAPIError, match=r"no Kubernetes OpenAPI v3 documents"):
        k8s_openapi.openapi_dir(tmp_path)
    monkeypatch.delenv(k8s_openapi.ENV_OPENAPI_DIR, raising=False)
    monkeypatch.setattr(shutil, "which", lambda _: None)
    with pytest.raises(OpenAPIError, match=r"Go is not installed.*RAYKUBE_K8S_OPENAPI_DIR"):
        k8s_openapi.openapi_dir()
    assert crdgen.main(["--check", "--openapi-dir", str(tmp_path)]) == 2


# ------------------------------------------------------------------------------------------ upstream schema


@requires_reference
@pytest.mark.parametrize("plural", PLURALS)
def test_every_upstream_property_path_exists_with_the_same_type(plural: str) -> None:
    upstream = paths(schema(crd(plural)))
    mine = paths(schema(ours(plural)))
    missing = sorted(path for path in upstream if path not in mine)
    assert missing == [], f"{len(missing)} upstream paths missing"
    wrong = [
        f"{path}: {node.get('type')} != ours {mine[path].get('type')}"
        for path, node in sorted(upstream.items())
        if node.get("type") != mine[path].get("type")
    ]
    assert wrong == []
    assert len(upstream) > 2500  # the embedded Kubernetes types were walked, not just the ray.io fields


@requires_reference
@pytest.mark.parametrize("plural", PLURALS)
def test_no_property_path_beyond_upstream(plural: str) -> None:
    extra = sorted(paths(schema(ours(plural))).keys() - paths(schema(crd(plural))).keys())
    assert extra == []


@requires_reference
@pytest.mark.parametrize("plural", PLURALS)
def test_validation_facts_and_required_lists_match_upstream_everywhere(plural: str) -> None:
    mine = paths(schema(ours(plural)))
    errors: list[str] = []
    for path, node in sorted(paths(schema(crd(plural))).items()):
        for key in FACTS:
            if node.get(key) != mine[path].get(key):
                errors.append(f"{path} {key}: upstream {node.get(key)!r} != ours {mine[path].get(key)!r}")
        if sorted(node.get("required", [])) != mine[path].get("required", []):
            errors.append(f"{path} required: upstream {node.get('required')} != ours {mine[path].get('required')}")
    assert errors == []


@requires_reference
@pytest.mark.parametrize("plural", ["rayclusters", "rayjobs", "rayservices"])
def test_v1alpha1_serves_the_v1_schema_which_covers_upstream_v1alpha1(plural: str) -> None:
    assert schema(ours(plural), "v1alpha1") == schema(ours(plural), "v1")
    upstream = paths(schema(crd(plural), "v1alpha1"))
    mine = paths(schema(ours(plural), "v1alpha1"))
    missing = {path for path in upstream if path not in mine}
    assert missing == V1ALPHA1_ONLY.get(plural, set())
    assert [p for p in upstream if p in mine and upstream[p].get("type") != mine[p].get("type")] == []


@pytest.mark.parametrize("plural", PLURALS)
def test_template_metadata_is_the_embedded_object_meta(plural: str) -> None:
    templates = (".template.metadata", ".submitterPodTemplate.metadata", ".headService.metadata")
    found = {p: n for p, n in paths(schema(ours(plural))).items() if p.endswith(templates)}
    assert len(found) >= 2
    for node in found.values():
        assert node == k8s_openapi.embedded_object_meta()
    assert schema(ours(plural))["properties"]["metadata"] == {"type": "object"}


# ---------------------------------------------------------------------------------- names and versions


@requires_reference
@pytest.mark.parametrize("plural", PLURALS)
def test_names_scope_and_categories_match_upstream(plural: str) -> None:
    assert ours(plural)["metadata"]["name"] == crd(plural)["metadata"]["name"]
    for key in ("group", "names", "scope"):
        assert ours(plural)["spec"][key] == crd(plural)["spec"][key]
    assert ours(plural)["spec"]["names"]["categories"] == ["all"]
    assert ours(plural)["apiVersion"] == "apiextensions.k8s.io/v1"


@requires_reference
@pytest.mark.parametrize("plural", PLURALS)
def test_versions_printer_columns_and_subresources_match_upstream(plural: str) -> None:
    def summary(document: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for v in document["spec"]["versions"]:
            entry = {k: v.get(k) for k in ("name", "served", "storage", "deprecated", "subresources")}
            entry["columns"] = v.get("additionalPrinterColumns", [])
            entry["warning"] = " ".join(v["deprecationWarning"].split()) if "deprecationWarning" in v else None
            out.append(entry)
        return out

    assert summary(ours(plural)) == summary(crd(plural))
    assert all(v["subresources"] == {"status": {}} for v in ours(plural)["spec"]["versions"])
    assert [v["name"] for v in ours(plural)["spec"]["versions"] if v["storage"]] == ["v1"]


# ------------------------------------------------------------------------------------- structural schemas

#: Keys a node of a structural CRD schema may carry (value validations included).
ALLOWED_KEYS = frozenset(
    {
        "type",
        "description",
        "properties",
        "additionalProperties",
        "items",
        "required",
        "default",
        "enum",
        "format",
        "pattern",
        "nullable",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
        "anyOf",
        "x-kubernetes-int-or-string",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-embedded-resource",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-map-type",
        "x-kubernetes-validations",
    }
)
INT_OR_STRING_ANY_OF = [{"type": "integer"}, {"type": "string"}]
TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean"})


def structural_errors(node: Any, path: str = "") -> list[str]:
    """Violations of the structural-schema rules (and of the list/map extensions' own rules) under ``node``."""
    if not isinstance(node, dict):
        return [f"{path}: schema is not an object"]
    errors = [f"{path}: key {key} not allowed" for key in sorted(node.keys() - ALLOWED_KEYS)]
    kind = node.get("type")
    errors.extend(_type_errors(node, path))
    if "properties" in node and "additionalProperties" in node:
        errors.append(f"{path}: properties and additionalProperties together")
    if ("properties" in node or "additionalProperties" in node or "required" in node) and kind != "object":
        errors.append(f"{path}: object keywords on type {kind}")
    if kind == "array" and not isinstance(node.get("items"), dict):
        errors.append(f"{path}: array without an items schema")
    if "items" in node and kind != "array":
        errors.append(f"{path}: items on type {kind}")
    if "additionalProperties" in node and not isinstance(node["additionalProperties"], dict):
        errors.append(f"{path}: additionalProperties must be a schema")
    missing_required = set(node.get("required", [])) - set(node.get("properties", {}))
    if missing_required and node.get("x-kubernetes-preserve-unknown-fields") is not True:
        errors.append(f"{path}: required {sorted(missing_required)} are not properties")
    errors.extend(_list_errors(node, path))
    for child_path, child in children(node, path):
        errors.extend(structural_errors(child, child_path))
    return errors


def _type_errors(node: dict[str, Any], path: str) -> list[str]:
    """The node's type: one of TYPES, or the int-or-string idiom, or none with preserve-unknown-fields."""
    errors = []
    int_or_string = node.get("x-kubernetes-int-or-string") is True
    kind = node.get("type")
    if int_or_string:
        if kind is not None:
            errors.append(f"{path}: int-or-string node with type {kind}")
        if node.get("anyOf", INT_OR_STRING_ANY_OF) != INT_OR_STRING_ANY_OF:
            errors.append(f"{path}: anyOf other than the int-or-string idiom")
    elif "anyOf" in node:
        errors.append(f"{path}: anyOf outside an int-or-string node")
    if kind is None and not int_or_string and node.get("x-kubernetes-preserve-unknown-fields") is not True:
        errors.append(f"{path}: no type")
    if kind is not None and kind not in TYPES:
        errors.append(f"{path}: unknown type {kind}")
    return errors


def _list_errors(node: dict[str, Any], path: str) -> list[str]:
    list_type = node.get("x-kubernetes-list-type")
    keys = node.get("x-kubernetes-list-map-keys")
    errors: list[str] = []
    if list_type is not None and node.get("type") != "array":
        errors.append(f"{path}: list type on {node.get('type')}")
    if keys is not None and list_type != "map":
        errors.append(f"{path}: list map keys without list type map")
    if list_type == "map":
        items = node.get("items") or {}
        if items.get("type") != "object" or not keys:
            errors.append(f"{path}: list type map needs object items and keys")
        for key in keys or []:
            prop = (items.get("properties") or {}).get(key)
            if prop is None or (key not in items.get("required", []) and "default" not in prop):
                errors.append(f"{path}: map key {key} is neither required nor defaulted")
    if list_type == "set" and (node.get("items") or {}).get("type") not in ("string", "integer", "number", "boolean"):
        errors.append(f"{path}: list type set needs scalar items")
    if node.get("x-kubernetes-map-type") is not None and node.get("type") != "object":
        errors.append(f"{path}: map type on {node.get('type')}")
    return errors


def root_errors(root: dict[str, Any]) -> list[str]:
    """The extra rules of the schema root: an object whose metadata is a bare object."""
    errors = structural_errors(root)
    if root.get("type") != "object":
        errors.append("root: not an object")
    if root.get("properties", {}).get("metadata") != {"type": "object"}:
        errors.append("root: metadata must be a bare object")
    if "default" in root or "nullable" in root:
        errors.append("root: default/nullable not allowed")
    return errors


@pytest.mark.parametrize("plural", PLURALS)
def test_every_version_schema_is_structural(plural: str) -> None:
    for v in ours(plural)["spec"]["versions"]:
        assert root_errors(v["schema"]["openAPIV3Schema"]) == [], v["name"]


def test_no_ref_or_composition_anywhere_in_the_files() -> None:
    for plural in PLURALS:
        text = (crdgen.DEFAULT_OUTPUT / f"ray.io_{plural}.yaml").read_text()
        for word in ("$ref", "allOf", "oneOf", " not:", "&id", "*id"):
            assert word not in text, (plural, word)


@requires_reference
@pytest.mark.parametrize("plural", PLURALS)
def test_the_checker_accepts_upstream_schemas(plural: str) -> None:
    assert root_errors(schema(crd(plural))) == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"properties": {"a": {"type": "string"}}}, "no type"),
        ({"type": "object", "properties": {"a": {}}}, ".a: no type"),
        ({"$ref": "#/x", "type": "object"}, "key $ref not allowed"),
        ({"type": "object", "allOf": [{"type": "object"}]}, "key allOf not allowed"),
        ({"type": "array"}, "array without an items schema"),
        (
            {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}},
            "properties and additionalProperties together",
        ),
        ({"type": "object", "additionalProperties": True}, "additionalProperties must be a schema"),
        ({"type": "string", "x-kubernetes-int-or-string": True}, "int-or-string node with type string"),
        ({"anyOf": [{"type": "integer"}], "type": "string"}, "anyOf outside"),
        ({"type": "object", "required": ["x"], "properties": {}}, "required ['x'] are not properties"),
        (
            {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["k"],
                "items": {"type": "object", "properties": {"k": {"type": "string"}}},
            },
            "map key k is neither required nor defaulted",
        ),
        ({"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "object"}}, "set needs scalar"),
        ({"type": "string", "x-kubernetes-map-type": "atomic"}, "map type on string"),
    ],
)
def test_the_structural_checker_catches(bad: dict[str, Any], message: str) -> None:
    errors = structural_errors(bad)
    assert any(message in error for error in errors), errors


def test_the_structural_checker_accepts_the_idioms() -> None:
    good = {
        "type": "object",
        "properties": {
            "port": {"anyOf": INT_OR_STRING_ANY_OF, "x-kubernetes-int-or-string": True},
            "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "ports": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["port", "protocol"],
                "items": {
                    "type": "object",
                    "required": ["port"],
                    "properties": {"port": {"type": "integer"}, "protocol": {"type": "string", "default": "TCP"}},
                },
            },
        },
    }
    assert structural_errors(good) == []
