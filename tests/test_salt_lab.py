"""The virtual PEO-salt lab and the shipped test pool built from it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from formulate.backtest.oracles import load_pool
from formulate.lab.salt_lab import conductivity, pool, salts
from formulate.spec.campaign import load_campaign

FOLDER = Path(__file__).resolve().parents[1] / "campaigns" / "peo_salts"


def test_calibration_of_peo_litfsi() -> None:
    """PEO/LiTFSI near EO:Li 20 (1.13 mol/kg): about 2e-4 S/cm at 60 C, 1e-5 at 25 C, and a
    conductivity maximum at an intermediate salt content."""
    tfsi = salts()["LiTFSI"]
    assert 1e-4 < conductivity(tfsi, 1.13, 60.0) < 3e-4
    assert 5e-6 < conductivity(tfsi, 1.13, 25.0) < 3e-5
    curve = [conductivity(tfsi, m, 80.0) for m in (0.1, 0.3, 1.0, 3.0)]
    assert curve[2] > curve[1] > curve[0] and curve[2] > curve[3]
    # large, fluorinated anions dissociate better than halides
    assert conductivity(tfsi, 1.0, 60.0) > 5 * conductivity(salts()["LiCl"], 1.0, 60.0)


def test_the_shipped_pool_is_the_labs_output_and_says_so() -> None:
    shipped = pd.read_csv(FOLDER / "pool.csv")
    pd.testing.assert_frame_equal(shipped, pool(), check_exact=False, rtol=1e-9)
    assert (shipped["provenance"] == "emulated").all()
    assert shipped["salt"].nunique() >= 15


def test_the_pool_reads_with_its_campaign() -> None:
    """Its headers carry units (``molality [mol/kg]``, ``temperature [C]``): a variable's
    header may end with its own unit."""
    spec = load_campaign(FOLDER)
    assert "molality [mol/kg]" in (FOLDER / "pool.csv").read_text().splitlines()[0]
    table = load_pool(spec, FOLDER / "pool.csv")
    assert len(table) == 24 * 8 * 4
    assert table["molality"].between(0.05, 3.0).all()
    assert spec.space.variables["molality"].scale == "log"  # type: ignore[union-attr]


def test_every_campaign_file_describes_the_same_pool() -> None:
    variants = {
        "campaign.toml": (True, "log"),
        "onehot-linear.toml": (False, "linear"),
        "descriptors-linear.toml": (True, "linear"),
        "onehot-log.toml": (False, "log"),
    }
    for name, (described, scale) in variants.items():
        spec = load_campaign(FOLDER / name)
        assert len(load_pool(spec, FOLDER / "pool.csv")) == 768
        assert bool(spec.space.levels("salt")["LiTFSI"]) == described, name
        assert spec.space.variables["molality"].scale == scale, name  # type: ignore[union-attr]
