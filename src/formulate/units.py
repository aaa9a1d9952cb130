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

import numpy as np
import pint

SIGNIFICANT = 3
"""Significant digits in views (a measured conductivity or t+ rarely carries more)."""

NUMBER = re.compile(
    r"^\s*(?P<censor>>=|≥|>)?\s*(?P<num>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*(?P<unit>.*?)\s*$"
)
_SUPERSCRIPTS = str.maketrans("⁻⁺⁰¹²³⁴⁵⁶⁷⁸⁹−", "-+0123456789-")
_TIMES_TEN = re.compile(r"(?<=[\d.])\s*[×xX·*]\s*10\s*(?:\^|\*\*)\s*([-+]?\d+)")
_SUPERSCRIPT_POWER = re.compile(r"(?<=[\d.])\s*[×xX·*]\s*10([⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)")
_PER_UNIT = re.compile(r"[\s·*]*([A-Za-zµμ]+)\^?-1(?![\d])")
_TEMPERATURE_ALIASES = {"C": "degC", "°C": "degC", "K": "kelvin", "F": "degF", "°F": "degF"}
_KEPT_DIGITS = 12
"""Significant digits a converted value keeps: every figure a lab measures, without the binary
rounding of the conversion (0.52 mS/cm is stored as 0.00052 S/cm, not 0.0005200000000000001)."""
_DIMENSIONLESS = {"", "1", "-", "fraction"}
MAX_UNIT = 40
"""Longest unit text read (``mS/cm``, ``mol/kg``, ``S cm^-1`` are far shorter)."""


@cache
def registry() -> pint.UnitRegistry:
    """The one pint registry formulate uses, built once per process from pint's parsed
    definitions cached on disk (0.02 s instead of 0.2 s; a command's first conversion pays
    it), or parsed afresh where no cache can be written."""
    try:
        return pint.UnitRegistry(cache_folder=":auto:")
    except OSError:  # a read-only home: no cache
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
    if len(unit) > MAX_UNIT:  # before pint, whose parser takes minutes on a 1 MB "unit"
        raise ValueError(f"cannot read a unit of {len(unit)} characters (at most {MAX_UNIT})")
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
    return float(f"{offset + scale * value:.{_KEPT_DIGITS}g}")


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


def lab_notation(text: str) -> str:
    """A cell as a lab writes it, in the form :func:`parse_value` reads: ``3.8×10^-4 S/cm``
    and ``3.8×10⁻⁴ S/cm`` become ``3.8e-4 S/cm``; ``0.31 mS cm-1`` and ``mS·cm⁻¹`` become
    ``mS/cm``; a unicode minus is a minus."""
    text = _SUPERSCRIPT_POWER.sub(lambda m: "e" + m[1].translate(_SUPERSCRIPTS), text)
    text = _TIMES_TEN.sub(r"e\1", text.translate(_SUPERSCRIPTS))
    return _PER_UNIT.sub(r"/\1", text)


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
    match = NUMBER.match(lab_notation(str(text)))
    if not match:
        raise ValueError(f"'{text}' is not a number (write e.g. 5.2e-4, '0.52 mS/cm' or '>1500 h')")
    value = float(match["num"])
    cell_unit = match["unit"] or unit
    return Parsed(convert(value, cell_unit, canonical), bool(match["censor"]))


def significant(value: object, digits: int = SIGNIFICANT) -> str:
    """``value`` as text with ``digits`` significant digits and no float noise: 0.52, 1500,
    0.000123 (1.23e-07 below 1e-4, 1.23e+06 at a million and above); "" for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return str(value)
    return f"{float(f'{float(value):.{digits}g}'):g}"


def round_significant(values: object, digits: int = SIGNIFICANT) -> np.ndarray:
    """``values`` (array-like) rounded to ``digits`` significant digits, NaN kept: numbers for
    tables that sort."""
    x = np.asarray(values, dtype=float)
    out = x.copy()
    ok = np.isfinite(x) & (x != 0)
    scale = 10.0 ** (digits - 1 - np.floor(np.log10(np.abs(x[ok]))))
    out[ok] = np.round(x[ok] * scale) / scale
    return out
