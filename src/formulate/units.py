"""Parse measured values written with units (``0.52 mS/cm``, ``>1500 h``) into canonical units.

Unit arithmetic is pint's; this module only adds the lab conventions: a leading ``>`` or
``≥`` marks a right-censored value (a cell still running), and a bare ``C`` on a temperature
means degrees Celsius, not coulombs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

import pint

_NUMBER = re.compile(
    r"^\s*(?P<censor>>=|≥|>)?\s*(?P<num>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*(?P<unit>.*?)\s*$"
)
_TEMPERATURE_ALIASES = {"C": "degC", "°C": "degC", "K": "kelvin", "F": "degF", "°F": "degF"}
_DIMENSIONLESS = {"", "1", "-", "fraction"}


@cache
def registry() -> pint.UnitRegistry:
    """The one pint registry formulate uses (built once; about 0.1 s)."""
    return pint.UnitRegistry()


@dataclass(frozen=True)
class Parsed:
    """A value in canonical units, and whether it is a lower bound (right-censored)."""

    value: float
    censored: bool


def _is_temperature(unit: str) -> bool:
    return unit in {"degC", "kelvin", "degF"}


def convert(value: float, unit: str | None, canonical: str) -> float:
    """Convert ``value`` given in ``unit`` to ``canonical``.

    Raises:
        ValueError: the unit is unknown or of another dimension (message says which).
    """
    unit = (unit or "").strip()
    canonical_unit = _TEMPERATURE_ALIASES.get(canonical, canonical)
    if unit in _DIMENSIONLESS and canonical in _DIMENSIONLESS:
        return value
    if unit == "%" and canonical in _DIMENSIONLESS:
        return value / 100.0
    if not unit or unit == canonical:
        return value
    if _is_temperature(canonical_unit):
        unit = _TEMPERATURE_ALIASES.get(unit, unit)
    offset, scale = _affine(unit, canonical_unit if canonical not in _DIMENSIONLESS else "")
    return offset + scale * value


@cache
def _affine(unit: str, canonical: str) -> tuple[float, float]:
    """``(offset, scale)`` with ``value in canonical = offset + scale * value in unit``: every
    unit pint converts is affine (temperatures have an offset), so two points give it; pint
    runs once per pair of units (an import of 100,000 cells converts in microseconds each)."""
    ureg = registry()
    try:
        zero, one = (float(ureg.Quantity(x, unit).to(canonical).m) for x in (0.0, 1.0))
    except (pint.UndefinedUnitError, pint.DimensionalityError, AttributeError) as err:
        raise ValueError(f"cannot read unit '{unit}' as {canonical or 'a plain number'}") from err
    except (ValueError, TypeError, AssertionError) as err:  # pint's parser on garbage
        raise ValueError(f"cannot read unit '{unit}'") from err
    return zero, one - zero


def parse_value(text: object, canonical: str, unit: str | None = None) -> Parsed:
    """Read one cell: a number, optionally with a unit and a leading ``>`` for censoring.

    Args:
        text: ``5.2e-4``, ``"0.52 mS/cm"``, ``">1500 h"``, or a float.
        canonical: the property's canonical unit (``"S/cm"``, ``"h"``, ``""``).
        unit: the column's unit, used when the cell has none.

    Raises:
        ValueError: not a number, or a unit that does not fit (message says which).
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"'{text}' is not a finite number")
        return Parsed(convert(value, unit, canonical), False)
    match = _NUMBER.match(str(text))
    if not match:
        raise ValueError(f"'{text}' is not a number (write e.g. 5.2e-4, '0.52 mS/cm' or '>1500 h')")
    value = float(match["num"])
    cell_unit = match["unit"] or unit
    return Parsed(convert(value, cell_unit, canonical), bool(match["censor"]))
