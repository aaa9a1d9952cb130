"""``scale = "log"``: a positive variable spanning decades is searched, encoded, drawn and
plotted over log10 of its value."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from pydantic import ValidationError

from formulate.lab.salt_lab import conductivity
from formulate.lab.salt_lab import salts as salt_table
from formulate.model.encoding import Encoder
from formulate.plan.baselines import optuna_distributions, pick
from formulate.plan.pool import candidate_pool, from_unit, snap
from formulate.report.insights import model_slice
from formulate.spec.campaign import Campaign, load_campaign
from formulate.spec.variables import Continuous

PEO_SALTS = Path(__file__).resolve().parents[1] / "campaigns" / "peo_salts"
GEOMETRIC_MIDDLE = math.sqrt(0.05 * 3.0)  # 0.387 mol/kg


@pytest.fixture(scope="module")
def salts() -> Campaign:
    return load_campaign(PEO_SALTS)


def test_a_log_scale_needs_a_positive_range() -> None:
    with pytest.raises(ValidationError, match='scale = "log" needs a positive range'):
        Continuous(kind="continuous", low=0.0, high=3.0, scale="log")
    var = Continuous(kind="continuous", low=0.01, high=10.0, scale="log")
    assert var.to_unit(np.array([0.01, 0.1, 1.0, 10.0])) == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert var.from_unit(0.5) == pytest.approx(math.sqrt(0.1))


def test_positions_draws_and_the_pool_run_over_log10(salts: Campaign) -> None:
    space = salts.space
    assert from_unit(space, "molality", 0.5) == pytest.approx(GEOMETRIC_MIDDLE, abs=0.001)
    assert space.to_unit("molality", [0.05, 3.0]) == pytest.approx([0.0, 1.0])
    drawn = pd.DataFrame(space.sample(2000, seed=0))["molality"]
    assert 0.4 < (drawn < GEOMETRIC_MIDDLE).mean() < 0.6  # half below the geometric middle
    assert 0.25 < (drawn < 0.16).mean() < 0.45  # linear would put 3.7% of draws there
    pool = candidate_pool(space, 1024, seed=0)["molality"]
    assert 0.45 < (pool < GEOMETRIC_MIDDLE).mean() < 0.55


def test_log_values_are_proposed_at_three_significant_digits(salts: Campaign) -> None:
    assert snap(salts.space, "molality", 0.123456) == 0.123
    assert snap(salts.space, "molality", 1.23456) == 1.23
    assert snap(salts.space, "molality", 0.0512345) == 0.0512


def test_the_encoder_and_optuna_read_the_scale(salts: Campaign) -> None:
    table = pd.DataFrame({"salt": ["LiTFSI"] * 3, "molality": [0.05, GEOMETRIC_MIDDLE, 3.0]})
    table["temperature"] = 60.0
    x = Encoder(salts, "onehot").encode(table)[:, 0]
    assert x.tolist() == pytest.approx([0.0, 0.5, 1.0])
    linear = load_campaign(PEO_SALTS / "onehot-linear.toml")
    assert Encoder(linear, "onehot").encode(table)[1, 0] == pytest.approx(
        (GEOMETRIC_MIDDLE - 0.05) / 2.95
    )
    dist = optuna_distributions(salts.space, table, None)["molality"]
    assert isinstance(dist, optuna.distributions.FloatDistribution) and dist.log


def test_a_random_batch_and_the_slices_follow_the_scale(salts: Campaign) -> None:
    batch = pick("random", salts, pd.DataFrame(), 400, seed=3)
    assert 0.4 < (batch["molality"] < GEOMETRIC_MIDDLE).mean() < 0.6
    table = pd.DataFrame(salts.space.sample(12, seed=0))
    table["ionic_conductivity"] = [
        conductivity(salt_table()[r.salt], r.molality, r.temperature) for r in table.itertuples()
    ]
    table["membrane"] = [f"S{i}" for i in range(len(table))]
    base = table.iloc[0].to_dict()
    curve = model_slice(
        salts, table, "ionic_conductivity", "molality", "salt", base, 5, "gp-onehot"
    )
    x = curve[curve["salt"] == "LiTFSI"]["molality"].to_numpy()
    assert x == pytest.approx([0.05, 0.139, 0.387, 1.08, 3.0], rel=0.02)  # even in log10
