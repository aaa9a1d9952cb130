"""Diagnostics: how good are the surrogates? Cross-validation, parity plots, relevance.

All metrics are on the objective's model scale (log10 conductivity, logit t+, log10 life),
with predictive intervals that include measurement noise. Censored held-out values are
left out of the metrics: their true value is unknown.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from formulate.errors import FormulateError, Problem
from formulate.model.surrogates import (
    MIN_POINTS,
    SurrogateSpec,
    fit_objective,
    load_spec,
    training_data,
)
from formulate.spec.campaign import Campaign

LOO_UP_TO = 20
"""Leave-one-out up to this many membranes; 5-fold above."""


def cross_validate(
    campaign: Campaign, table: pd.DataFrame, prop: str, spec: SurrogateSpec | str, seed: int = 0
) -> pd.DataFrame:
    """Out-of-fold predictions for every membrane with ``prop``.

    Returns:
        One row per membrane: ``membrane``, ``observed``, ``mean``, ``std`` (model scale,
        predictive incl. noise) and ``censored``.
    """
    spec = load_spec(spec) if isinstance(spec, str) else spec
    transform = next((o.transform for o in campaign.objectives if o.property == prop), "none")
    data = training_data(campaign, table, prop, transform)
    n = len(data.rows)
    if n <= MIN_POINTS:
        raise FormulateError(
            f"{prop}: cross-validation needs at least {MIN_POINTS + 1} membranes with it, has {n}",
            [Problem(prop, f"{n} measured", "measure more membranes first")],
        )
    folds = n if n <= LOO_UP_TO else 5
    order = np.random.default_rng(seed).permutation(n)
    out = []
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(np.arange(n), test)
        fitted = fit_objective(campaign, data.rows.iloc[train], prop, spec, device="cpu")
        mean, std = fitted.predict_scale(data.rows.iloc[test], observation_noise=True)
        out += [
            {
                "membrane": data.rows["membrane"].iloc[i],
                "observed": data.y[i],
                "mean": m,
                "std": s,
                "censored": bool(data.censored[i]),
            }
            for i, m, s in zip(test, mean, std, strict=True)
        ]
    return pd.DataFrame(out).sort_values("membrane").reset_index(drop=True)


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
        "nlpd": float(-np.mean(norm.logpdf(y, loc=m, scale=s))),
        "coverage95": float(np.mean(np.abs(resid) <= 1.959964 * s)),
    }


def diagnose(
    campaign: Campaign, table: pd.DataFrame, specs: list[str], seed: int = 0
) -> tuple[pd.DataFrame, dict[tuple[str, str], pd.DataFrame]]:
    """Cross-validate every objective with every spec.

    Returns:
        A metrics table (one row per objective and spec) and the predictions behind it.
    """
    rows, preds = [], {}
    for obj in campaign.objectives:
        for name in specs:
            p = cross_validate(campaign, table, obj.property, name, seed)
            preds[(obj.property, name)] = p
            rows.append(
                {"objective": obj.property, "surrogate": name, "scale": obj.transform, **metrics(p)}
            )
    return pd.DataFrame(rows), preds


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
