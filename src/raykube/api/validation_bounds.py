"""Values within what their CRD schema declares (pure): integer formats and closed sets of strings.

The API server checks ``minimum``/``maximum`` but not ``format: int32``/``int64``, so a manifest may carry
``activeDeadlineSeconds: 9223372036854775807`` where KubeRay's Go struct holds an int32 (KubeRay itself
fails to decode it and logs the error). Every integer field is checked here, before it reaches arithmetic
or a timer, and an out-of-range value is reported like the other validation errors.

Fields with an ``enum`` in the CRD (``authOptions.mode``, ``autoscalerOptions.upscalingMode``/``version``,
``gcsFaultToleranceOptions.backend``, RayCluster ``upgradeStrategy.type``, ...) are refused by the API
server with KubeRay's CRDs installed. They are checked here too, with the API server's message, for what
reaches the operator some other way: ``raykube render``, or objects stored under an older CRD.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel

from raykube.api.schema import crd_prop

LIMITS: Final = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def schema_errors(model: BaseModel, path: str) -> list[str]:
    """Out-of-range integers, then values outside their declared set, of ``model`` (recursively)."""
    return range_errors(model, path) + enum_errors(model, path)


def range_errors(model: BaseModel, path: str) -> list[str]:
    """One message per integer field of ``model`` (recursively) outside its declared format's range."""
    errors: list[str] = []
    for where, value, info in _fields(model, path):
        if isinstance(value, int) and not isinstance(value, bool):
            fmt = crd_prop(info).format
            if fmt in LIMITS:
                low, high = LIMITS[fmt]
                if not low <= value <= high:
                    errors.append(f"{where} ({value}) is out of range: it must fit in {fmt} ({low} to {high})")
    return errors


def enum_errors(model: BaseModel, path: str) -> list[str]:
    """One message per string field of ``model`` (recursively) whose CRD ``enum`` does not hold its value,
    worded as the API server words it (``Unsupported value: "x": supported values: "a", "b"``)."""
    errors: list[str] = []
    for where, value, info in _fields(model, path):
        allowed = crd_prop(info).enum
        if allowed and isinstance(value, str) and value not in allowed:
            supported = ", ".join(f'"{a}"' for a in allowed)
            errors.append(f'{where}: Unsupported value: "{value}": supported values: {supported}')
    return errors


def _fields(model: BaseModel, path: str) -> list[tuple[str, Any, Any]]:
    """(JSON path, value, field info) of every scalar field of ``model`` and of the models it holds."""
    found: list[tuple[str, Any, Any]] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        where = f"{path}.{info.alias or name}"
        if isinstance(value, BaseModel):
            found.extend(_fields(value, where))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    found.extend(_fields(item, f"{where}[{index}]"))
        else:
            found.append((where, value, info))
    return found
