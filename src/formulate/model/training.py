"""One property's training rows: the membranes that have it, its values on the model scale,
which of them are lower bounds (censored), and the noise the campaign states for them.

A censorable property (a cycling life) is modelled as what a test to its horizon shows:
min(life, horizon). A cell that reached the horizon (1500 h) counts as exactly 1500 h, not as
"at least 1500 h"; a cell stopped or still running below it stays a lower bound. No test shows
more, the acquisition counts no more (:func:`formulate.plan.acquisition.horizon_caps`), and a
model of the latent life above the horizon, where no cell is ever seen, only extrapolates there
(README, "A life as what a test shows")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from formulate.errors import FormulateError, NotEnoughData, Problem
from formulate.spec.campaign import Campaign
from formulate.spec.objectives import to_model_scale
from formulate.spec.scatter import Scatter


@dataclass
class TrainingData:
    """One property's training rows: formulations, model-scale values (``n``), censor flags,
    the transform that made the model scale and the campaign's stated replicate scatter."""

    rows: pd.DataFrame
    y: np.ndarray
    censored: np.ndarray
    transform: str = "none"
    scatter: Scatter | None = None
    cap: float = np.inf
    """The largest value a test shows, model scale (a life's horizon; ``inf``: none)."""

    def known_noise(self, y: np.ndarray) -> np.ndarray | None:
        """The stated noise variance (model scale) of values ``y`` (None: none stated)."""
        return None if self.scatter is None else self.scatter.model_sd(y, self.transform) ** 2


def training_data(
    campaign: Campaign,
    table: pd.DataFrame,
    prop: str,
    transform: str = "none",
    need: int | None = None,
) -> TrainingData:
    """Rows of ``table`` that have ``prop`` (pending and failed membranes have none); at
    least ``need`` of them (default: the campaign's ``min_measured``).

    Raises:
        NotEnoughData: fewer rows than the campaign's ``min_measured``.
        FormulateError: values the transform cannot take.
    """
    have = table[prop].notna() if prop in table else pd.Series(False, index=table.index)
    rows = table.loc[have].reset_index(drop=True)
    values = rows[prop].to_numpy(dtype=float, copy=True) if len(rows) else np.zeros(0)
    flag = f"{prop}_censored"
    censored = (
        rows[flag].to_numpy(dtype=bool, copy=True) if flag in rows else np.zeros(len(rows), bool)
    )
    cap = np.inf
    if prop in campaign.censorable():
        cap = campaign.measurement(prop).horizon_h
        censored &= values < cap  # reached the horizon: exactly what the test shows
        values = np.minimum(values, cap)
    need = campaign.strategy.min_measured if need is None else need
    if len(rows) < need:
        raise NotEnoughData(prop, len(rows), need)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = to_model_scale(values, transform)
    bad = [str(m) for m, v in zip(rows["membrane"], y, strict=True) if not np.isfinite(v)]
    if bad:
        raise FormulateError(
            f"{prop}: values the {transform} scale cannot take",
            [
                Problem(
                    f"membrane {m}", f"{prop} is zero, negative or missing", "correct the value"
                )
                for m in bad
            ],
        )
    if np.isfinite(cap):
        cap = float(to_model_scale(np.array([cap]), transform)[0])
    return TrainingData(rows, y, censored, transform, campaign.scatter.get(prop), cap)
