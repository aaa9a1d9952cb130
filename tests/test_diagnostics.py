"""Cross-validation metrics, computed by hand on small examples, and the parity plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from formulate.model.diagnostics import cross_validate, diagnose, metrics, parity_plot
from formulate.spec.campaign import Campaign
from formulate.testing import emulated


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


def test_cross_validation_is_out_of_fold(campaign: Campaign) -> None:
    table = emulated(campaign, 14, seed=11)
    preds = cross_validate(campaign, table, "ionic_conductivity", "gp-onehot")
    assert sorted(preds["membrane"]) == sorted(table["membrane"])
    observed = np.log10(
        table.set_index("membrane").loc[preds["membrane"], "ionic_conductivity"].astype(float)
    )
    assert preds["observed"].to_numpy() == pytest.approx(observed.to_numpy())
    assert (preds["mean"] != preds["observed"]).all()  # never predicted from its own value


def test_diagnose_table_and_plot(campaign: Campaign, tmp_path: Path) -> None:
    table = emulated(campaign, 12, seed=12)
    scores, preds = diagnose(campaign, table, ["gp-onehot"])
    assert list(scores["objective"]) == [o.property for o in campaign.objectives]
    assert set(scores.columns) >= {"rmse", "r2", "nlpd", "coverage95"}
    png = parity_plot(preds, tmp_path / "parity.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_too_few_membranes_to_cross_validate_is_a_clear_message(campaign: Campaign) -> None:
    from formulate.errors import FormulateError

    table = emulated(campaign, 4, seed=15).iloc[:3]
    with pytest.raises(FormulateError, match="cross-validation needs at least 4"):
        cross_validate(campaign, table, "ionic_conductivity", "gp-onehot")
