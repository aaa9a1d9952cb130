"""Virtual lab: a paper-calibrated emulator of membrane outcomes (a test bed, not physics).

Everything it returns has provenance ``emulated``. The ground truth (mechanisms and their
calibration to the numbers Cheng et al. state) is :mod:`formulate.lab.emulator`; this module
adds what a lab adds: measurement noise, films that fail, censoring at the test horizon.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from formulate.lab.emulator import (
    DEFAULT_FILLERS,
    DISPERSION,
    DISSOLVES,
    PAPER_MEMBRANES,
    T_REF_C,
    WINDOW_BASE_V,
    activation_energy,
    conductivity,
    life,
    state,
    transference,
)
from formulate.spec.variables import number


@dataclass(frozen=True)
class Noise:
    """Lab-like measurement noise (set all to 0 for the noise-free emulator).

    conductivity: log-normal sigma (0.10 = about 10%). t_plus: absolute sd. life: log-normal
    sigma (0.25 = about 25%). film_failure: chance that a film which should form fails anyway.
    """

    conductivity: float = 0.10
    t_plus: float = 0.03
    life: float = 0.25
    intermediates: float = 0.02
    film_failure: float = 0.02

    @classmethod
    def off(cls) -> Noise:
        return cls(0.0, 0.0, 0.0, 0.0, 0.0)


OUTCOMES = (
    "film_formed",
    "ionic_conductivity",
    "transference_number",
    "li_symmetric_life",
    "li_symmetric_life_censored",
    "activation_energy",
    "glass_transition",
    "crystallinity",
    "mobile_li_fraction",
    "stability_window",
)
"""Columns :meth:`VirtualLab.evaluate` returns (units: S/cm, -, h, bool, eV, C, -, -, V)."""


class VirtualLab:
    """The emulator as a lab: formulations in, emulated outcomes out.

    Args:
        seed: seed of the noise generator (same seed, same draws).
        noise: measurement noise; ``Noise.off()`` gives the calibrated truth.
        horizon_h: Li|Li test horizon in h; longer lives come back censored at it.
        temperature_C: measurement temperature for conductivity (t+ and life are at 25 C).
        fillers: filler descriptor table (the campaign's), default the paper's.
    """

    provenance = "emulated"

    def __init__(
        self,
        seed: int = 0,
        noise: Noise | None = None,
        horizon_h: float = 1500.0,
        temperature_C: float = T_REF_C,
        fillers: Mapping[str, Mapping[str, float]] | None = None,
    ) -> None:
        self.rng = np.random.default_rng(seed)
        self.noise = noise if noise is not None else Noise()
        self.horizon_h = horizon_h
        self.temperature_C = temperature_C
        self.fillers = fillers or DEFAULT_FILLERS

    def reseed(self, seed: int) -> None:
        """Restart the noise generator (same seed, same draws from here on)."""
        self.rng = np.random.default_rng(seed)

    def evaluate(self, formulation: Mapping[str, Any]) -> dict[str, Any]:
        """Outcomes of one membrane; a failed film has only ``film_formed`` = 0."""
        n = self.noise
        s = state(formulation, self.fillers)
        if not s.formed or self.rng.random() < n.film_failure:
            return {"film_formed": 0.0, **{k: None for k in OUTCOMES[1:]}}
        r = number(formulation.get("eo_li_ratio"), 16.0)
        sigma_t = conductivity(s, self.temperature_C)
        sigma25 = conductivity(s, T_REF_C)
        tp_true = transference(s, r)
        true_life = life(sigma25, tp_true, s)
        ln_noise = self.rng.normal(size=3)
        tp = float(np.clip(tp_true + n.t_plus * self.rng.normal(), 0.01, 0.99))
        measured_life = true_life * math.exp(n.life * ln_noise[2])
        censored = measured_life >= self.horizon_h
        rel = s.relative_interface
        return {
            "film_formed": 1.0,
            "ionic_conductivity": sigma_t * math.exp(n.conductivity * ln_noise[0]),
            "transference_number": tp,
            "li_symmetric_life": min(measured_life, self.horizon_h),
            "li_symmetric_life_censored": bool(censored),
            "activation_energy": activation_energy(s) * (1 + n.intermediates * ln_noise[1]),
            "glass_transition": s.glass_transition_C + 50 * n.intermediates * self.rng.normal(),
            "crystallinity": float(
                np.clip(s.crystallinity + n.intermediates * self.rng.normal(), 0, 1)
            ),
            # no filler: 0.20 (CHOICE); CPCSE: the stated 0.507 and 5.1 V
            "mobile_li_fraction": float(
                np.clip(0.20 + (0.507 - 0.20) * rel + n.intermediates * self.rng.normal(), 0, 1)
            ),
            "stability_window": WINDOW_BASE_V[s.polymer]
            + (5.1 - 3.9) * rel
            + 5 * n.intermediates * self.rng.normal(),
        }

    canonical_units = True
    """:meth:`measure` gives numbers in canonical units under bare headers."""

    def measure(self, batch: pd.DataFrame) -> pd.DataFrame:
        """Outcomes for every row of ``batch`` (a ``membrane`` column and the formulation
        variables), as a wide table in canonical units with ``li_symmetric_life_censored``."""
        rows = []
        for rec in batch.to_dict("records"):
            out = self.evaluate(rec)
            rows.append({"membrane": rec.get("membrane"), **out})
        return pd.DataFrame(rows, columns=["membrane", *OUTCOMES])


def unsupported(names: list[str], levels: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """What of a design space the emulator cannot answer: ``(variable, what)`` pairs for a
    missing ``filler``/``polymer``/``solvent`` variable or a level it has no mechanism for
    (``names``: the space's variables; ``levels``: each categorical's levels)."""
    known = {
        "filler": {f for f, _ in DISPERSION} | {"none"},
        "polymer": set(DISSOLVES),
        "solvent": {sv for _, sv in DISPERSION},
    }
    out = []
    for var, allowed in known.items():
        if var not in names:
            out.append((var, "missing: the virtual lab emulates filler x polymer x solvent"))
            continue
        for level in levels.get(var, []):
            if level not in allowed:
                out.append((var, f"level '{level}' has no mechanism in the virtual lab"))
    return out


FILLER_RATIO_WT_PCT = (2.5, 5.0, 7.5, 10.0, 12.5)


def filler_ratio_table() -> pd.DataFrame:
    """The paper's Fig. S16 series at 25 C: cluster chain and nanowire at 2.5-12.5 wt% plus
    PPSE. Only CPCSE at 2.5 wt% is a number the text states (5.2e-4 S/cm); every other row is
    the noise-free emulator, marked ``emulated``. Replace those with digitized values from the
    Supporting Information when it is available (keep provenance ``stated``, note the figure).
    """
    rows: list[tuple[str, str, float | None]] = [("PPSE", "none", None)]
    rows += [
        (f"{'CP' if f == 'cluster_chain' else 'CN'}{w:g}", f, w)
        for f in ("cluster_chain", "nanowire")
        for w in FILLER_RATIO_WT_PCT
    ]
    records = []
    for membrane, filler, wt in rows:
        formulation = {**PAPER_MEMBRANES["PPSE"], "filler": filler, "filler_wt_pct": wt}
        stated = filler == "cluster_chain" and wt == 2.5
        sigma = 5.2e-4 if stated else conductivity(state(formulation), T_REF_C)
        records.append(
            {
                "membrane": membrane,
                **formulation,
                "ionic_conductivity [S/cm]": float(f"{sigma:.4g}"),
                "provenance": "stated" if stated else "emulated",
                "notes": "stated: abstract; Fig. S11; Fig. S16 peak"
                if stated
                else "emulated by formulate's virtual lab (noise off), not read from the paper",
            }
        )
    return pd.DataFrame.from_records(records)
