"""Insights: what the models say, in the shapes a chemist reads (e.g. the paper's Fig. S16)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from formulate.model.cache import model_cache
from formulate.model.surrogates import fit_objective
from formulate.report.display import header
from formulate.spec.campaign import Campaign
from formulate.spec.variables import Categorical, Continuous, Discrete


def model_slice(
    campaign: Campaign,
    table: pd.DataFrame,
    prop: str,
    variable: str,
    by: str,
    base: dict[str, Any],
    points: int = 40,
    surrogate: str | None = None,
) -> pd.DataFrame:
    """Predicted ``prop`` (mean and 95% interval, property units) along numeric ``variable``
    (``points`` values; a discrete one's grid values),
    one curve per level of categorical ``by`` at which ``variable`` is active, everything else
    held at ``base`` (e.g. conductivity vs filler wt% per filler: the paper's Fig. S16).

    Returns:
        Columns ``by``, ``variable``, ``mean``, ``lower``, ``upper``.
    """
    space = campaign.space
    var = space.variables[variable]
    assert isinstance(var, Continuous | Discrete)
    grid = var.from_unit(np.linspace(0.0, 1.0, points))  # even on the variable's scale
    if isinstance(var, Discrete):  # its own grid, thinned to about ``points`` values
        grid = np.unique(
            np.asarray(var.grid)[np.linspace(0, len(var.grid) - 1, points).round().astype(int)]
        )
    by_var = space.variables[by]
    assert isinstance(by_var, Categorical)
    rows = []
    for level in by_var.levels:
        point = {**base, by: level}
        if not space.is_active(variable, point):
            continue
        for x in grid:
            candidate = {**point, variable: float(x)}
            clean, problems = space.check(candidate)
            if not problems:
                rows.append(clean)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=[by, variable, "mean", "lower", "upper"])
    name = surrogate or campaign.strategy.surrogate
    model = fit_objective(campaign, table, prop, name, cache_dir=model_cache(campaign))
    pred = model.predict(frame)
    return pd.concat([frame[[by, variable]], pred[["mean", "lower", "upper"]]], axis=1)


def in_display_units(campaign: Campaign, table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with each objective in its display unit under a header with the unit
    (``conductivity [mS/cm]``), for plots a lab reads."""
    out = table.copy()
    for o in campaign.objectives:
        if o.property in out:
            out[header(campaign, o.property)] = campaign.to_display(o.property, out[o.property])
    return out


def progress_share(hist: pd.DataFrame) -> pd.DataFrame:
    """The campaign's history with ``share of today's hypervolume`` (0-1): the hypervolume
    after each batch divided by today's, so a lab reads how much of today's Pareto front each
    batch had reached."""
    out = hist.copy()
    final = float(out["hypervolume"].iloc[-1]) if len(out) else 0.0
    out["share of today's hypervolume"] = out["hypervolume"] / final if final > 0 else np.nan
    return out


def cv_warnings(campaign: Campaign, scores: pd.DataFrame) -> list[str]:
    """Plain warnings on a leave-one-out table: a model that predicts worse than the mean
    (R2 < 0) or whose 95% intervals hold far fewer than 95% of the values."""
    out = []
    for rec in scores.to_dict("records"):
        name, n = campaign.label(rec["objective"]), int(rec["n"])
        if rec["r2"] < 0:
            out.append(
                f"{name}: leave-one-out R2 {rec['r2']:.2f} on {n} membranes: the model predicts "
                "worse than the average of the data; trust its slices and proposals only as "
                "exploration until more membranes are measured."
            )
        elif rec["coverage95"] < 0.8:
            out.append(
                f"{name}: only {rec['coverage95']:.0%} of held-out values fall in the 95% "
                f"interval ({n} membranes): the model is overconfident."
            )
    return out


def relevance(fitted: Any) -> pd.Series:
    """How much each encoded feature matters to a fitted objective model: 1 / its ARD
    length-scale, scaled so the most relevant is 1 (empty when the kernel has none)."""
    from formulate.model.surrogates import lengthscales

    ls = lengthscales(fitted)
    if ls.empty:
        return ls
    inverse = 1.0 / ls
    return (inverse / inverse.max()).sort_values(ascending=False)
