"""Model slices: the shape of the paper's Fig. S16 from the campaign's model."""

from __future__ import annotations

import numpy as np

from formulate.report.insights import model_slice
from formulate.spec.campaign import Campaign
from formulate.testing import emulated, formulation


def test_conductivity_along_filler_loading_per_filler(campaign: Campaign) -> None:
    table = emulated(campaign, 30, seed=61)
    curve = model_slice(
        campaign,
        table,
        "ionic_conductivity",
        "filler_wt_pct",
        "filler",
        formulation(),
        points=20,
        surrogate="gp-onehot",
    )
    assert set(curve["filler"]) == {"cluster_chain", "nanowire"}  # no wt% without a filler
    assert len(curve) == 40
    assert curve["filler_wt_pct"].between(0.5, 15).all()
    assert (curve["lower"] <= curve["mean"]).all() and (curve["mean"] <= curve["upper"]).all()
    assert np.all(curve["mean"] > 0)  # conductivity back in S/cm, not log10
