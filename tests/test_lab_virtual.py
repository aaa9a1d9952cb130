"""The virtual lab reproduces the paper (noise off), and its noise and censoring are lab-like."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from formulate.lab.virtual import (
    PAPER_MEMBRANES,
    Noise,
    VirtualLab,
    activation_energy,
    conductivity,
    filler_ratio_table,
    state,
)
from formulate.testing import TEMPLATE, formulation

TRUTH = VirtualLab(noise=Noise.off())


def sigma(name_or_formulation: str | dict, temperature_C: float = 25.0) -> float:
    f = (
        PAPER_MEMBRANES[name_or_formulation]
        if isinstance(name_or_formulation, str)
        else name_or_formulation
    )
    return conductivity(state(f), temperature_C)


def test_conductivity_at_25_and_60_C_matches_the_paper() -> None:
    assert sigma("CPCSE") == pytest.approx(5.2e-4, rel=0.10)
    assert sigma("CPCSE", 60) == pytest.approx(1.6e-3, rel=0.15)
    assert sigma("CNCSE", 60) == pytest.approx(9.1e-4, rel=0.15)
    assert sigma("PPSE", 60) == pytest.approx(0.8e-4, rel=0.15)
    assert sigma("PPSE") < sigma("CNCSE") < sigma("CPCSE")


def test_filler_ratio_peaks_where_fig_s16_says() -> None:
    grid = [2.5, 5.0, 7.5, 10.0, 12.5]
    for filler, peak in [("cluster_chain", 2.5), ("nanowire", 10.0)]:
        curve = [sigma(formulation(filler=filler, filler_wt_pct=w)) for w in grid]
        assert grid[int(np.argmax(curve))] == peak, (filler, curve)


def test_transference_and_activation_energy() -> None:
    out = {n: TRUTH.evaluate(f) for n, f in PAPER_MEMBRANES.items()}
    assert out["CPCSE"]["transference_number"] == pytest.approx(0.62, abs=0.03)
    assert out["CNCSE"]["transference_number"] == pytest.approx(0.27, abs=0.03)
    for name, ea in [("CPCSE", 0.11), ("CNCSE", 0.16), ("PPSE", 0.32)]:
        assert out[name]["activation_energy"] == pytest.approx(ea, abs=0.03), name


def test_activation_energy_is_an_arrhenius_fit_of_its_own_curve() -> None:
    s = state(PAPER_MEMBRANES["CPCSE"])
    temps = np.array([25.0, 35.0, 45.0, 50.0])
    slope = np.polyfit(1 / (temps + 273.15), np.log([conductivity(s, t) for t in temps]), 1)[0]
    assert -slope * 8.617333e-5 == pytest.approx(activation_energy(s), abs=0.005)


def test_life_and_censoring_at_the_horizon() -> None:
    out = {n: TRUTH.evaluate(f) for n, f in PAPER_MEMBRANES.items()}
    assert out["CPCSE"]["li_symmetric_life"] == 1500 and out["CPCSE"]["li_symmetric_life_censored"]
    assert out["CNCSE"]["li_symmetric_life"] == pytest.approx(400, rel=0.20)
    assert out["PPSE"]["li_symmetric_life"] == pytest.approx(180, rel=0.20)
    assert not out["CNCSE"]["li_symmetric_life_censored"]
    long_test = VirtualLab(noise=Noise.off(), horizon_h=5000).evaluate(PAPER_MEMBRANES["CPCSE"])
    assert 1500 < long_test["li_symmetric_life"] < 5000
    assert not long_test["li_symmetric_life_censored"]


def test_fig_s11_orderings() -> None:
    cncse = sigma("CNCSE")
    assert sigma(formulation(solvent="ACN", thf_fraction=None)) < cncse
    for polymer in ("PVDF_HFP", "PAN"):
        cc = sigma(formulation(polymer=polymer, solvent="DMF", thf_fraction=None))
        nw = sigma(
            formulation(filler="nanowire", polymer=polymer, solvent="DMF", thf_fraction=None)
        )
        assert abs(cc - nw) / max(cc, nw) < 0.20, polymer


def test_intermediates_order_and_values() -> None:
    out = {n: TRUTH.evaluate(f) for n, f in PAPER_MEMBRANES.items()}
    tg = {n: o["glass_transition"] for n, o in out.items()}
    chi = {n: o["crystallinity"] for n, o in out.items()}
    assert tg["PPSE"] > tg["CNCSE"] > tg["CPCSE"]
    assert chi["PPSE"] > chi["CNCSE"] > chi["CPCSE"]
    assert tg["CPCSE"] == pytest.approx(-50.51, abs=1.0)
    assert out["CPCSE"]["mobile_li_fraction"] == pytest.approx(0.507, abs=0.02)
    assert out["CPCSE"]["stability_window"] == pytest.approx(5.1, abs=0.1)


def test_films_that_cannot_form_fail() -> None:
    for bad in (
        formulation(polymer="PAN"),
        formulation(filler="nanowire", filler_wt_pct=15),
        formulation(eo_li_ratio=6),
    ):
        out = TRUTH.evaluate(bad)
        assert out["film_formed"] == 0 and out["ionic_conductivity"] is None


def test_noise_is_lab_like_and_seeded() -> None:
    f = PAPER_MEMBRANES["CNCSE"]
    lab = VirtualLab(seed=7, noise=Noise(film_failure=0.0))
    draws = pd.DataFrame([lab.evaluate(f) for _ in range(200)])
    truth = TRUTH.evaluate(f)
    log_sigma = np.log(draws["ionic_conductivity"].astype(float))
    assert log_sigma.mean() == pytest.approx(np.log(truth["ionic_conductivity"]), abs=0.03)
    assert log_sigma.std() == pytest.approx(0.10, abs=0.02)
    tp = draws["transference_number"].astype(float)
    assert tp.mean() == pytest.approx(truth["transference_number"], abs=0.01)
    assert tp.std() == pytest.approx(0.03, abs=0.008)
    assert np.log(draws["li_symmetric_life"].astype(float)).std() == pytest.approx(0.25, abs=0.05)
    again = VirtualLab(seed=7, noise=Noise(film_failure=0.0))
    assert again.evaluate(f) == draws.iloc[0].to_dict()


def test_noise_censors_near_the_horizon_at_the_expected_rate() -> None:
    lab = VirtualLab(seed=1, noise=Noise(film_failure=0.0), horizon_h=2200)
    flags = [
        lab.evaluate(PAPER_MEMBRANES["CPCSE"])["li_symmetric_life_censored"] for _ in range(400)
    ]
    # the true life (~2150 h) sits near the horizon: about half the cells still run
    assert 0.35 < np.mean(flags) < 0.60


def test_failure_rate_of_films() -> None:
    lab = VirtualLab(seed=3, noise=Noise(film_failure=0.1))
    formed = [lab.evaluate(PAPER_MEMBRANES["CPCSE"])["film_formed"] for _ in range(400)]
    assert 1 - np.mean(formed) == pytest.approx(0.1, abs=0.04)


def test_shipped_filler_ratio_file_is_the_emulator_and_the_paper() -> None:
    shipped = pd.read_csv(TEMPLATE / "filler_ratio.csv")
    fresh = filler_ratio_table()
    pd.testing.assert_frame_equal(shipped, fresh, check_dtype=False)
    stated = shipped[shipped["provenance"] == "stated"]
    assert list(stated["membrane"]) == ["CP2.5"]
    assert stated["ionic_conductivity [S/cm]"].iloc[0] == 5.2e-4
    assert set(shipped["provenance"]) == {"stated", "emulated"}
