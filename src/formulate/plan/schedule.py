"""Which made membranes go on the instrument next: value per instrument-day of a slow test.

A lab makes more membranes than it can put on its few cycler channels. Among made membranes
that lack a property and are not on test for it, :func:`schedule` ranks by the expected gain in
hypervolume from revealing that property, given the current models and what already runs,
divided by the instrument time the test is expected to take:

* the membrane's point: objectives already measured are known; the property to test and any
  other missing objective are drawn from their models' posteriors (``SAMPLES`` draws on the
  model scale); a life is capped at the test horizon (no cell shows more);
* the gain: hypervolume improvement of that point over the front of what is known (measured
  membranes, running and stopped cells at their hours so far), averaged over the draws, on
  the box decomposition of BoTorch's ``NondominatedPartitioning`` (qEHVI with q = 1);
* the time: a life test runs until the cell fails or reaches the horizon, so its expected
  duration is the mean of min(life, horizon) over the draws; other tests take their
  ``duration_days``;
* a batch of slots is greedy: each chosen membrane joins the front at its predicted point
  (and so does each cell already running), so the next one is worth what it adds beyond it.

Too little data to model an objective: the membranes are ranked first come, first served, and
the reason says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from botorch.utils.multi_objective.box_decompositions import NondominatedPartitioning

from formulate.errors import FormulateError, NotEnoughData, Problem
from formulate.model.cache import model_cache
from formulate.model.feasibility import film_labels
from formulate.model.surrogates import ObjectiveModel, fit_objective
from formulate.plan.acquisition import horizon_caps
from formulate.plan.progress import reference_point, scores
from formulate.spec.campaign import Campaign
from formulate.spec.instruments import HOURS_PER_DAY
from formulate.units import significant

SAMPLES = 256
"""Posterior draws per membrane."""
GAIN_TOL = 1e-12
"""Expected hypervolume gains below this are none (a membrane dominated whatever its result)."""
COLUMNS = (
    "membrane",
    "value_per_day",
    "gain",
    "days",
    "mean",
    "lower",
    "upper",
    "chance",
    "reason",
)


def candidates(
    campaign: Campaign, table: pd.DataFrame, tests: pd.DataFrame, prop: str
) -> pd.DataFrame:
    """Made or measured membranes whose film formed, with no value of ``prop`` at all (a lower
    bound means a cell was tested) and not on test for it, oldest first."""
    on_test = tests.loc[(tests["state"] == "running") & (tests["property"] == prop), "membrane"]
    made = table[table["status"].isin(("made", "measured")) & film_labels(table).ne(0)]
    lacking = made[prop].isna() if prop in made else pd.Series(True, index=made.index)
    return made[lacking & ~made["membrane"].isin(set(on_test))]


def nothing_to_schedule(
    campaign: Campaign, table: pd.DataFrame, tests: pd.DataFrame, prop: str
) -> str:
    """Why no membrane is a candidate for ``prop``, in words (for an empty ranking)."""
    status = table["status"] if "status" in table else pd.Series(dtype=object)
    has = table[prop].notna().sum() if prop in table else 0
    on = ((tests["state"] == "running") & (tests["property"] == prop)).sum() if len(tests) else 0
    counts = {
        f"{has} have a {campaign.label(prop)} result": has,
        f"{on} on test": on,
        f"{(film_labels(table) == 0).sum()} failed film(s)": (film_labels(table) == 0).sum(),
        f"{status.eq('pending').sum()} pending (not made yet)": status.eq("pending").sum(),
    }
    said = "; ".join(text for text, n in counts.items() if n)
    return (
        f"No membrane to test for {campaign.label(prop)}: a candidate is a made membrane whose "
        f"film formed, without a result and not on test" + (f" ({said})." if said else ".")
    )


def schedule(
    campaign: Campaign,
    table: pd.DataFrame,
    tests: pd.DataFrame,
    prop: str,
    slots: int,
    surrogate: str | None = None,
    device: str = "cpu",
    disk_cache: bool = True,
) -> pd.DataFrame:
    """The ``slots`` membranes whose ``prop`` test is worth most now, best first
    (``disk_cache``: keep fitted models in the campaign folder; off for backtests).

    Args:
        table: the campaign's table (running cells as lower bounds: ``campaign_table``).
        tests: the campaign's cell tests (``formulate.data.cell_tests.cell_tests``).

    Returns:
        Columns of :data:`COLUMNS`: expected hypervolume gain per instrument-day and the gain,
        both in percent of the hypervolume of what is known now (model scale where that is
        0), expected days on the instrument, predicted ``prop`` (mean and 95% interval,
        property units), chance to beat the best value so far, and the reason in words.

    Raises:
        FormulateError: ``prop`` is not an objective, or ``slots`` is below 1.
    """
    names = [o.property for o in campaign.objectives]
    if prop not in names or slots < 1:
        raise FormulateError(
            f"cannot schedule {prop}",
            [
                Problem(
                    "--property/--slots", f"{prop}, {slots}", f"an objective of {names}, 1+ slots"
                )
            ],
        )
    pool = candidates(campaign, table, tests, prop)
    if pool.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    name = surrogate or campaign.strategy.surrogate
    cache = model_cache(campaign) if disk_cache else None
    try:
        models = {n: fit_objective(campaign, table, n, name, device, cache) for n in names}
    except NotEnoughData as missing:
        return _first_come(campaign, pool, prop, slots, missing)
    return _by_value(campaign, table, tests, pool, prop, slots, models)


def _first_come(
    campaign: Campaign, pool: pd.DataFrame, prop: str, slots: int, missing: NotEnoughData
) -> pd.DataFrame:
    out = pool.head(slots)[["membrane"]].copy()
    out["days"] = campaign.measurement(prop).duration_days
    out["reason"] = (
        f"first come, first served: {missing.property} measured on {missing.have} membrane(s), "
        f"{missing.need} needed to model it"
    )
    return out.reindex(columns=list(COLUMNS)).reset_index(drop=True)


def _by_value(
    campaign: Campaign,
    table: pd.DataFrame,
    tests: pd.DataFrame,
    pool: pd.DataFrame,
    prop: str,
    slots: int,
    models: dict[str, ObjectiveModel],
) -> pd.DataFrame:
    k = [o.property for o in campaign.objectives].index(prop)
    draws = _draws(campaign, pool, models, prop)  # (n, SAMPLES, m), sign-adjusted model scale
    known = scores(campaign, table)
    front = known[[o.property for o in campaign.objectives]].to_numpy(dtype=float)
    ref = reference_point(campaign, {c: known[c].to_numpy() for c in known if c != "membrane"})
    running = _running_points(campaign, table, tests, models, prop)
    front = np.vstack([front, running]) if len(running) else front
    days = _expected_days(campaign, prop, draws[..., k])
    known_hv = _hypervolume(front, ref)
    chosen: list[int] = []
    gains = np.zeros(len(pool))  # each pick's gain when it was picked
    for _ in range(min(slots, len(pool))):
        now = _expected_gain(draws, front, ref)
        value = now / days
        value[chosen] = -np.inf
        best = int(np.argmax(value))
        chosen.append(best)
        gains[best] = now[best]
        front = np.vstack([front, draws[best].mean(axis=0, keepdims=True)])
    top = float(known[prop].max()) if len(known) else -np.inf  # sign-adjusted model scale
    gains = gains * (100.0 / known_hv if known_hv > 0 else 1.0)  # percent of what is known
    return _describe(campaign, pool, models[prop], prop, chosen, gains, days, draws[..., k], top)


def _hypervolume(front: np.ndarray, ref: np.ndarray) -> float:
    """The hypervolume ``front`` dominates above ``ref`` (model scale; 0 for none)."""
    if not len(front):
        return 0.0
    Y = torch.as_tensor(front, dtype=torch.float64)
    ref_t = torch.as_tensor(ref, dtype=torch.float64)
    return float(NondominatedPartitioning(ref_point=ref_t, Y=Y).compute_hypervolume())


def _draws(
    campaign: Campaign, pool: pd.DataFrame, models: dict[str, ObjectiveModel], prop: str
) -> np.ndarray:
    """Each membrane's objectives on the sign-adjusted model scale, ``n x SAMPLES x m``:
    measured ones repeated, ``prop`` and missing ones drawn from the posterior."""
    rng = np.random.default_rng(0)
    out = np.empty((len(pool), SAMPLES, len(campaign.objectives)))
    caps = horizon_caps(campaign).numpy()
    for j, o in enumerate(campaign.objectives):
        mean, std = models[o.property].predict_scale(pool)
        sample = mean[:, None] + std[:, None] * rng.standard_normal((len(pool), SAMPLES))
        if o.property != prop and o.property in pool:
            measured = o.to_model_scale(pool[o.property].to_numpy(dtype=float))
            sample = np.where(np.isfinite(measured)[:, None], measured[:, None], sample)
        out[:, :, j] = o.sign * np.minimum(sample, caps[j])
    return out


def _running_points(
    campaign: Campaign,
    table: pd.DataFrame,
    tests: pd.DataFrame,
    models: dict[str, ObjectiveModel],
    prop: str,
) -> np.ndarray:
    """Cells on test for ``prop`` at their expected result (at least their hours so far)."""
    on = tests.loc[(tests["state"] == "running") & (tests["property"] == prop), "membrane"]
    rows = table[table["membrane"].isin(set(on))]
    if rows.empty:
        return np.zeros((0, len(campaign.objectives)))
    points = _draws(campaign, rows, models, prop).mean(axis=1)
    k = [o.property for o in campaign.objectives].index(prop)
    o = campaign.objectives[k]
    bound = o.sign * o.to_model_scale(rows[prop].to_numpy(dtype=float))
    points[:, k] = np.fmax(points[:, k], bound) if o.sign > 0 else np.fmin(points[:, k], bound)
    return points


def _expected_gain(draws: np.ndarray, front: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Mean hypervolume improvement of each membrane's draws over ``front`` (``n``)."""
    Y = torch.as_tensor(front, dtype=torch.float64)
    partition = NondominatedPartitioning(ref_point=torch.as_tensor(ref, dtype=torch.float64), Y=Y)
    lower, upper = partition.get_hypercell_bounds()  # (C, m) each
    d = torch.as_tensor(draws, dtype=torch.float64).unsqueeze(-2)  # n x S x 1 x m
    span = (torch.minimum(d, upper) - lower).clamp_min(0.0).prod(-1)  # n x S x C
    return span.sum(-1).mean(-1).numpy()


def _expected_days(campaign: Campaign, prop: str, draws: np.ndarray) -> np.ndarray:
    """Days each test holds an instrument: a censorable property runs until the value (capped
    at the horizon), anything else its ``duration_days``."""
    spec = campaign.measurement(prop)
    if prop not in campaign.censorable():
        return np.full(len(draws), spec.duration_days)
    o = next(o for o in campaign.objectives if o.property == prop)
    hours = o.from_model_scale(o.sign * draws.ravel()).reshape(draws.shape)
    return np.minimum(hours, spec.horizon_h).mean(axis=1) / HOURS_PER_DAY


def _describe(
    campaign: Campaign,
    pool: pd.DataFrame,
    model: ObjectiveModel,
    prop: str,
    chosen: list[int],
    gains: np.ndarray,
    days: np.ndarray,
    draws: np.ndarray,
    top: float,
) -> pd.DataFrame:
    rows = pool.iloc[chosen]
    pred = model.predict(rows)
    out = pd.DataFrame({"membrane": rows["membrane"].to_numpy()})
    out["value_per_day"] = gains[chosen] / days[chosen]
    out["gain"], out["days"] = gains[chosen], days[chosen]
    out["mean"], out["lower"], out["upper"] = (
        pred[c].to_numpy() for c in ("mean", "lower", "upper")
    )
    out["chance"] = (draws[chosen] > top).mean(axis=1)
    unit = campaign.display_unit(prop)
    shown = {c: campaign.to_display(prop, out[c]) for c in ("mean", "lower", "upper")}
    out["reason"] = [
        (
            f"expected to add {significant(g)}% to the hypervolume of what is known, over about "
            f"{significant(d)} instrument-day(s); "
            if g > GAIN_TOL
            else "no gain expected: behind the Pareto front whatever its result (oldest first); "
        )
        + f"{campaign.label(prop)} predicted {significant(m)} "
        f"[{significant(lo)}, {significant(hi)}] {unit}; "
        f"chance to beat the best so far {c:.0%}"
        for g, d, m, lo, hi, c in zip(
            out["gain"],
            out["days"],
            shown["mean"],
            shown["lower"],
            shown["upper"],
            out["chance"],
            strict=True,
        )
    ]
    return out[list(COLUMNS)]
