"""Measurable properties: canonical unit, physical bounds and whether they can be censored.

A campaign may declare more in its ``[properties]`` table; these are the ones the reference
campaign (Cheng et al., Adv. Mater. 2023) measures.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Property(BaseModel):
    """A measurable property of a membrane.

    ``at_temperature``: values depend on the measurement temperature; a value logged without
    one is taken at the campaign's reference temperature (25 C for "room temperature").

    Attributes:
        unit: canonical unit values are stored in (``""`` for dimensionless).
        low, high: physical bounds of a valid value (inclusive; ``None`` for none).
        censorable: whether a value can be a lower bound (a cell still running).
        description: plain words, with the measurement.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: str = ""
    low: float | None = None
    high: float | None = None
    censorable: bool = False
    at_temperature: bool = False
    description: str = ""


BUILTIN_PROPERTIES: dict[str, Property] = {
    "ionic_conductivity": Property(
        unit="S/cm", low=0.0, at_temperature=True, description="ionic conductivity by EIS (S/cm)"
    ),
    "transference_number": Property(
        low=0.0,
        high=1.0,
        at_temperature=True,
        description="Li+ transference number t+ (Bruce-Vincent), 0-1",
    ),
    "li_symmetric_life": Property(
        unit="h",
        low=0.0,
        censorable=True,
        at_temperature=True,
        description="Li|Li symmetric-cell life at 0.1 mA/cm2 (h); censored while still running",
    ),
    "activation_energy": Property(unit="eV", low=0.0, description="Arrhenius activation energy"),
    "glass_transition": Property(unit="degC", low=-273.15, description="Tg by DSC (C)"),
    "crystallinity": Property(low=0.0, high=1.0, description="crystallinity index (XRD), 0-1"),
    "mobile_li_fraction": Property(low=0.0, high=1.0, description="mobile Li+ fraction, 7Li NMR"),
    "stability_window": Property(unit="V", low=0.0, description="oxidative stability by LSV (V)"),
    "film_formed": Property(low=0.0, high=1.0, description="1 if a free-standing film formed"),
}
