"""Integer fields within the range their CRD format declares (pure).

The API server checks ``minimum``/``maximum`` but not ``format: int32``/``int64``, so a manifest may carry
``activeDeadlineSeconds: 9223372036854775807`` where KubeRay's Go struct holds an int32 (KubeRay itself
fails to decode it and logs the error). Every integer field is checked here, before it reaches arithmetic
or a timer, and an out-of-range value is reported like the other validation errors.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel

from raykube.api.schema import crd_prop

LIMITS: Final = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def range_errors(model: BaseModel, path: str) -> list[str]:
    """One message per integer field of ``model`` (recursively) outside its declared format's range."""
    errors: list[str] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        where = f"{path}.{info.alias or name}"
        if isinstance(value, BaseModel):
            errors.extend(range_errors(value, where))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    errors.extend(range_errors(item, f"{where}[{index}]"))
        elif isinstance(value, int) and not isinstance(value, bool):
            fmt = crd_prop(info).format
            if fmt in LIMITS:
                low, high = LIMITS[fmt]
                if not low <= value <= high:
                    errors.append(f"{where} ({value}) is out of range: it must fit in {fmt} ({low} to {high})")
    return errors
