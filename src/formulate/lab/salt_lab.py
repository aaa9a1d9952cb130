"""A virtual PEO-salt lab: emulated ionic conductivity of PEO/LiX electrolytes for any salt of
the shipped descriptor table, at any molality and temperature (a test bed, not physics).

It exists to test how a planner copes with a categorical of many levels that carry
descriptors and with a variable that spans decades (``campaigns/peo_salts``). Everything it
returns has provenance ``emulated``; no number here is a measurement. The mechanisms are the
textbook picture of salt-in-polymer electrolytes, with round constants chosen so that
PEO/LiTFSI near EO:Li 20 gives about 2e-4 S/cm at 60 C and 1e-5 S/cm at 25 C:

* free-ion fraction: larger anions, and anions whose charge is spread over fluorine atoms,
  pair less with Li+ (a logistic in ``anion_volume_A3 + 6 * anion_fluorine_count``); pairing
  grows with molality;
* segmental mobility: Vogel-Tammann-Fulcher, ``exp(-B / (T - T0))``, with T0 rising with
  molality (the salt stiffens PEO) less for large, plasticising anions;
* crystallinity: below PEO's melting point (60 C) part of the polymer is crystalline and
  blocks conduction, less so with more salt and larger anions.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from formulate.spec.levels import read_level_table, table_path

SALT_TABLE = "formulate:lithium_salts"
PREFACTOR_S_CM = 0.165
"""S/cm per mol/kg of free ions at unit mobility (sets LiTFSI near 2e-4 S/cm at 60 C)."""
VTF_B_K, VTF_T0_K, T0_PER_MOLAL_K = 900.0, 165.0, 35.0
PEO_MELTING_K = 333.15
PAIRING_PER_MOLAL = 0.3
NOISE_LOG10 = 0.05
"""Measurement scatter of a conductivity, log10 units (about 12%)."""
MOLALITIES = (0.05, 0.0898, 0.161, 0.29, 0.521, 0.935, 1.68, 3.0)
"""mol/kg of PEO: log-spaced from EO:Li about 450 down to 7.6."""
TEMPERATURES_C = (25.0, 40.0, 60.0, 80.0)


def salts() -> dict[str, dict[str, float]]:
    """The shipped salt table: ``{salt: {descriptor: value}}``."""
    path = table_path(SALT_TABLE, Path("."))
    levels, problems = read_level_table(path, SALT_TABLE)
    assert not problems, problems
    return levels


def conductivity(salt: dict[str, float], molality: float, temperature_c: float) -> float:
    """Noise-free conductivity, S/cm, of PEO with ``molality`` mol/kg of a salt (its
    descriptors) at ``temperature_c``."""
    size = salt["anion_volume_A3"] + 6.0 * salt["anion_fluorine_count"]
    free = 1.0 / (1.0 + math.exp(-(size - 90.0) / 25.0)) / (1.0 + PAIRING_PER_MOLAL * molality)
    plasticising = min(max((salt["anion_volume_A3"] - 100.0) / 100.0, 0.0), 1.0)
    t_kelvin = temperature_c + 273.15
    t0 = VTF_T0_K + T0_PER_MOLAL_K * molality * (1.0 - 0.4 * plasticising)
    mobility = math.exp(-VTF_B_K / (t_kelvin - t0))
    crystalline = 0.0
    if t_kelvin < PEO_MELTING_K:
        crystalline = min(max(0.7 - 0.35 * molality * (1.0 + plasticising), 0.0), 0.7)
    return PREFACTOR_S_CM * free * molality * mobility * 10.0 ** (-2.0 * crystalline)


def pool(seed: int = 0) -> pd.DataFrame:
    """Every salt at every molality and temperature of the grid, each measured once with
    noise (``seed``): the shipped test pool ``campaigns/peo_salts/pool.csv``."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, salt in salts().items():
        for m in MOLALITIES:
            for t in TEMPERATURES_C:
                sigma = conductivity(salt, m, t) * 10.0 ** rng.normal(0.0, NOISE_LOG10)
                rows.append(
                    {
                        "salt": name,
                        "molality [mol/kg]": m,
                        "temperature [C]": t,
                        "ionic_conductivity [S/cm]": float(f"{sigma:.4g}"),
                        "provenance": "emulated",
                    }
                )
    return pd.DataFrame(rows)


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("campaigns/peo_salts/pool.csv")
    pool().to_csv(out, index=False)
    print(f"Written: {out}")
