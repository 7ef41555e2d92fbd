"""Embedded Kubernetes types for the CRD generator, read from the Kubernetes OpenAPI v3 documents.

The ray.io CRDs embed whole Kubernetes types (a ``PodTemplateSpec`` per group, a ``Service``, ``EnvVar`` lists,
``metav1.Condition``...). Their schemas are not written by hand: ``k8s.io/kubernetes`` publishes one OpenAPI v3
document per API group version under ``api/openapi-spec/v3/`` and the Go tools module (``tools/k8s``) already
downloads that module, so :func:`openapi_dir` finds it with ``go list -m`` (or takes it from an option or
``RAYKUBE_K8S_OPENAPI_DIR``).

A CRD schema must be *structural*: no ``$ref``, no ``allOf``/``oneOf`` beyond the int-or-string idiom, a type on
every node. :meth:`K8sDefinitions.schema` turns an OpenAPI definition into such a tree the way controller-gen
renders Go types, so our CRDs validate and default embedded objects like upstream KubeRay's:

* references (``$ref`` or the ``allOf: [{$ref}]`` wrapper) are inlined; the wrapper's implicit ``default: {}``
  (emitted for every non-pointer struct member) is dropped, since the API server would otherwise materialise
  empty objects in every stored RayCluster;
* zero-value defaults on *required* properties are dropped too: they are what openapi-gen writes for
  non-``omitempty`` members (``containerPort: 0``), not declared defaults. Other defaults (``protocol: TCP``, the
  ``name: ""`` of object references) are declared with ``+default`` and kept, as controller-gen keeps them;
* ``ObjectMeta`` inside a template becomes controller-gen's embedded form: name, namespace, labels, annotations
  and finalizers only (the API server ignores the rest of a template's metadata anyway);
* ``IntOrString`` and ``Quantity`` become ``x-kubernetes-int-or-string`` (Quantity with the quantity grammar as
  a pattern); an object with neither properties nor additionalProperties (``RawExtension``) keeps unknown
  fields;
* descriptions, ``x-kubernetes-patch-*``, unions and GVK annotations are dropped; list types, list map keys,
  map types, formats and required lists are kept;
* the few places where controller-gen reads Go markers that the OpenAPI documents lack are corrected by
  :mod:`raykube.api.k8s_overlays`.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Final

from raykube.api import k8s_overlays

#: Environment variable naming the directory of the OpenAPI v3 documents (or the k8s.io/kubernetes module).
ENV_OPENAPI_DIR: Final = "RAYKUBE_K8S_OPENAPI_DIR"
#: Where the documents live inside the k8s.io/kubernetes module.
SPEC_SUBDIR: Final = Path("api/openapi-spec/v3")
#: The Go module that pins (and downloads) k8s.io/kubernetes.
TOOLS_MODULE: Final = Path(__file__).resolve().parents[3] / "tools" / "k8s"

OBJECT_META: Final = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
INT_OR_STRING: Final = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY: Final = "io.k8s.apimachinery.pkg.api.resource.Quantity"
REF_PREFIX: Final = "#/components/schemas/"

#: resource.Quantity's text form: a signed decimal number, then a binary-SI, decimal-SI or exponent suffix.
_NUMBER: Final = r"(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
QUANTITY_PATTERN: Final = rf"^(\+|-)?{_NUMBER}(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?{_NUMBER}))?$"

#: OpenAPI keys copied as they are onto the CRD schema.
_KEPT_KEYS: Final = ("format", "enum", "x-kubernetes-list-type", "x-kubernetes-map-type")


class OpenAPIError(RuntimeError):
    """The Kubernetes OpenAPI documents cannot be found or do not describe a requested type."""


def openapi_dir(configured: str | os.PathLike[str] | None = None) -> Path:
    """The directory of the ``*_openapi.json`` documents.

    Taken from ``configured``, else ``$RAYKUBE_K8S_OPENAPI_DIR``, else ``go list -m`` in the tools module. Either
    the documents' directory or the k8s.io/kubernetes module directory may be given.
    """
    source = configured or os.environ.get(ENV_OPENAPI_DIR)
    base = Path(source) if source else _module_dir_from_go()
    for candidate in (base, base / SPEC_SUBDIR):
        if any(candidate.glob("*_openapi.json")):
            return candidate
    raise OpenAPIError(f"no Kubernetes OpenAPI v3 documents (*_openapi.json) in {base} or {base / SPEC_SUBDIR}")


def _module_dir_from_go() -> Path:
    go = shutil.which("go")
    if go is None:
        raise OpenAPIError(
            f"Go is not installed: cannot locate the k8s.io/kubernetes module; install Go or set {ENV_OPENAPI_DIR}"
        )
    try:
        result = subprocess.run(
            [go, "list", "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes"],
            cwd=TOOLS_MODULE,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise OpenAPIError(f"'go list -m k8s.io/kubernetes' failed in {TOOLS_MODULE}: {err}") from err
    directory = result.stdout.strip()
    if result.returncode != 0 or not directory:
        detail = result.stderr.strip() or "module not downloaded"
        raise OpenAPIError(
            f"k8s.io/kubernetes is not available in the Go module cache ({detail}); run 'make tools' or "
            f"'cd tools/k8s && go mod download k8s.io/kubernetes', or set {ENV_OPENAPI_DIR}"
        )
    return Path(directory)


def _is_zero(value: Any) -> bool:
    return value in ("", 0, False, {}, [])


def embedded_object_meta() -> dict[str, Any]:
    """controller-gen's schema of an ObjectMeta embedded in a template (the fields a template may carry)."""
    string_map = {"type": "object", "additionalProperties": {"type": "string"}}
    return {
        "type": "object",
        "properties": {
            "annotations": copy.deepcopy(string_map),
            "finalizers": {"type": "array", "items": {"type": "string"}},
            "labels": copy.deepcopy(string_map),
            "name": {"type": "string"},
            "namespace": {"type": "string"},
        },
    }


def int_or_string(pattern: str | None = None) -> dict[str, Any]:
    """The structural int-or-string node (with an optional pattern for the string form)."""
    node: dict[str, Any] = {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True}
    if pattern is not None:
        node["pattern"] = pattern
    return node


class K8sDefinitions:
    """All ``components.schemas`` of the OpenAPI v3 documents in a directory, rendered for CRDs on demand."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._raw: dict[str, dict[str, Any]] = {}
        for path in sorted(directory.glob("*_openapi.json")):
            document = json.loads(path.read_text())
            for name, definition in document.get("components", {}).get("schemas", {}).items():
                self._raw.setdefault(name, definition)
        if not self._raw:
            raise OpenAPIError(f"no schema definitions in the OpenAPI documents of {directory}")
        self._rendered: dict[str, dict[str, Any]] = {}

    def schema(self, name: str) -> dict[str, Any]:
        """The structural CRD schema of the definition ``name`` (a fresh copy the caller may change)."""
        return copy.deepcopy(self._render(name, ()))

    def _render(self, name: str, stack: tuple[str, ...]) -> dict[str, Any]:
        if name in self._rendered:
            return self._rendered[name]
        if name in stack:
            raise OpenAPIError(f"recursive definition {' -> '.join((*stack, name))} cannot be inlined")
        if name == OBJECT_META:
            rendered = embedded_object_meta()
        elif name == INT_OR_STRING:
            rendered = int_or_string()
        elif name == QUANTITY:
            rendered = int_or_string(QUANTITY_PATTERN)
        else:
            definition = self._raw.get(name)
            if definition is None:
                raise OpenAPIError(f"{name} is not defined in the OpenAPI documents of {self.directory}")
            rendered = k8s_overlays.apply(name, self._convert(definition, (*stack, name), name))
        self._rendered[name] = rendered
        return rendered

    def _convert(self, node: dict[str, Any], stack: tuple[str, ...], path: str) -> dict[str, Any]:
        reference = _reference(node)
        if reference is not None:
            out = copy.deepcopy(self._render(reference, stack))
            default = node.get("default")
            if default is not None and not _is_zero(default):
                out["default"] = default
            return out
        kind = node.get("type")
        if kind is None:
            raise OpenAPIError(f"{path}: untyped OpenAPI node {sorted(node)} has no structural equivalent")
        out = {"type": kind}
        out.update({key: copy.deepcopy(node[key]) for key in _KEPT_KEYS if key in node})
        if "x-kubernetes-list-map-keys" in node:
            out["x-kubernetes-list-map-keys"] = list(node["x-kubernetes-list-map-keys"])
        if "default" in node and not (isinstance(node["default"], dict | list) and not node["default"]):
            out["default"] = copy.deepcopy(node["default"])
        if kind == "array":
            out["items"] = _without_zero_default(self._convert(node.get("items") or {}, stack, f"{path}[]"))
        elif kind == "object":
            self._convert_object(node, out, stack, path)
        return out

    def _convert_object(self, node: dict[str, Any], out: dict[str, Any], stack: tuple[str, ...], path: str) -> None:
        required = sorted(node.get("required") or [])
        properties = {
            key: self._convert(value, stack, f"{path}.{key}") for key, value in (node.get("properties") or {}).items()
        }
        for key in required:
            if key in properties and _is_zero(properties[key].get("default")):
                del properties[key]["default"]  # openapi-gen's zero value of a non-omitempty member
        if properties:
            out["properties"] = properties
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            out["additionalProperties"] = _without_zero_default(self._convert(extra, stack, f"{path}{{}}"))
        elif extra is True:
            out["x-kubernetes-preserve-unknown-fields"] = True
        if required:
            out["required"] = required
        if not properties and not isinstance(extra, dict):
            out["x-kubernetes-preserve-unknown-fields"] = True


def _without_zero_default(node: dict[str, Any]) -> dict[str, Any]:
    """List items and map values have no default of their own (openapi-gen writes their zero value)."""
    if _is_zero(node.get("default")):
        del node["default"]
    return node


def _reference(node: dict[str, Any]) -> str | None:
    ref = node.get("$ref")
    if ref is None:
        all_of = node.get("allOf") or []
        if len(all_of) == 1 and "$ref" in all_of[0]:
            ref = all_of[0]["$ref"]
    if ref is None:
        return None
    if not str(ref).startswith(REF_PREFIX):
        raise OpenAPIError(f"unsupported reference {ref}")
    return str(ref)[len(REF_PREFIX) :]
