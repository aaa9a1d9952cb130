"""Diagnostics: how good are the surrogates? Cross-validation, parity plots, relevance.

All metrics are on the objective's model scale (log10 conductivity, logit t+, log10 life),
with predictive intervals that include measurement noise. Censored held-out values are
left out of the metrics: their true value is unknown. Leave-one-out comes in closed form from
the fitted GP, so a diagnosis costs one fit per objective (usually cached), not one per fold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtri

from formulate.errors import NotEnoughData, Problem
from formulate.model.censoring import loo_predictive, normal_logpdf
from formulate.model.specs import SurrogateSpec
from formulate.model.surrogates import MIN_POINTS, fit_objective
from formulate.spec.campaign import Campaign


def cross_validate(
    campaign: Campaign,
    table: pd.DataFrame,
    prop: str,
    spec: SurrogateSpec | str,
    device: str = "cpu",
    cache_dir: Path | None = None,
) -> pd.DataFrame:
    """Leave-one-out predictions for every membrane with ``prop``, in closed form from the GP
    fitted to all of them (no refits: Rasmussen & Williams 2006, sec. 5.4.2). The
    hyperparameters (and a two-stage family's auxiliary models) are those of the full fit, the
    usual approximation; the model comes from the cache when the campaign was planned on.

    Returns:
        One row per membrane: ``membrane``, ``observed``, ``mean``, ``std`` (model scale,
        predictive incl. noise) and ``censored``.

    Raises:
        NotEnoughData: fewer than ``MIN_POINTS + 1`` membranes have ``prop``.
    """
    fitted = fit_objective(campaign, table, prop, spec, device, cache_dir)
    rows, y, censored = fitted.data.rows, fitted.data.y, fitted.data.censored
    if len(fitted.y_fit) != len(y):  # censored rows dropped from the fit: not predicted
        keep = ~censored
        rows, y, censored = rows[keep].reset_index(drop=True), y[keep], censored[keep]
    if len(y) <= MIN_POINTS:
        raise NotEnoughData(prop, len(y), MIN_POINTS + 1)
    mean, std = loo_predictive(fitted.model)
    return (
        pd.DataFrame(
            {
                "membrane": rows["membrane"].to_numpy(),
                "observed": y,
                "mean": mean,
                "std": std,
                "censored": censored.astype(bool),
            }
        )
        .sort_values("membrane")
        .reset_index(drop=True)
    )


def metrics(predictions: pd.DataFrame) -> dict[str, float]:
    """RMSE, R2, NLPD (mean negative log predictive density) and 95% coverage of
    uncensored predictions (model scale)."""
    p = predictions[~predictions["censored"]]
    y, m, s = p["observed"].to_numpy(), p["mean"].to_numpy(), p["std"].to_numpy()
    resid = y - m
    sst = float(np.sum((y - y.mean()) ** 2))
    return {
        "n": len(p),
        "rmse": float(np.sqrt(np.mean(resid**2))),
        "r2": 1 - float(np.sum(resid**2)) / sst if sst > 0 else float("nan"),
        "nlpd": float(-np.mean(normal_logpdf(y, m, s))),
        "coverage95": float(np.mean(np.abs(resid) <= 1.959964 * s)),
    }


def coverage(
    predictions: pd.DataFrame, levels: tuple[float, ...] = (0.5, 0.8, 0.95)
) -> dict[str, float]:
    """Share of uncensored held-out values inside the central ``level`` interval of their
    prediction (model scale), per level: ``{"coverage50": ..., ...}``; a calibrated model
    gives each level back."""
    p = predictions[~predictions["censored"]]
    z = np.abs(p["observed"].to_numpy() - p["mean"].to_numpy()) / p["std"].to_numpy()
    return {f"coverage{round(100 * q)}": float(np.mean(z <= ndtri(0.5 + q / 2))) for q in levels}


def diagnose(
    campaign: Campaign,
    table: pd.DataFrame,
    specs: list[str],
    device: str = "cpu",
    cache_dir: Path | None = None,
) -> Diagnosis:
    """Cross-validate every objective with every spec; an objective or a family that lacks
    data (e.g. a two-stage family whose intermediate was measured on one membrane) is
    reported in ``skipped``, never fatal."""
    rows, preds, skipped = [], {}, []
    for obj in campaign.objectives:
        for name in specs:
            try:
                p = cross_validate(campaign, table, obj.property, name, device, cache_dir)
            except NotEnoughData as missing:
                skipped.append(
                    Problem(
                        f"{obj.property} ({name})",
                        f"skipped: {missing.property} measured on {missing.have} membrane(s), "
                        f"{missing.need} needed",
                        "measure more membranes",
                    )
                )
                continue
            preds[(obj.property, name)] = p
            rows.append(
                {"objective": obj.property, "surrogate": name, "scale": obj.transform, **metrics(p)}
            )
    return Diagnosis(pd.DataFrame(rows), preds, skipped)


@dataclass(frozen=True)
class Diagnosis:
    """Cross-validation of a campaign: ``scores`` (one row per objective and family: n, RMSE,
    R2, NLPD, 95% coverage on the model scale), the ``predictions`` behind them, and what was
    ``skipped`` for lack of data."""

    scores: pd.DataFrame
    predictions: dict[tuple[str, str], pd.DataFrame]
    skipped: list[Problem] = field(default_factory=list)


def parity_plot(preds: dict[tuple[str, str], pd.DataFrame], path: Path) -> Path:
    """Observed vs predicted (model scale) with 95% bars, one panel per objective and spec;
    censored membranes drawn as open triangles (observed = lower bound)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objectives = sorted({k[0] for k in preds})
    specs = sorted({k[1] for k in preds})
    fig, axes = plt.subplots(
        len(specs), len(objectives), squeeze=False, figsize=(4 * len(objectives), 3.6 * len(specs))
    )
    for (obj, spec), p in preds.items():
        ax = axes[specs.index(spec)][objectives.index(obj)]
        ok = ~p["censored"]
        ax.errorbar(
            p.loc[ok, "observed"],
            p.loc[ok, "mean"],
            yerr=1.96 * p.loc[ok, "std"],
            fmt="o",
            ms=4,
            alpha=0.7,
            elinewidth=0.8,
        )
        ax.plot(p.loc[~ok, "observed"], p.loc[~ok, "mean"], "^", mfc="none", label="censored")
        lims = [
            min(p["observed"].min(), p["mean"].min()),
            max(p["observed"].max(), p["mean"].max()),
        ]
        ax.plot(lims, lims, "k--", lw=0.8)
        ax.set_title(f"{obj}\n{spec}", fontsize=9)
        ax.set_xlabel("observed (model scale)")
        ax.set_ylabel("predicted")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
