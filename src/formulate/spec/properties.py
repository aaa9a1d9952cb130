"""Measurable properties: canonical unit, physical bounds and whether they can be censored.

A campaign may declare more in its ``[properties]`` table; these are the ones the reference
campaign (Cheng et al., Adv. Mater. 2023) measures.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from formulate.units import convert

MAX_MAGNITUDE = 1e15
"""Largest magnitude any measured value may have, in its canonical unit (1e300 is a typo)."""
TEMPERATURE_RANGE_C = (-100.0, 400.0)
"""Measurement temperatures a lab uses (C, inclusive); others are refused."""


class Property(BaseModel):
    """A measurable property of a membrane.

    ``at_temperature``: values depend on the measurement temperature; a value logged without
    one is taken at the campaign's reference temperature (25 C for "room temperature").

    Attributes:
        unit: canonical unit values are stored in (``""`` for dimensionless).
        low, high: physical bounds of a valid value (inclusive; ``None`` for none): a value
            outside them is refused, always.
        plausible_low, plausible_high: what a lab can measure (inclusive; ``None``: the
            physical bound). A value outside them but within the physical bounds is stored only
            when the person says it is real (``--surprising`` in the CLI, a tick in the app).
        whole: the value is 0 or a whole number (``film_formed``: 0 or 1).
        censorable: whether a value can be a lower bound (a cell still running).
        description: plain words, with the measurement.
        label: the short name a lab uses in tables (``t+``); empty: the property's name.
        display_unit: the unit people read values in (``mS/cm``); empty: ``unit``. A campaign
            may choose another under ``[display_units]``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    unit: str = ""
    low: float | None = None
    high: float | None = None
    plausible_low: float | None = None
    plausible_high: float | None = None
    whole: bool = False
    censorable: bool = False
    at_temperature: bool = False
    description: str = ""
    label: str = ""
    display_unit: str = ""

    def refusal(
        self, name: str, value: float, surprising: bool = False, shown: str | None = None
    ) -> tuple[str, str] | None:
        """Why ``value`` (in ``unit``) cannot be stored as a ``name``, and the fix; None when it
        can. ``surprising``: the person confirmed a value outside the plausible range.
        ``shown``: the unit the message gives numbers in (default ``unit``)."""
        shown = self.unit if shown is None else shown

        def said(x: float | None) -> float | None:
            return None if x is None else convert(x, self.unit, shown)

        unit = f" {shown}" if shown else ""
        if not math.isfinite(value):
            fix = f"write a number in {shown}" if shown else "write a number"
            return f"{name} {value} is not a finite number", fix
        if abs(value) > MAX_MAGNITUDE:
            return f"{name} {value:g} {self.unit} is too large to be a measurement", _CHECK
        if not _within(value, self.low, self.high):
            span = _span(said(self.low), said(self.high))
            return (
                f"{name} {said(value):g}{unit} is outside its physical range {span}{unit}",
                _CHECK,
            )
        if self.whole and value != round(value):
            return f"{name} {value:g} is not a whole number", "write 0 or 1"
        low = self.low if self.plausible_low is None else self.plausible_low
        high = self.high if self.plausible_high is None else self.plausible_high
        if not surprising and not _within(value, low, high):
            return (
                f"{name} {said(value):g}{unit} is outside what a lab measures "
                f"({_span(said(low), said(high))}{unit}); nothing was stored",
                "check the number and its unit (mS/cm is not S/cm); if the value is real, "
                "confirm it as surprising (CLI: --surprising; app: tick the box that says the "
                "value is real)",
            )
        return None


_CHECK = "check the value and its unit"


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _span(low: float | None, high: float | None) -> str:
    if high is None:
        return f">= {low:g}"
    return f"<= {high:g}" if low is None else f"{low:g} to {high:g}"


def temperature_refusal(temperature_C: float) -> tuple[str, str] | None:
    """Why a measurement temperature (C) cannot be stored, and the fix; None when it can."""
    low, high = TEMPERATURE_RANGE_C
    if math.isfinite(temperature_C) and low <= temperature_C <= high:
        return None
    return (
        f"temperature {temperature_C:g} C is outside {low:g} to {high:g} C",
        "give the measurement temperature in C",
    )


BUILTIN_PROPERTIES: dict[str, Property] = {
    "ionic_conductivity": Property(
        unit="S/cm",
        low=0.0,
        plausible_high=0.1,
        at_temperature=True,
        description="ionic conductivity by EIS (S/cm)",
        label="conductivity",
        display_unit="mS/cm",
    ),
    "transference_number": Property(
        low=0.0,
        high=1.0,
        at_temperature=True,
        description="Li+ transference number t+ (Bruce-Vincent), 0-1",
        label="t+",
    ),
    "li_symmetric_life": Property(
        unit="h",
        low=0.0,
        plausible_high=1e5,
        censorable=True,
        at_temperature=True,
        description="Li|Li symmetric-cell life at 0.1 mA/cm2 (h); censored while still running",
        label="Li|Li life",
    ),
    "activation_energy": Property(
        unit="eV",
        low=0.0,
        plausible_high=5.0,
        description="Arrhenius activation energy",
        label="Ea",
    ),
    "glass_transition": Property(
        unit="degC",
        low=-273.15,
        plausible_low=-150.0,
        plausible_high=400.0,
        description="Tg by DSC (C)",
        label="Tg",
    ),
    "crystallinity": Property(low=0.0, high=1.0, description="crystallinity index (XRD), 0-1"),
    "mobile_li_fraction": Property(
        low=0.0, high=1.0, description="mobile Li+ fraction, 7Li NMR", label="mobile Li+"
    ),
    "stability_window": Property(
        unit="V",
        low=0.0,
        plausible_high=10.0,
        description="oxidative stability by LSV (V)",
        label="stability window",
    ),
    "film_formed": Property(
        low=0.0,
        high=1.0,
        whole=True,
        description="1 if a free-standing film formed, else 0",
        label="film formed",
    ),
}
