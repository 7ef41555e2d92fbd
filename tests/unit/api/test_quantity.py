"""Quantities print exactly as Go's resource.Quantity does (users compare kubectl columns)."""

from __future__ import annotations

import pytest

from raykube.api.quantity import Quantity, QuantityError, total


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        pytest.param("1", "1", id="integer"),
        pytest.param("1000", "1k", id="decimal-grows-suffix"),
        pytest.param("0.5", "500m", id="fraction-to-milli"),
        pytest.param("2G", "2G", id="decimal-si"),
        pytest.param("2048Mi", "2Gi", id="binary-grows-suffix"),
        pytest.param("1.5Gi", "1536Mi", id="binary-fraction"),
        pytest.param("512", "512", id="small-number"),
        pytest.param("1e3", "1e3", id="exponent-form"),
    ],
)
def test_canonical_form(text: str, canonical: str) -> None:
    assert str(Quantity.parse(text)) == canonical


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        pytest.param(["2G", "2G"], "4G", id="decimal-sum"),
        pytest.param(["1", "500m"], "1500m", id="cpu-sum"),
        pytest.param(["1Gi", "512Mi"], "1536Mi", id="binary-sum"),
        pytest.param(["0", "1Gi"], "1Gi", id="zero-takes-the-next-format"),
        pytest.param([], "0", id="empty"),
    ],
)
def test_sums_keep_the_first_non_zero_format(parts: list[str], expected: str) -> None:
    assert str(total([Quantity.parse(p) for p in parts])) == expected


def test_cpu_rounds_up_for_ray_start() -> None:
    assert Quantity.parse("1500m").ceil() == 2


def test_garbage_is_rejected() -> None:
    with pytest.raises(QuantityError):
        Quantity.parse("two gigs")
