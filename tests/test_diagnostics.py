"""Leave-one-out diagnostics: metrics by hand, the closed form against conditioning, skipped
families, the parity plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import norm

from formulate.errors import NotEnoughData
from formulate.model.diagnostics import cross_validate, diagnose, metrics, parity_plot
from formulate.model.surrogates import fit_objective
from formulate.spec.campaign import Campaign
from formulate.testing import Realistic, emulated, realistic_campaign


def test_metrics_by_hand() -> None:
    preds = pd.DataFrame(
        {
            "observed": [0.0, 1.0, 2.0, 9.0],
            "mean": [0.0, 2.0, 2.0, 0.0],
            "std": [1.0, 1.0, 0.1, 1.0],
            "censored": [False, False, False, True],
        }
    )
    m = metrics(preds)
    assert m["n"] == 3  # the censored row is unknown truth
    assert m["rmse"] == pytest.approx(np.sqrt(1 / 3))
    assert m["r2"] == pytest.approx(1 - 1 / 2)
    nlpd = -np.mean([norm.logpdf(0, 0, 1), norm.logpdf(1, 2, 1), norm.logpdf(2, 2, 0.1)])
    assert m["nlpd"] == pytest.approx(nlpd)
    assert m["coverage95"] == pytest.approx(1.0)


def test_leave_one_out_matches_refitting_without_the_point(campaign: Campaign) -> None:
    """The closed form equals conditioning on the other points with the same hyperparameters."""
    table = emulated(campaign, 14, seed=11)
    preds = cross_validate(campaign, table, "ionic_conductivity", "gp-onehot")
    assert sorted(preds["membrane"]) == sorted(table["membrane"])
    observed = np.log10(
        table.set_index("membrane").loc[preds["membrane"], "ionic_conductivity"].astype(float)
    )
    assert preds["observed"].to_numpy() == pytest.approx(observed.to_numpy())
    model = fit_objective(campaign, table, "ionic_conductivity", "gp-onehot").model
    i = 5
    rest = [j for j in range(len(table)) if j != i]
    X, y = model.train_inputs[0], model.train_targets
    noise = model.likelihood.noise_covar.noise.clone()  # stated scatter: one per value
    own_noise = float(model.likelihood.noise[i])  # with the learned remainder (standardized)
    model.eval()
    with torch.no_grad():
        model.set_train_data(X[rest], y[rest], strict=False)
        model.likelihood.noise_covar.noise = noise[rest]
        post = model.posterior(X[i : i + 1])
        model.set_train_data(X, y, strict=False)
        model.likelihood.noise_covar.noise = noise
    scale = float(model.outcome_transform.stdvs.squeeze()) ** 2
    membrane = table["membrane"].iloc[i]
    row = preds.set_index("membrane").loc[membrane]
    assert row["mean"] == pytest.approx(post.mean.item(), rel=1e-6)
    assert row["std"] == pytest.approx((post.variance.item() + own_noise * scale) ** 0.5, rel=1e-6)


def test_a_family_or_objective_without_data_is_skipped_not_fatal(
    campaign: Campaign, tmp_path: Path
) -> None:
    table = realistic_campaign(campaign, Realistic(membranes=24, seed=12))
    table.loc[table.index[1:], "mobile_li_fraction"] = np.nan  # one membrane has it
    found = diagnose(campaign, table, ["gp-onehot", "gp-physics-aux"])
    assert list(found.scores["surrogate"]) == ["gp-onehot"] * 3
    assert set(found.scores.columns) >= {"rmse", "r2", "nlpd", "coverage95"}
    assert [p.where for p in found.skipped] == [
        f"{o.property} (gp-physics-aux)" for o in campaign.objectives
    ]
    assert "mobile_li_fraction measured on 1 membrane(s), 3 needed" in found.skipped[0].what
    png = parity_plot(found.predictions, tmp_path / "parity.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_too_few_membranes_to_cross_validate_is_a_clear_message(campaign: Campaign) -> None:
    table = emulated(campaign, 4, seed=15).iloc[:3]
    with pytest.raises(NotEnoughData, match="a model needs at least 4"):
        cross_validate(campaign, table, "ionic_conductivity", "gp-onehot")


def test_coverage_at_several_levels_is_calibrated_on_normal_draws() -> None:
    import numpy as np
    import pandas as pd

    from formulate.model.diagnostics import coverage

    rng = np.random.default_rng(0)
    n = 20_000
    preds = pd.DataFrame(
        {"observed": rng.normal(size=n), "mean": 0.0, "std": 1.0, "censored": False}
    )
    found = coverage(preds)
    assert set(found) == {"coverage50", "coverage80", "coverage95"}
    for level in (50, 80, 95):
        assert found[f"coverage{level}"] == pytest.approx(level / 100, abs=0.01)
    too_sure = coverage(preds.assign(std=0.5))
    assert too_sure["coverage95"] < 0.7  # intervals half as wide cover far less
