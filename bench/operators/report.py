"""A scenario's table: one row per measure, raykube and KubeRay side by side with the ratios.

Every row has raykube's and KubeRay's value and, where one exists, the baseline of the same run (the
bare-pod ceiling, or the minimum number of writes); the ratios are raykube/KubeRay and each/baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.operators.measure import ratio


def measured(result: dict[str, Any], operator: str, *keys: str) -> float | None:
    """``result[operator][key][...]`` as a float; None where the path is missing (an operator not run)."""
    value: Any = result.get(operator)
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return None if value is None else float(value)


@dataclass(frozen=True)
class Row:
    measure: str
    raykube: float | None
    kuberay: float | None
    baseline: float | None = None
    fmt: str = ".1f"

    def as_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "raykube": self.raykube,
            "kuberay": self.kuberay,
            "baseline": self.baseline,
            "raykube_over_kuberay": ratio(self.raykube, self.kuberay),
            "raykube_over_baseline": ratio(self.raykube, self.baseline),
            "kuberay_over_baseline": ratio(self.kuberay, self.baseline),
        }


def _cell(value: float | None, fmt: str) -> str:
    if value is None or math.isnan(value):
        return "-"
    return format(value, fmt)


def render(title: str, rows: list[Row], baseline: str = "ceiling") -> str:
    """The table as text (fixed-width columns)."""
    header = ["measure", "raykube", "KubeRay", baseline, "raykube/KubeRay", f"raykube/{baseline}",
              f"KubeRay/{baseline}"]
    body = []
    for row in rows:
        d = row.as_dict()
        body.append([row.measure, _cell(row.raykube, row.fmt), _cell(row.kuberay, row.fmt),
                     _cell(row.baseline, row.fmt), _cell(d["raykube_over_kuberay"], ".2f"),
                     _cell(d["raykube_over_baseline"], ".2f"), _cell(d["kuberay_over_baseline"], ".2f")])
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([title, rule, line(header), rule, *(line(r) for r in body), rule])
