"""The candidate pool and the shared operations on formulations."""

from __future__ import annotations

import pandas as pd

from formulate.plan.pool import (
    candidate_pool,
    combinations,
    complete,
    exclude,
    from_unit,
    nearest,
    neighbours,
    signature,
    snap,
    sobol_formulations,
)
from formulate.spec.campaign import Campaign
from formulate.testing import formulation


def test_pool_respects_the_space(campaign: Campaign) -> None:
    space = campaign.space
    pool = candidate_pool(space, 1024, seed=1)
    assert len(combinations(space)) == 27 - 6  # PVDF-HFP/PAN never with THF_DCM
    assert 1000 <= len(pool) <= 2 * 1024
    assert all(space.is_feasible(r) for r in pool.to_dict("records"))
    grid = set(space.variables["filler_wt_pct"].grid)  # type: ignore[union-attr]
    assert set(pool["filler_wt_pct"].dropna()) <= grid


def test_snap_from_unit_and_complete(campaign: Campaign) -> None:
    space = campaign.space
    assert snap(space, "filler_wt_pct", 2.3) == 2.5
    assert snap(space, "eo_li_ratio", 99.0) == 30.0  # a continuous value stays in range
    assert from_unit(space, "eo_li_ratio", 0.5) == 18.0
    assert from_unit(space, "filler_wt_pct", 1.0) == 15.0
    done = complete(space, formulation(filler="none"))
    assert done["filler_wt_pct"] is None
    grown = complete(space, {**formulation(), "solvent": "THF_DCM", "thf_fraction": None})
    assert grown["thf_fraction"] == 0.5  # a newly active number starts mid-range


def test_signature_treats_float_noise_and_empty_cells_alike() -> None:
    names = ["a", "b"]
    assert signature({"a": 0.1 + 0.2, "b": None}, names) == signature(
        {"a": 0.3, "b": float("nan")}, names
    )
    assert signature({"a": 0.3, "b": "x"}, names) != signature({"a": 0.3, "b": "y"}, names)


def test_neighbours_sobol_nearest_and_exclude(campaign: Campaign) -> None:
    space = campaign.space
    base = pd.DataFrame([formulation()])
    local = neighbours(space, base, 20, seed=0)
    assert len(local) == 20 and set(local["filler"]) == {"cluster_chain"}
    assert (local["eo_li_ratio"] - 16).abs().max() < 0.05 * 24 * 5  # a few widths at most
    points = sobol_formulations(space, 16, seed=3)
    assert all(space.is_feasible(p) for p in points)
    assert sobol_formulations(space, 4, seed=3, skip=12) == points[12:16]
    rows = pd.DataFrame(points)
    picked = nearest(space, [points[5], points[5]], rows)
    assert list(picked.index[:1]) == [5] and picked.index[1] != 5  # never the same row twice
    left = exclude(rows, rows.iloc[:3], space.names())
    assert len(left) == 13
