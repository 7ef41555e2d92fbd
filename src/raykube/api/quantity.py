"""Kubernetes resource quantities (``500m``, ``2Gi``, ``4G``), exactly as Go's ``resource.Quantity``.

Status fields such as ``desiredCPU``/``desiredMemory`` are printed by ``kubectl get rayclusters``; users
compare them with KubeRay's output, so sums must be formatted the way Go formats them:
  * the canonical form keeps the *format* of the quantity (binary ``Ki..Ei``, decimal ``n..E``,
    or decimal exponent ``e3``) and picks the largest suffix that leaves an integer mantissa
    (``4000000000`` decimal → ``4G``; ``1610612736`` binary → ``1536Mi``);
  * a binary quantity below 1024 or not a whole number of bytes prints in decimal (``512``, ``1500m``);
  * a sum takes the format of its first non-zero operand (Go's ``Quantity.Add``).
Values are exact :class:`fractions.Fraction` s; Go rounds sub-nano values up, which we mirror.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

Format = Literal["BinarySI", "DecimalSI", "DecimalExponent"]

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXP = {v: k for k, v in _DECIMAL.items()}
_BINARY_BY_EXP = {v: k for k, v in _BINARY.items()}
_PATTERN = re.compile(r"^([+-]?)(\d+\.?\d*|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$")


class QuantityError(ValueError):
    """Text that is not a Kubernetes quantity."""


@dataclass(frozen=True)
class Quantity:
    """An exact quantity value with the format it is printed in."""

    value: Fraction
    format: Format = "DecimalSI"

    @classmethod
    def parse(cls, text: str | int | float) -> Quantity:
        if isinstance(text, int | float):
            text = str(text)
        match = _PATTERN.match(text.strip())
        if not match:
            raise QuantityError(f"quantities must match the regular expression of Kubernetes: {text!r}")
        sign, number, suffix, exponent = match.groups()
        value = Fraction(number)
        if sign == "-":
            value = -value
        if exponent is not None:
            return cls(value * Fraction(10) ** int(exponent), "DecimalExponent")
        if suffix in _BINARY:
            return cls(value * 1024 ** _BINARY[suffix], "BinarySI")
        return cls(value * Fraction(10) ** _DECIMAL[suffix or ""], "DecimalSI")

    def __add__(self, other: Quantity) -> Quantity:
        fmt = self.format if self.value != 0 else other.format
        return Quantity(self.value + other.value, fmt)

    def __mul__(self, factor: int) -> Quantity:
        return Quantity(self.value * factor, self.format)

    def ceil(self) -> int:
        """The value rounded up to a whole number (Go's ``Value()``), e.g. CPUs for `ray start`."""
        return math.ceil(self.value)

    def __str__(self) -> str:
        # Go keeps nano precision at most, rounding away from zero.
        value = (
            Fraction(math.ceil(self.value * 10**9), 10**9)
            if self.value >= 0
            else -Fraction(math.ceil(-self.value * 10**9), 10**9)
        )
        if value == 0:
            return "0"
        if self.format == "BinarySI" and value.denominator == 1 and abs(value) >= 1024:
            return _binary(int(value))
        return _decimal(value, exponent_form=self.format == "DecimalExponent")


def _binary(value: int) -> str:
    power = 0
    while power < 6 and value % 1024 == 0:
        value //= 1024
        power += 1
    return f"{value}{_BINARY_BY_EXP[power]}" if power else str(value)


def _decimal(value: Fraction, *, exponent_form: bool) -> str:
    # Smallest exponent (a multiple of 3, from -9) with an integral mantissa, then grow it while the
    # mantissa stays integral, up to 10^18.
    exponent = -9
    mantissa = value * 10**9
    mantissa_int = int(mantissa)  # exact: the caller rounded to nano precision
    while exponent < 18 and mantissa_int % 1000 == 0:
        mantissa_int //= 1000
        exponent += 3
    if exponent_form:
        return f"{mantissa_int}e{exponent}" if exponent else str(mantissa_int)
    return f"{mantissa_int}{_DECIMAL_BY_EXP[exponent]}"


ZERO = Quantity(Fraction(0))


def total(quantities: list[Quantity]) -> Quantity:
    """Sum, with Go's format rule (the first non-zero operand's format)."""
    result = ZERO
    for q in quantities:
        result = result + q
    return result
