"""Insights: what the models say, in the shapes a chemist reads (e.g. the paper's Fig. S16)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from formulate.model.cache import model_cache
from formulate.model.surrogates import fit_objective
from formulate.spec.campaign import Campaign
from formulate.spec.space import Categorical, Discrete


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
    low, high = space.bounds(variable)
    grid = np.linspace(low, high, points)
    var = space.variables[variable]
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
