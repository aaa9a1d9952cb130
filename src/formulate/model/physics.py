"""Physics features: descriptors of a formulation computed from the campaign's level tables.

Each feature has a unit and a hand-checkable formula (see the tests). Inactive variables are
handled as physics says, never as NaN: no filler means zero volume fraction and zero area.

Level descriptors used (from the campaign file): filler ``diameter_nm``, ``length_nm``,
``inorganic_mass_fraction``, ``density_g_cm3`` (of the inorganic core); solvent
``dielectric_constant``.

No feature encodes a rule of formulate's virtual lab: whether a filler disperses in a solvent
is what a lab states (``[[film_risks]]``) or measures, never a feature computed here (an
earlier ``dispersion_compatible`` was exactly the emulator's hidden rule and was removed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from formulate.spec.campaign import Campaign
from formulate.spec.variables import number

MATRIX_DENSITY_G_CM3 = 1.3
"""Density of the polymer + salt matrix (PEO/LiTFSI), g/cm3."""
ORGANIC_DENSITY_G_CM3 = 0.9
"""Density of the oleylamine/oleic-acid shell on the filler, g/cm3."""
EO_MOLAR_MASS = 44.05  # g/mol of one ethylene-oxide repeat unit
LITFSI_MOLAR_MASS = 287.09  # g/mol
THF_DIELECTRIC, DCM_DIELECTRIC = 7.58, 8.93  # relative permittivity at 20-25 C
ROD_PERCOLATION_CONSTANT = 0.7
"""Isotropic slender rods percolate near phi_c = 0.7 / aspect ratio (excluded-volume limit)."""

FEATURES = {
    "filler_volume_fraction": "-",
    "inorganic_volume_fraction": "-",
    "interfacial_area_per_volume": "1/nm",
    "aspect_ratio": "-",
    "percolation_ratio": "-",
    "salt_mass_fraction": "-",
    "solvent_dielectric": "-",
}
"""Feature name -> unit."""


def volume_fractions(
    wt_pct: float, inorganic_mass_fraction: float, density_g_cm3: float
) -> tuple[float, float]:
    """(inorganic, whole filler) volume fractions of a membrane with ``wt_pct`` filler.

    The filler (inorganic core + organic shell) is ``wt_pct`` of the membrane's mass; the
    rest is matrix. Volumes are masses over densities. Zero filler gives (0, 0).
    """
    w = wt_pct / 100.0
    if w <= 0 or inorganic_mass_fraction <= 0 or density_g_cm3 <= 0:
        return 0.0, 0.0
    v_inorganic = w * inorganic_mass_fraction / density_g_cm3
    v_organic = w * (1 - inorganic_mass_fraction) / ORGANIC_DENSITY_G_CM3
    total = v_inorganic + v_organic + (1 - w) / MATRIX_DENSITY_G_CM3
    return v_inorganic / total, (v_inorganic + v_organic) / total


def interfacial_area(inorganic_fraction: float, diameter_nm: float) -> float:
    """Inorganic surface per membrane volume, 1/nm: long cylinders give 4/d times phi."""
    return 4.0 / diameter_nm * inorganic_fraction if diameter_nm > 0 else 0.0


def salt_mass_fraction(eo_li_ratio: float) -> float:
    """LiTFSI mass fraction of polymer + salt at an EO:Li molar ratio."""
    return LITFSI_MOLAR_MASS / (LITFSI_MOLAR_MASS + eo_li_ratio * EO_MOLAR_MASS)


def solvent_dielectric(
    solvent: str, thf_fraction: float | None, table: Mapping[str, float]
) -> float:
    """Relative permittivity of the casting solvent; THF:DCM by volume-fraction mixing."""
    if solvent == "THF_DCM" and thf_fraction is not None:
        return thf_fraction * THF_DIELECTRIC + (1 - thf_fraction) * DCM_DIELECTRIC
    return float(table["dielectric_constant"])


def formulation_features(campaign: Campaign, formulation: Mapping[str, Any]) -> dict[str, float]:
    """The features of one formulation of a campaign with ``filler`` and ``solvent`` levels."""
    space = campaign.space
    filler = space.levels("filler")[str(formulation["filler"])]
    solvent = str(formulation["solvent"])
    wt = number(formulation.get("filler_wt_pct")) or 0.0
    phi_in, phi_total = volume_fractions(
        wt, filler["inorganic_mass_fraction"], filler["density_g_cm3"]
    )
    diameter = filler["diameter_nm"]
    aspect = filler["length_nm"] / diameter if diameter > 0 else 0.0
    threshold = ROD_PERCOLATION_CONSTANT / aspect if aspect > 0 else math.inf
    eps = solvent_dielectric(
        solvent, number(formulation.get("thf_fraction")), space.levels("solvent")[solvent]
    )
    ratio = number(formulation.get("eo_li_ratio"))
    return {
        "filler_volume_fraction": phi_total,
        "inorganic_volume_fraction": phi_in,
        "interfacial_area_per_volume": interfacial_area(phi_in, diameter),
        "aspect_ratio": aspect,
        "percolation_ratio": phi_total / threshold,
        "salt_mass_fraction": salt_mass_fraction(ratio) if ratio else 0.0,
        "solvent_dielectric": eps,
    }


def features(campaign: Campaign, table: pd.DataFrame) -> pd.DataFrame:
    """Features for every row of ``table`` (formulation columns), same index; units in
    :data:`FEATURES`."""
    rows = [formulation_features(campaign, rec) for rec in table.to_dict("records")]
    return pd.DataFrame(rows, index=table.index, columns=list(FEATURES))
