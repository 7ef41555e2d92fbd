"""The metadata convention shared by the ray.io/v1 models and the CRD generator.

The pydantic models in this package are the single source of the CRDs: ``raykube.api.crdgen`` walks them and
emits the OpenAPI v3 schema. Python annotations alone cannot say everything a CRD says (``int32`` vs
``int64``, server-side defaults, enums, CEL rules, list semantics, embedded Kubernetes types), so every
field of every ``RayModel`` is declared with :func:`prop`, which records those facts as a :class:`CrdProp`
under the key :data:`CRD_KEY` of the field's ``json_schema_extra``. Read them back with
:func:`crd_prop`.

How the generator maps one field (``name, info`` from ``Model.model_fields``):

* JSON property name: ``info.alias`` (always set); description: ``info.description``.
* Type, from ``info.annotation`` with ``| None`` stripped:
  ``str`` -> string, ``bool`` -> boolean, ``int`` -> integer, ``float`` -> number, a ``RayModel`` subclass
  -> object with its own properties, ``list[T]`` -> array of T, ``dict[str, T]`` -> object with
  ``additionalProperties`` T. ``K8sObject`` / ``Quantity`` (or lists/maps of them) carry
  :attr:`CrdProp.k8s_type`; the generator inlines that Kubernetes definition there (for a list: each item;
  for a map: each value) instead of mapping the annotation.
* Facts from :class:`CrdProp`: ``format``, ``default``, ``enum``, ``minimum``, ``minLength``, ``minItems``,
  ``nullable``, ``x-kubernetes-list-type`` / ``-list-map-keys``, ``x-kubernetes-validations`` (verbatim), and
  ``item_format`` (the ``format`` of string items / map values, e.g. ``date-time`` for
  ``stateTransitionTimes``).
* ``required`` of an object: the JSON names of its fields whose ``CrdProp.required`` is true, sorted.
  A CRD-required field is Python-required only when the CRD gives it no default (``minReplicas`` is
  required in the CRD but defaulted by the API server, so Python accepts a manifest without it).

Python defaults are always ``None`` (never the CRD default): a dump with ``exclude_none=True`` then
contains exactly what was parsed, and server-side defaults live only in the metadata and in
:mod:`raykube.api.defaults`.

Per kind, :class:`CrdInfo` (``CRD_INFO`` on each kind class) holds the names, scope, categories, printer
columns and the deprecated ``v1alpha1`` version facts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

#: Key under ``json_schema_extra`` where :func:`prop` stores the CRD facts of a field.
CRD_KEY: Final = "x-raykube-crd"

#: A raw Kubernetes object (PodTemplateSpec, Service, EnvVar, Condition...), kept as its JSON form because the
#: builders work on JSON; the field's :attr:`CrdProp.k8s_type` names its OpenAPI definition.
K8sObject = dict[str, Any]

#: A Kubernetes ``resource.Quantity``: the API server returns either an integer or a string ("500m", "1Gi").
Quantity = int | str

#: OpenAPI definition names of the embedded Kubernetes types (as in the Kubernetes OpenAPI v2/v3 documents).
K8S_POD_TEMPLATE_SPEC: Final = "io.k8s.api.core.v1.PodTemplateSpec"
K8S_SERVICE: Final = "io.k8s.api.core.v1.Service"
K8S_ENV_VAR: Final = "io.k8s.api.core.v1.EnvVar"
K8S_ENV_FROM_SOURCE: Final = "io.k8s.api.core.v1.EnvFromSource"
K8S_ENV_VAR_SOURCE: Final = "io.k8s.api.core.v1.EnvVarSource"
K8S_VOLUME_MOUNT: Final = "io.k8s.api.core.v1.VolumeMount"
K8S_RESOURCE_REQUIREMENTS: Final = "io.k8s.api.core.v1.ResourceRequirements"
K8S_SECURITY_CONTEXT: Final = "io.k8s.api.core.v1.SecurityContext"
K8S_INGRESS_TLS: Final = "io.k8s.api.networking.v1.IngressTLS"
K8S_NETWORK_POLICY_INGRESS_RULE: Final = "io.k8s.api.networking.v1.NetworkPolicyIngressRule"
K8S_NETWORK_POLICY_EGRESS_RULE: Final = "io.k8s.api.networking.v1.NetworkPolicyEgressRule"
K8S_CONDITION: Final = "io.k8s.apimachinery.pkg.apis.meta.v1.Condition"
K8S_QUANTITY: Final = "io.k8s.apimachinery.pkg.api.resource.Quantity"

Scalar = str | int | float | bool


@dataclass(frozen=True)
class CelRule:
    """One ``x-kubernetes-validations`` entry, verbatim from the upstream CRD."""

    rule: str
    message: str


@dataclass(frozen=True, kw_only=True)
class CrdProp:
    """OpenAPI facts of one property that the generator cannot infer from its Python annotation."""

    required: bool = False
    default: Scalar | None = None
    enum: tuple[str, ...] = ()
    format: Literal["int32", "int64", "date-time"] | None = None
    item_format: Literal["date-time"] | None = None
    minimum: int | None = None
    min_length: int | None = None
    min_items: int | None = None
    nullable: bool = False
    list_type: Literal["atomic", "map", "set"] | None = None
    list_map_keys: tuple[str, ...] = ()
    validations: tuple[CelRule, ...] = ()
    k8s_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The non-empty facts as plain JSON (what is stored in ``json_schema_extra``)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None or value is False or value == ():
                continue
            if f.name == "validations":
                value = [{"rule": v.rule, "message": v.message} for v in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CrdProp:
        """Inverse of :meth:`to_json`."""
        kwargs = dict(data)
        for key in ("enum", "list_map_keys"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        if "validations" in kwargs:
            kwargs["validations"] = tuple(CelRule(**v) for v in kwargs["validations"])
        return cls(**kwargs)


def prop(
    alias: str,
    description: str,
    *,
    required: bool = False,
    default: Scalar | None = None,
    enum: tuple[str, ...] = (),
    format: Literal["int32", "int64", "date-time"] | None = None,
    item_format: Literal["date-time"] | None = None,
    minimum: int | None = None,
    min_length: int | None = None,
    min_items: int | None = None,
    nullable: bool = False,
    list_type: Literal["atomic", "map", "set"] | None = None,
    list_map_keys: tuple[str, ...] = (),
    validations: tuple[CelRule, ...] = (),
    k8s_type: str | None = None,
    python_required: bool | None = None,
) -> Any:
    """Declare a model field: JSON alias, description and CRD facts (see the module docstring).

    The field is Python-required iff ``required`` is true and the CRD has no ``default`` for it; otherwise
    its Python default is ``None``. ``python_required`` overrides that (only ``spec`` of the kinds uses it:
    the CRD does not require it, but every object raykube handles has one).
    """
    facts = CrdProp(
        required=required,
        default=str(default) if isinstance(default, str) else default,  # plain str, not a StrEnum member
        enum=tuple(str(value) for value in enum),
        format=format,
        item_format=item_format,
        minimum=minimum,
        min_length=min_length,
        min_items=min_items,
        nullable=nullable,
        list_type=list_type,
        list_map_keys=list_map_keys,
        validations=validations,
        k8s_type=k8s_type,
    )
    if python_required is None:
        python_required = required and default is None
    python_default: Any = ... if python_required else None
    return Field(
        python_default,
        alias=alias,
        description=description,
        json_schema_extra={CRD_KEY: facts.to_json()},
    )


def crd_prop(info: FieldInfo) -> CrdProp:
    """The CRD facts recorded by :func:`prop` on a model field (empty facts if the field has none)."""
    extra = info.json_schema_extra
    if isinstance(extra, dict):
        data = extra.get(CRD_KEY)
        if isinstance(data, dict):
            return CrdProp.from_json(data)
    return CrdProp()


class RayModel(BaseModel):
    """Base of every ray.io type.

    * ``populate_by_name``: construct with snake_case names, parse and dump with the camelCase aliases.
    * ``extra="allow"``: fields unknown to this version are kept and dumped back unchanged. The API server
      prunes unknown fields anyway, so they only appear when a newer KubeRay CRD is installed or a user
      manifest has a typo; keeping them means an update written by raykube never drops another writer's
      data, and parsing never crashes. :func:`raykube.api.common.unknown_fields` lists them for warnings.
    * ``strict``: no coercion ("1" is not an int, "true" not a bool), mirroring the API server's type checks,
      so a dump is byte-identical in types to what was parsed.
    """

    model_config = ConfigDict(populate_by_name=True, extra="allow", strict=True)

    def to_json(self) -> dict[str, Any]:
        """The object as Kubernetes JSON: camelCase names, unset (None) fields omitted."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


@dataclass(frozen=True)
class PrinterColumn:
    """One ``additionalPrinterColumns`` entry."""

    name: str
    type: Literal["integer", "number", "string", "boolean", "date"]
    json_path: str
    priority: int = 0


@dataclass(frozen=True, kw_only=True)
class CrdInfo:
    """Names and per-version facts of one CRD (the ``spec.names`` / ``spec.versions[]`` parts of it)."""

    kind: str
    plural: str
    singular: str
    list_kind: str
    description: str
    group: str = "ray.io"
    scope: Literal["Namespaced", "Cluster"] = "Namespaced"
    categories: tuple[str, ...] = ("all",)
    short_names: tuple[str, ...] = ()
    printer_columns: tuple[PrinterColumn, ...] = ()
    status_subresource: bool = True
    #: Served but deprecated ``v1alpha1``: its warning text and printer columns (its schema is not modelled).
    v1alpha1_deprecation_warning: str | None = None
    v1alpha1_printer_columns: tuple[PrinterColumn, ...] = field(default=())

    @property
    def name(self) -> str:
        """The CRD object's name, ``<plural>.<group>``."""
        return f"{self.plural}.{self.group}"
