"""The virtual lab's ground truth: mechanisms and their calibration to the paper's numbers.

Everything it returns has provenance ``emulated``. It is built from the mechanisms Cheng et al.
(Adv. Mater. 2023) describe, each one small term below, and its free scale parameters are
*solved* so that, with noise off, it reproduces the numbers the paper states
(``campaigns/cheng2023/paper_measurements.csv``). What the paper does not state is a choice,
marked CHOICE and listed in ``campaigns/cheng2023/README.md``.

Mechanisms (in order of use):

1. dispersion ``D`` in [0, 1] from filler x solvent (x THF fraction): cluster chains disperse
   only in weakly polar THF/DCM, best at an interior THF fraction; they settle in ACN and DMF;
   common nanowires agglomerate everywhere; both bundle or agglomerate at high loading;
2. interfacial area per volume ``a = 4/d * phi`` (cylinders of diameter ``d``, inorganic
   volume fraction ``phi``), active area ``A = a * D``, and a saturating interface activity
   ``I = A / (A + A_half)``;
3. crystallinity and Tg fall with interface activity; salt (EO:Li) lowers crystallinity and
   raises Tg; salt dissociation has an EO:Li optimum;
4. conductivity = bulk path (activation ``E_bulk``, blocked by crystallinity) + interface path
   (activation ``E_int``, gain ``G * I``), times a volume-blocking factor, with a change of
   regime near PEO's melting point (a jump that grows with crystallinity);
5. t+, mobile-Li fraction and stability window rise with interface activity;
6. Li|Li life grows with conductivity, t+ and interface quality; it is right-censored at the
   test horizon;
7. films fail to form when the polymer does not dissolve in the solvent, with far too much
   nanowire, or with far too much salt.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from formulate.model.physics import interfacial_area, volume_fractions
from formulate.spec.variables import number

K_B = 8.617333e-5  # Boltzmann constant, eV/K
T_REF_C = 25.0
EA_FIT_RANGE_C = (25.0, 50.0)
"""Temperatures (C) over which activation energies are fitted: below PEO's melting regime."""

# --- shape choices (CHOICE: the paper gives no number) --------------------------------------
THF_OPTIMUM = 0.6  # CHOICE: best THF volume fraction for cluster-chain dispersion
THF_CURVATURE = 0.6  # CHOICE: dispersion lost at pure DCM (x=0): 0.6 of the best
DISPERSION = {  # CHOICE: (filler, solvent) -> best dispersion quality, 0-1
    ("cluster_chain", "THF_DCM"): 1.0,
    ("cluster_chain", "ACN"): 0.01,  # rapid settlement in strongly polar solvents (Fig. 2i)
    ("cluster_chain", "DMF"): 0.01,
    ("nanowire", "THF_DCM"): 0.35,  # large common nanowires agglomerate (no Tyndall path)
    ("nanowire", "ACN"): 0.30,
    ("nanowire", "DMF"): 0.30,
}
AGGLOMERATION_WT_PCT = {"cluster_chain": 4.0, "nanowire": 14.0}  # CHOICE: onset of bundling
INTERFACE_GAIN_BY_POLYMER = {"PEO": 1.0, "PVDF_HFP": 0.01, "PAN": 0.01}  # CHOICE (Fig. S11)
BULK_BY_POLYMER = {"PEO": 1.0, "PVDF_HFP": 0.6, "PAN": 0.4}  # CHOICE: relative bulk path
DISSOLVES = {  # polymer -> solvents that dissolve it (paper: PVDF-HFP, PAN need DMF-like)
    "PEO": {"THF_DCM", "ACN", "DMF"},
    "PVDF_HFP": {"ACN", "DMF"},
    "PAN": {"DMF"},
}
CRYSTALLINITY_BASE = {"PEO": 0.45, "PVDF_HFP": 0.35, "PAN": 0.10}  # CHOICE, at EO:Li 16
T_PLUS_BASE = {"PEO": 0.18, "PVDF_HFP": 0.25, "PAN": 0.30}  # CHOICE: no filler
WINDOW_BASE_V = {"PEO": 3.9, "PVDF_HFP": 4.5, "PAN": 4.8}  # CHOICE
EO_LI_OPTIMUM = 14.0  # CHOICE: salt dissociation optimum (EO:Li)
EO_LI_WIDTH = 0.45  # CHOICE: width of that optimum in ln(EO:Li)
MELT_C, MELT_WIDTH_C = 57.0, 1.5  # CHOICE: PEO melting regime (paper: near 60 C)
E_BULK_EV = 0.32  # PPSE's stated activation energy: the bulk path
CPCSE_TRUE_LIFE_H = 2200.0  # CHOICE: the paper's cell was still running at 1500 h
FILM_FAIL_NANOWIRE_WT_PCT = 14.0  # CHOICE: brittle film above this
FILM_FAIL_EO_LI = 7.0  # CHOICE: too much salt for a free-standing film below this

# Descriptors used when the campaign's table is not given (the cheng2023 values).
DEFAULT_FILLERS = {
    "none": {"diameter_nm": 0.0, "inorganic_mass_fraction": 0.0, "density_g_cm3": 0.0},
    "cluster_chain": {"diameter_nm": 0.95, "inorganic_mass_fraction": 0.5, "density_g_cm3": 6.5},
    "nanowire": {"diameter_nm": 70.0, "inorganic_mass_fraction": 0.5, "density_g_cm3": 6.5},
}

PAPER_MEMBRANES: dict[str, dict[str, Any]] = {
    "PPSE": {
        "filler": "none",
        "filler_wt_pct": None,
        "polymer": "PEO",
        "solvent": "THF_DCM",
        "thf_fraction": 0.5,
        "eo_li_ratio": 16.0,
    },
    "CNCSE": {
        "filler": "nanowire",
        "filler_wt_pct": 10.0,
        "polymer": "PEO",
        "solvent": "THF_DCM",
        "thf_fraction": 0.5,
        "eo_li_ratio": 16.0,
    },
    "CPCSE": {
        "filler": "cluster_chain",
        "filler_wt_pct": 2.5,
        "polymer": "PEO",
        "solvent": "THF_DCM",
        "thf_fraction": 0.5,
        "eo_li_ratio": 16.0,
    },
}
"""The paper's three membranes; THF fraction and EO:Li are the campaign's stated assumptions."""


@dataclass(frozen=True)
class Calibration:
    """Scale parameters solved against the paper's numbers (see :func:`calibration`).

    sigma0: bulk conductivity scale, S/cm. beta: bulk sensitivity to crystallinity.
    gain: interface gain G. area_half: A_half, nm^-1. e_int: interface activation, eV.
    melt_jump: melt-regime jump per unit crystallinity. life_*: ln-life model.
    t_plus_gain, t_plus_power: t+ = base + gain * I**power.
    """

    sigma0: float
    beta: float
    gain: float
    area_half: float
    e_int: float
    melt_jump: float
    life_c0: float
    life_sigma: float
    life_interface: float
    t_plus_gain: float
    t_plus_power: float


@dataclass(frozen=True)
class State:
    """Mechanism quantities of one formulation (no noise).

    ``interface`` is I in [0, 1); ``relative_interface`` is I (times the polymer's interface
    gain) relative to the paper's CPCSE, which anchors Tg, mobile-Li fraction and window.
    """

    formed: bool
    dispersion: float
    area_per_nm: float
    interface: float
    relative_interface: float
    crystallinity: float
    glass_transition_C: float
    salt: float
    blocking: float
    polymer: str


def dispersion(filler: str, solvent: str, thf_fraction: float, wt_pct: float) -> float:
    """Dispersion quality D in [0, 1]; 0 for no filler."""
    if filler == "none":
        return 0.0
    best = DISPERSION[(filler, solvent)]
    if filler == "cluster_chain" and solvent == "THF_DCM":
        best *= 1.0 - THF_CURVATURE * ((thf_fraction - THF_OPTIMUM) / THF_OPTIMUM) ** 2
    return best / (1.0 + (wt_pct / AGGLOMERATION_WT_PCT[filler]) ** 4)


def _interface(
    formulation: Mapping[str, Any], fillers: Mapping[str, Mapping[str, float]], cal: Calibration
) -> tuple[float, float, float, float]:
    """(dispersion D, area per volume a in nm^-1, interface activity I, filler volume fraction)."""
    filler, solvent = str(formulation["filler"]), str(formulation["solvent"])
    wt = number(formulation.get("filler_wt_pct"), 0.0) if filler != "none" else 0.0
    x = number(formulation.get("thf_fraction"), THF_OPTIMUM)
    desc = fillers[filler]
    phi_in, phi_total = volume_fractions(wt, desc["inorganic_mass_fraction"], desc["density_g_cm3"])
    d = dispersion(filler, solvent, x, wt)
    area = interfacial_area(phi_in, desc["diameter_nm"])
    active = area * d
    interface = active / (active + cal.area_half) if active > 0 else 0.0
    return d, area, interface, phi_total


def paper_interface(cal: Calibration | None = None) -> float:
    """Interface activity I of the paper's CPCSE: the anchor for Tg, mobile Li and window."""
    cal = cal or calibration()
    return _interface(PAPER_MEMBRANES["CPCSE"], DEFAULT_FILLERS, cal)[2]


def state(
    formulation: Mapping[str, Any],
    fillers: Mapping[str, Mapping[str, float]] | None = None,
    cal: Calibration | None = None,
) -> State:
    """The mechanism quantities for one formulation (see module docstring)."""
    cal = cal or calibration()
    fillers = fillers or DEFAULT_FILLERS
    filler, polymer, solvent = (str(formulation[k]) for k in ("filler", "polymer", "solvent"))
    wt = number(formulation.get("filler_wt_pct"), 0.0) if filler != "none" else 0.0
    r = number(formulation.get("eo_li_ratio"), 16.0)
    d, area, interface, phi_total = _interface(formulation, fillers, cal)
    relative = interface / paper_interface(cal) * INTERFACE_GAIN_BY_POLYMER[polymer]
    salt_crystal = (16.0 / r) ** 0.3  # more salt, less crystalline
    crystallinity = CRYSTALLINITY_BASE[polymer] / salt_crystal * (1 - 0.55 * interface)
    # Tg: salt raises it (-41.25 C at EO:Li 16 for PEO), interfaces lower it to CPCSE's -50.51 C
    tg = -60.0 + 300.0 / r - 9.26 * relative if polymer == "PEO" else -35.0 + 200.0 / r
    salt = math.exp(-((math.log(r / EO_LI_OPTIMUM)) ** 2) / (2 * EO_LI_WIDTH**2))
    formed = (
        solvent in DISSOLVES[polymer]
        and not (filler == "nanowire" and wt >= FILM_FAIL_NANOWIRE_WT_PCT)
        and r >= FILM_FAIL_EO_LI
    )
    return State(
        formed,
        d,
        area,
        interface,
        relative,
        min(max(crystallinity, 0.0), 0.95),
        tg,
        salt,
        (1 - phi_total) ** 1.5,
        polymer,
    )


def conductivity(s: State, temperature_C: float, cal: Calibration | None = None) -> float:
    """Ionic conductivity in S/cm at ``temperature_C`` (no noise)."""
    cal = cal or calibration()
    t_k, t0 = temperature_C + 273.15, T_REF_C + 273.15
    tau = (1 / t0 - 1 / t_k) / K_B  # 1/eV: Arrhenius exponent per eV
    bulk = (
        BULK_BY_POLYMER[s.polymer]
        * math.exp(-cal.beta * s.crystallinity)
        * math.exp(E_BULK_EV * tau)
    )
    gain = cal.gain * INTERFACE_GAIN_BY_POLYMER[s.polymer] * s.interface
    interface = gain * math.exp(cal.e_int * tau)
    melt = 1.0 / (1.0 + math.exp(-(temperature_C - MELT_C) / MELT_WIDTH_C))
    jump = 1.0 + cal.melt_jump * s.crystallinity * melt if s.polymer == "PEO" else 1.0
    return cal.sigma0 * s.salt * s.blocking * (bulk + interface) * jump


def activation_energy(s: State, cal: Calibration | None = None) -> float:
    """Arrhenius activation energy (eV) fitted over EA_FIT_RANGE_C (no noise)."""
    temps = np.linspace(*EA_FIT_RANGE_C, 6)
    sig = [conductivity(s, t, cal) for t in temps]
    slope = np.polyfit(1 / (temps + 273.15), np.log(sig), 1)[0]
    return float(-slope * K_B)


def transference(s: State, r: float, cal: Calibration | None = None) -> float:
    """Li+ transference number t+ (no noise): anions pinned at active interfaces."""
    cal = cal or calibration()
    gain = INTERFACE_GAIN_BY_POLYMER[s.polymer]
    t = T_PLUS_BASE[s.polymer] + cal.t_plus_gain * gain * s.interface**cal.t_plus_power
    return float(min(max(t * (r / 16.0) ** 0.08, 0.02), 0.95))


def life(sigma25: float, t_plus: float, s: State, cal: Calibration | None = None) -> float:
    """True Li|Li life at 0.1 mA/cm2 in h (before censoring, no noise)."""
    cal = cal or calibration()
    return math.exp(
        cal.life_c0
        + cal.life_sigma * math.log(sigma25)
        + math.log(t_plus)
        + cal.life_interface * s.interface
    )


def _calibration_targets(cal: Calibration) -> np.ndarray:
    """Residuals of the paper's stated numbers (ln-conductivity, eV, ln-life)."""
    st = {name: state(f, cal=cal) for name, f in PAPER_MEMBRANES.items()}
    s25 = {n: conductivity(s, 25.0, cal) for n, s in st.items()}
    s60 = {n: conductivity(s, 60.0, cal) for n, s in st.items()}
    tp = {n: transference(s, 16.0, cal) for n, s in st.items()}
    lives = {n: life(s25[n], tp[n], s, cal) for n, s in st.items()}
    return np.array(
        [
            math.log(s25["CPCSE"] / 5.2e-4),
            math.log(s60["CPCSE"] / 1.6e-3),
            math.log(s60["CNCSE"] / 9.1e-4),
            math.log(s60["PPSE"] / 0.8e-4),
            (activation_energy(st["CPCSE"], cal) - 0.11) * 10,
            (activation_energy(st["CNCSE"], cal) - 0.16) * 10,
            math.log(lives["PPSE"] / 180.0),
            math.log(lives["CNCSE"] / 400.0),
            math.log(lives["CPCSE"] / CPCSE_TRUE_LIFE_H),
            (tp["CPCSE"] - 0.62) * 10,
            (tp["CNCSE"] - 0.27) * 10,
        ]
    )


_START = Calibration(
    sigma0=1e-4,
    beta=5.0,
    gain=7.0,
    area_half=5e-4,
    e_int=0.08,
    melt_jump=5.0,
    life_c0=8.0,
    life_sigma=0.05,
    life_interface=1.0,
    t_plus_gain=0.46,
    t_plus_power=1.3,
)
_LOG_FIELDS = ("sigma0", "gain", "area_half")


@cache
def calibration() -> Calibration:
    """Solve the scale parameters against the paper's numbers (least squares; ~0.2 s, once)."""
    from scipy.optimize import least_squares

    names = list(Calibration.__dataclass_fields__)

    def unpack(v: np.ndarray) -> Calibration:
        vals = {
            n: (math.exp(x) if n in _LOG_FIELDS else float(x))
            for n, x in zip(names, v, strict=True)
        }
        return Calibration(**vals)

    start = np.array(
        [math.log(getattr(_START, n)) if n in _LOG_FIELDS else getattr(_START, n) for n in names]
    )
    lower = np.array([-30, 0, -5, -15, 0.0, 0, -50, 0.05, 0, 0.0, 0.3])
    upper = np.array([5, 30, 8, 0, 0.32, 50, 50, 1.0, 10, 0.8, 4.0])
    fit = least_squares(
        lambda v: _calibration_targets(unpack(v)),
        start,
        bounds=(lower, upper),
        xtol=1e-12,
        ftol=1e-12,
    )
    return unpack(fit.x)
