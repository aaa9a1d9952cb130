"""Proposals explained: per objective the predicted value with its 95% interval and the chance
to beat the best so far, a reason in one sentence, whether it is the first of its family, and
the chance to form a film where it is in doubt; notes that hold for the whole batch are said
once."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from formulate.model.feasibility import FILM, probability_of_forming
from formulate.model.transfer import source_hint
from formulate.plan.acquisition import horizon_caps
from formulate.plan.fitting import Fitted
from formulate.plan.pool import families
from formulate.spec.campaign import Campaign
from formulate.spec.objectives import from_model_scale
from formulate.units import significant


def describe(
    campaign: Campaign, picked: pd.DataFrame, values: np.ndarray, fitted: Fitted, strategy: str
) -> pd.DataFrame:
    """The picks with, per objective, predicted mean and 95% interval (property units) and the
    chance to beat the best value so far (``<prop>_chance``, 0-1), the acquisition value, a
    reason in words; notes that hold for the whole batch go in ``attrs["notes"]``, once."""
    out = picked[campaign.space.names()].copy()
    gains = {}
    best_so_far: dict[str, float] = {}  # per objective, property units
    caps = horizon_caps(campaign).numpy()  # no test shows more (a life: the test horizon)
    for obj, cap in zip(campaign.objectives, caps, strict=True):
        model = fitted.objectives[obj.property]
        pred = model.predict(out)
        for part in ("mean", "lower", "upper"):
            out[f"{obj.property}_{part}"] = pred[part].to_numpy()
        y = obj.sign * model.data.y
        mean, std = model.predict_scale(out)
        shown = obj.sign * np.minimum(mean, cap)
        best = from_model_scale([model.data.y[int(np.argmax(y))]], model.transform)[0]
        at_cap = obj.sign > 0 and y.max() >= cap - 1e-9  # nothing a test shows can beat it
        at_cap = at_cap or at_bound(campaign, obj.property, obj.sign, best)
        out[f"{obj.property}_chance"] = 0.0 if at_cap else ndtr((obj.sign * mean - y.max()) / std)
        best_so_far[obj.property] = float(best)
        spread = float(np.std(y)) or 1.0
        gains[obj.property] = (shown - y.max()) / spread, capped_std(mean, std, cap) / spread
    out["acquisition"] = values
    film = next((m for m, _ in fitted.constraints if m.objective == FILM), None)
    if film is not None:
        out["film_chance"] = probability_of_forming(film, out)
    records = out.to_dict("records")
    if strategy == "active":
        out["reason"] = [
            "maps the space: most uncertain for "
            + campaign.label(max(gains, key=lambda k: gains[k][1][i]))
            + f" (cuts the integrated variance by {100 * v / len(gains):.0f}% on average)"
            for i, v in enumerate(values)
        ]
    else:
        new = picked["untried"].to_numpy(dtype=bool) if "untried" in picked else [False] * len(out)
        kin = families(campaign.space, out)
        start = ""
        if fitted.start is not None:
            start = f"from prior '{fitted.start.prior.label}' alone (its model, its best) "
            start += "until this campaign can fit its own; "
        out["reason"] = [
            start
            + _reason(campaign, gains, best_so_far, rec, i)
            + (f"; first of its family ({kin[i]}: no membrane tried there yet)" if new[i] else "")
            + _film_note(campaign, rec)
            + _prior_note(campaign, fitted, out.iloc[[i]])
            for i, rec in enumerate(records)
        ]
    out.attrs["notes"] = list(fitted.notes)
    out["strategy"] = strategy
    out["warm_up"] = False
    return out


def at_bound(campaign: Campaign, prop: str, sign: float, best: float) -> bool:
    """Whether ``best`` (property units) sits at the property's physical bound in the
    direction of the goal (a t+ of 1 when maximizing): nothing can beat it."""
    spec = campaign.all_properties()[prop]
    bound = spec.high if sign > 0 else spec.low
    return bound is not None and sign * (best - bound) >= -1e-9 * max(1.0, abs(bound))


def capped_std(mean: np.ndarray, std: np.ndarray, cap: float) -> np.ndarray:
    """Standard deviation of min(f, cap) for f ~ N(mean, std^2) (model scale, ``n``): the
    spread of what a test can show when it stops at ``cap`` (a cell at the test horizon), so
    no reason explores a life beyond it. ``std`` itself where ``cap`` is infinite."""
    if not np.isfinite(cap):
        return std
    a = (cap - mean) / std
    below, density = ndtr(a), np.exp(-(a**2) / 2) / np.sqrt(2 * np.pi)
    first = mean * below - std * density + cap * (1 - below)
    second = (mean**2 + std**2) * below - std * (mean + cap) * density + cap**2 * (1 - below)
    return np.sqrt(np.clip(second - first**2, 0.0, None))


def _reason(
    campaign: Campaign,
    gains: dict[str, tuple[np.ndarray, np.ndarray]],
    best_so_far: dict[str, float],
    rec: dict[str, Any],
    i: int,
) -> str:
    """Why a membrane was picked: the objective that drives it (its predicted value or its
    uncertainty), then per objective the chance to beat the best so far, and the predicted
    value against that best (display units)."""
    best = max(gains, key=lambda k: gains[k][0][i] + 2 * gains[k][1][i])
    improve, unsure = gains[best][0][i], gains[best][1][i]
    name = campaign.label(best)
    if improve > 0:
        lead = f"predicted to beat the best {name} so far"
    elif unsure > abs(improve):
        lead = f"explores where {name} is uncertain"
    elif len(gains) == 1:  # nothing to balance: the most expected gain, however small
        lead = f"the largest expected gain on the best {name} so far, though predicted below it"
    else:
        lead = "balances the objectives (none is predicted to beat its best so far)"
    parts = []
    for p in gains:
        mean, top = campaign.to_display(p, [rec[f"{p}_mean"], best_so_far[p]])
        unit = f" {campaign.display_unit(p)}".rstrip()
        parts.append(
            f"{campaign.label(p)} {float(rec[f'{p}_chance']):.0%} "
            f"({significant(mean)} vs {significant(top)}{unit})"
        )
    return f"{lead}; chance to beat the best: {', '.join(parts)}"


def _film_note(campaign: Campaign, rec: dict[str, Any]) -> str:
    """``; 45% chance to form a film (stated: much salt ...)`` where forming is in doubt
    (below :data:`DOUBTFUL_FILM`), else nothing."""
    chance = rec.get("film_chance")
    if chance is None or not chance < DOUBTFUL_FILM:
        return ""
    why = [r.why or r.describe() for r in campaign.film_risks if r.matches(rec, campaign.space)]
    stated = f" (stated: {'; '.join(why)})" if why else ""
    return f"; {chance:.0%} chance to form a film{stated}"


def _prior_note(campaign: Campaign, fitted: Fitted, row: pd.DataFrame) -> str:
    """``; from prior 'wf3' (the polymer: WF3): its nearest membrane reached 0.021`` where a
    prior source drives the model of an objective (it carries 0.5 or more), else nothing."""
    for prop, model in fitted.objectives.items():
        found = source_hint(model, row)
        if found is None:
            continue
        source, says, value = found
        shown = significant(campaign.to_display(prop, [value])[0])
        unit = f" {campaign.display_unit(prop)}".rstrip()
        return (
            f"; from prior '{source.prior.label}' ({source.prior.differs}): {says} "
            f"{campaign.label(prop)} {shown}{unit}"
        )
    return ""


DOUBTFUL_FILM = 0.9
"""A proposal whose chance to form a film is below this says so in its reason."""
