"""The model cache: memory and disk, keyed by training data, damaged files refitted."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from formulate.model import surrogates
from formulate.model.surrogates import fit_objective
from formulate.spec.campaign import Campaign
from formulate.testing import emulated


def test_models_are_cached_by_training_data(campaign: Campaign, tmp_path: Path) -> None:
    table = emulated(campaign, 15, seed=7)
    first = fit_objective(campaign, table, "transference_number", "gp-onehot", cache_dir=tmp_path)
    assert fit_objective(campaign, table, "transference_number", "gp-onehot") is first
    files = [f for f in tmp_path.glob("*.pt") if not f.name.startswith("last-")]
    assert len(files) == 1
    assert len(list(tmp_path.glob("last-*.pt"))) == 1  # the warm start of the next refit
    surrogates._MEMORY.clear()  # as in a new process
    again = fit_objective(campaign, table, "transference_number", "gp-onehot", cache_dir=tmp_path)
    assert again is not first
    p1, p2 = first.predict(table), again.predict(table)
    pd.testing.assert_frame_equal(p1, p2)
    changed = table.assign(transference_number=table["transference_number"] * 0.9)
    other = fit_objective(campaign, changed, "transference_number", "gp-onehot")
    assert other.key != first.key
    files[0].write_bytes(b"not a state dict")
    surrogates._MEMORY.clear()
    refit = fit_objective(campaign, table, "transference_number", "gp-onehot", cache_dir=tmp_path)
    pd.testing.assert_frame_equal(refit.predict(table), p1)  # a damaged file is refitted
    assert files[0].stat().st_size > 1000  # and rewritten
