"""Pieces shared by all four ray.io/v1 kinds: the object envelope, shared CEL rules, unknown-field reporting.

Every kind class derives from :class:`RayObject`, which holds ``apiVersion``, ``kind`` and ``metadata``
(kept as raw ObjectMeta JSON, like every embedded Kubernetes type; see :mod:`raykube.api.schema`). The CRD
generator emits these three top-level properties itself (``apiVersion``/``kind`` strings, ``metadata`` a
bare object), so they are declared with plain ``Field`` rather than :func:`~raykube.api.schema.prop`.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, Field

from raykube import reasons
from raykube.api.schema import CelRule, K8sObject, RayModel

#: ``spec.managedBy`` rules, identical on RayCluster, RayJob and RayService.
MANAGED_BY_VALIDATIONS: Final = (
    CelRule(rule="self == oldSelf", message="the managedBy field is immutable"),
    CelRule(
        rule=f"self in ['{reasons.MANAGED_BY_KUBERAY}', '{reasons.MANAGED_BY_MULTIKUEUE}']",
        message=(
            f"the managedBy field value must be either '{reasons.MANAGED_BY_KUBERAY}' "
            f"or '{reasons.MANAGED_BY_MULTIKUEUE}'"
        ),
    ),
)
MANAGED_BY_DESCRIPTION: Final = (
    "Controller that reconciles this object: unset or 'ray.io/kuberay-operator' for this operator, "
    "'kueue.x-k8s.io/multikueue' to hand it to MultiKueue. Immutable."
)

#: Format of every ray.io timestamp (``metav1.Time``): RFC 3339 in UTC with second precision.
TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"


class RayObject(RayModel):
    """The envelope of a ray.io/v1 object; subclasses add ``spec``, ``status`` and ``CRD_INFO``."""

    api_version: str = Field(reasons.API_VERSION, alias="apiVersion")
    kind: str
    metadata: K8sObject = Field(default_factory=dict)

    @property
    def name(self) -> str:
        """``metadata.name`` (empty if unset)."""
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        """``metadata.namespace`` (empty if unset)."""
        return str(self.metadata.get("namespace", ""))

    @property
    def labels(self) -> dict[str, str]:
        """``metadata.labels`` (empty if unset)."""
        return dict(self.metadata.get("labels") or {})

    @property
    def annotations(self) -> dict[str, str]:
        """``metadata.annotations`` (empty if unset)."""
        return dict(self.metadata.get("annotations") or {})


def unknown_fields(model: BaseModel, path: str = "") -> list[str]:
    """JSON paths of the fields that were accepted but are not part of the model (``extra="allow"``).

    Embedded Kubernetes objects are plain dicts and are not inspected.
    """
    found: list[str] = [f"{path}.{key}" if path else key for key in (model.model_extra or {})]
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        child_path = f"{path}.{info.alias or name}" if path else (info.alias or name)
        found.extend(_unknown_in_value(value, child_path))
    return found


def _unknown_in_value(value: Any, path: str) -> list[str]:
    if isinstance(value, BaseModel):
        return unknown_fields(value, path)
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _unknown_in_value(item, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _unknown_in_value(item, f"{path}.{key}")]
    return []
