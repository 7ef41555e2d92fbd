"""Corrections applied to Kubernetes OpenAPI definitions so the inlined schemas match what controller-gen emits.

The OpenAPI documents are produced by openapi-gen, upstream KubeRay's CRDs by controller-gen; both read the same
Go types but not the same markers. Where they disagree on a type the ray.io CRDs embed, the entry below restates
what controller-gen derives from the Go source, so our CRDs accept, reject, default and merge embedded objects
exactly as upstream's do:

* ``+structType=atomic`` on ``LocalObjectReference`` is inherited by the structs that inline it (controller-gen)
  but not carried over by openapi-gen.
* ``+kubebuilder:validation:*`` markers (length limits, patterns, enums, minimum, ``Required``) on
  ``metav1.Condition`` and ``PortStatus`` exist only for controller-gen.
* ``+default=ref(...)`` defaults (AzureDisk caching mode and kind) are resolved by openapi-gen and ignored by
  controller-gen.
* Fields that KubeRay v1.7.0's Kubernetes libraries have and our pinned Kubernetes OpenAPI (1.34) does not yet
  have are added (only when missing, so a newer OpenAPI source wins); without them the API server would prune
  those fields from stored templates where upstream keeps them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Final

#: A DNS-1123 label, and a subdomain made of such labels.
_DNS_LABEL: Final = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN: Final = rf"{_DNS_LABEL}(\.{_DNS_LABEL})*"
#: A Kubernetes qualified name: optional ``<dns subdomain>/`` prefix, then an alphanumeric-bounded name.
QUALIFIED_NAME_PATTERN: Final = rf"^({_DNS_SUBDOMAIN}/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
#: A CamelCase-ish machine reason: a letter, then letters, digits, ``_``, ``,`` or ``:``, not ending in ``,``/``:``.
CONDITION_REASON_PATTERN: Final = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"


@dataclass(frozen=True)
class Overlay:
    """Changes to one rendered definition.

    ``node``: keys merged into the definition's own schema. ``properties``: keys merged into existing properties
    (a ``None`` value removes the key). ``required``: replaces the required list. ``added``: properties added when
    the definition lacks them.
    """

    node: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    required: tuple[str, ...] | None = None
    added: dict[str, dict[str, Any]] = field(default_factory=dict)


_ATOMIC: Final = Overlay(node={"x-kubernetes-map-type": "atomic"})
_STRING_MAP: Final = {"type": "object", "additionalProperties": {"type": "string"}}

OVERLAYS: Final[dict[str, Overlay]] = {
    "io.k8s.api.core.v1.ConfigMapEnvSource": _ATOMIC,
    "io.k8s.api.core.v1.SecretEnvSource": _ATOMIC,
    "io.k8s.api.core.v1.ConfigMapVolumeSource": _ATOMIC,
    "io.k8s.api.core.v1.ConfigMapProjection": _ATOMIC,
    "io.k8s.api.core.v1.SecretProjection": _ATOMIC,
    "io.k8s.apimachinery.pkg.apis.meta.v1.Condition": Overlay(
        properties={
            "message": {"maxLength": 32768},
            "observedGeneration": {"minimum": 0},
            "reason": {"maxLength": 1024, "minLength": 1, "pattern": CONDITION_REASON_PATTERN},
            "status": {"enum": ["True", "False", "Unknown"]},
            "type": {"maxLength": 316, "pattern": QUALIFIED_NAME_PATTERN},
        }
    ),
    "io.k8s.api.core.v1.PortStatus": Overlay(
        properties={"error": {"maxLength": 316, "pattern": QUALIFIED_NAME_PATTERN}},
        required=("error", "port", "protocol"),
    ),
    "io.k8s.api.core.v1.AzureDiskVolumeSource": Overlay(
        properties={"cachingMode": {"default": None}, "kind": {"default": None}}
    ),
    "io.k8s.api.core.v1.PodSpec": Overlay(
        added={"schedulingGroup": {"type": "object", "properties": {"podGroupName": {"type": "string"}}}}
    ),
    "io.k8s.api.core.v1.PodCertificateProjection": Overlay(added={"userAnnotations": _STRING_MAP}),
}


def apply(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (the rendered definition ``name``) with its overlay applied, in place."""
    overlay = OVERLAYS.get(name)
    if overlay is None:
        return schema
    schema.update(overlay.node)
    properties = schema.setdefault("properties", {})
    for prop, changes in overlay.properties.items():
        if prop not in properties:
            raise KeyError(f"overlay of {name}: no property {prop}")
        for key, value in changes.items():
            if value is None:
                properties[prop].pop(key, None)
            else:
                properties[prop][key] = value
    for prop, added in overlay.added.items():
        properties.setdefault(prop, copy.deepcopy(added))
    if overlay.required is not None:
        schema["required"] = sorted(overlay.required)
    return schema
