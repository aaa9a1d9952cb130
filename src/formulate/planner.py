"""Planner: propose the next batch of membranes.

The search runs over a *candidate pool* of feasible formulations: every allowed combination
of categorical levels (forbidden ones never appear) times scrambled Sobol points over the
variables active in it (inactive ones stay empty, discrete grids snapped, linear constraints
kept). The pool is scored once, one candidate at a time; the best (a shortlist) plus local
neighbours of the very best (the same pool rules; this refines continuous variables) go to
BoTorch's ``optimize_acqf_discrete``, which picks the batch greedily with the earlier picks and
the campaign's pending membranes as pending points. Every
proposal is therefore feasible by construction, with any encoding.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch
from botorch.exceptions.warnings import BotorchWarning, InputDataWarning
from botorch.models import ModelListGP
from botorch.optim import optimize_acqf_discrete
from scipy.stats import qmc

from formulate import acquisition
from formulate.baselines import BASELINES, signature
from formulate.baselines import pick as pick_baseline
from formulate.campaign import Campaign
from formulate.errors import FormulateError, Problem
from formulate.space import Continuous, DesignSpace, Discrete
from formulate.store import NewMembrane, Store
from formulate.surrogates import (
    MIN_POINTS,
    ObjectiveModel,
    fit_objective,
    model_cache,
    resolve_device,
    to_model_scale,
)

POOL_SIZE = 2048
"""Candidates in the pool (spread over the allowed categorical combinations)."""
ACTIVE_POINTS = 256
"""Points of the pool over which ``active`` integrates the posterior variance."""
SHORTLIST = 256
"""Best single candidates of the pool that the greedy batch search chooses among."""
SCORE_CHUNK = (512, 8192)
"""Candidates scored at once on the CPU and on a GPU."""
REFINE_TOP = 8
REFINE_PER_POINT = 32
"""Local neighbours of the best candidates added to the shortlist (continuous refinement)."""


@dataclass(frozen=True)
class Request:
    """What to propose. ``weights`` (per objective) are for ``parego``; ``target`` for
    ``qlognei``; ``replicates`` allows formulations already made."""

    batch_size: int = 4
    strategy: str = "qlognehvi"
    seed: int = 0
    device: str = "auto"
    surrogate: str | None = None
    weights: dict[str, float] | None = None
    target: str | None = None
    replicates: bool = False
    pool_size: int = POOL_SIZE
    disk_cache: bool = True


# --- the candidate pool ---------------------------------------------------------------------


def combinations(space: DesignSpace) -> list[dict[str, str]]:
    """Every allowed combination of categorical levels (forbidden ones left out)."""
    names = space.categorical_names()
    combos = [
        dict(zip(names, levels, strict=True))
        for levels in itertools.product(*(list(space.levels(n)) for n in names))
    ]
    return [c for c in combos if not any(rule.matches(c) for rule in space.forbidden)]


def _fill(space: DesignSpace, combo: dict[str, str], unit: np.ndarray) -> list[dict]:
    """Formulations for one combination from points in the unit cube of its active numbers."""
    active = [n for n in space.numeric_names() if space.is_active(n, combo)]
    rows = []
    for point in unit:
        f: dict = {**combo, **{n: None for n in space.numeric_names()}}
        for name, u in zip(active, point, strict=False):
            f[name] = _scale(space, name, float(u))
        rows.append(f)
    return [r for r in rows if all(c.satisfied(r) for c in space.linear_constraints)]


def _scale(space: DesignSpace, name: str, u: float) -> float:
    var = space.variables[name]
    if isinstance(var, Discrete):
        grid = var.grid
        return grid[min(int(u * len(grid)), len(grid) - 1)]
    assert isinstance(var, Continuous)
    return var.low + min(max(u, 0.0), 1.0) * (var.high - var.low)


def candidate_pool(space: DesignSpace, size: int = POOL_SIZE, seed: int = 0) -> pd.DataFrame:
    """About ``size`` feasible formulations spread evenly over the allowed combinations."""
    combos = combinations(space)
    if not combos:
        raise FormulateError(
            "the design space allows no combination of levels",
            [Problem("forbidden", "every combination is forbidden", "relax the forbidden rules")],
        )
    per = max(8, int(2 ** np.ceil(np.log2(max(size // len(combos), 1)))))
    rows = []
    for i, combo in enumerate(combos):
        active = [n for n in space.numeric_names() if space.is_active(n, combo)]
        if active:
            unit = qmc.Sobol(len(active), scramble=True, seed=seed * 1000 + i).random(per)
        else:
            unit = np.zeros((1, 0))
        rows += _fill(space, combo, unit)
    return pd.DataFrame(rows).drop_duplicates().reset_index(drop=True)


def neighbours(
    space: DesignSpace, pool: pd.DataFrame, n: int, seed: int, width: float = 0.05
) -> pd.DataFrame:
    """``n`` feasible perturbations of each row: active numbers moved by a normal step of
    ``width`` of their range (discrete ones to a grid value), levels kept."""
    rng = np.random.default_rng(seed)
    rows = []
    for rec in pool.to_dict("records"):
        combo = {c: rec[c] for c in space.categorical_names()}
        active = [v for v in space.numeric_names() if space.is_active(v, combo)]
        if not active:
            continue
        lows = np.array([space.variables[v].bounds[0] for v in active])  # type: ignore[union-attr]
        highs = np.array([space.variables[v].bounds[1] for v in active])  # type: ignore[union-attr]
        here = (np.array([rec[v] for v in active], dtype=float) - lows) / (highs - lows)
        unit = np.clip(here + width * rng.normal(size=(n, len(active))), 0, 1)
        rows += _fill(space, combo, unit)
    return pd.DataFrame(rows)


# --- models --------------------------------------------------------------------------------


@dataclass
class Fitted:
    """The models behind a proposal: objectives first, then constraint outputs."""

    objectives: dict[str, ObjectiveModel]
    constraints: list[tuple[ObjectiveModel, acquisition.Constraint]]
    notes: list[str]

    def model_list(self) -> ModelListGP:
        parts = [m.model for m in self.objectives.values()] + [m.model for m, _ in self.constraints]
        return ModelListGP(*parts)


def fit_models(
    campaign: Campaign,
    table: pd.DataFrame,
    surrogate: str | None = None,
    device: str = "auto",
    disk_cache: bool = True,
) -> Fitted:
    """Objective models, plus models for outcome constraints with enough data and for film
    formation when some films failed (learned feasibility). ``disk_cache``: keep fitted
    models in the campaign folder (off for backtests, which fit thousands once each)."""
    name = surrogate or campaign.strategy.surrogate or "gp-physics"
    cache = model_cache(campaign) if disk_cache else None
    objectives = {
        o.property: fit_objective(campaign, table, o.property, name, device, cache)
        for o in campaign.objectives
    }
    constraints: list[tuple[ObjectiveModel, acquisition.Constraint]] = []
    notes: list[str] = []
    n_obj = len(objectives)
    wanted = [
        (c.property, c.value, 1.0 if c.op == ">=" else -1.0) for c in campaign.outcome_constraints
    ]
    if "film_formed" in table and (table["film_formed"] == 0).any():
        wanted.append(("film_formed", 0.5, 1.0))
    for prop, value, sign in wanted:
        have = int(table[prop].notna().sum()) if prop in table else 0
        if have < MIN_POINTS:
            notes.append(f"constraint on {prop} not applied: {have} membrane(s) measured")
            continue
        model = fit_objective(campaign, table, prop, name, device, cache)
        threshold = float(to_model_scale(np.array([value]), model.transform)[0])
        constraints.append(
            (model, acquisition.Constraint(n_obj + len(constraints), threshold, sign))
        )
    return Fitted(objectives, constraints, notes)


# --- proposing -----------------------------------------------------------------------------


def _rows(table: pd.DataFrame, statuses: tuple[str, ...]) -> pd.DataFrame:
    return table[table["status"].isin(statuses)] if len(table) else table


def propose(
    campaign: Campaign,
    table: pd.DataFrame,
    request: Request,
    candidates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The next batch as a DataFrame: formulation, predicted mean and 95% interval per
    objective (property units), acquisition value and a one-line reason; nothing is stored.
    ``candidates`` (a pool backtest: the rows not yet revealed) replaces the candidate pool;
    proposals are then rows of it, with their index kept.

    Raises:
        FormulateError: unknown strategy, or too little data for a model-based strategy.
    """
    torch.manual_seed(request.seed)
    known = (*acquisition.STRATEGIES, *BASELINES)
    if request.strategy not in known:
        raise FormulateError(
            f"unknown strategy '{request.strategy}'",
            [Problem("strategy", request.strategy, f"use one of {list(known)}")],
        )
    if request.strategy in BASELINES:
        out = pick_baseline(
            request.strategy, campaign, table, request.batch_size, request.seed, candidates
        )
        return out if candidates is not None else out.reset_index(drop=True)
    fixed = candidates is not None
    if fixed:
        assert candidates is not None
        pool = candidates
        request = replace(request, batch_size=min(request.batch_size, len(candidates)))
    else:
        pool = candidate_pool(campaign.space, request.pool_size, request.seed)
        if not request.replicates:
            pool = _exclude_made(campaign, pool, table)
    fitted = fit_models(campaign, table, request.surrogate, request.device, request.disk_cache)
    picked, values = _optimize(campaign, table, pool, fitted, request, refine=not fixed)
    out = _describe(campaign, picked, values, fitted, request)
    return out if fixed else out.reset_index(drop=True)


def _exclude_made(campaign: Campaign, pool: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    names = campaign.space.names()
    if table.empty:
        return pool
    made = {signature(r, names) for r in table[names].to_dict("records")}
    keep = [signature(r, names) not in made for r in pool[names].to_dict("records")]
    return pool[keep].reset_index(drop=True)


def _optimize(
    campaign: Campaign,
    table: pd.DataFrame,
    pool: pd.DataFrame,
    fitted: Fitted,
    request: Request,
    refine: bool = True,
) -> tuple[pd.DataFrame, np.ndarray]:
    encoder = next(iter(fitted.objectives.values())).encoder
    device = resolve_device(request.device)
    model = fitted.model_list()
    measured = _rows(table, ("measured",))
    measured = measured[measured[[o.property for o in campaign.objectives]].notna().any(axis=1)]
    pending = _rows(table, ("pending", "made"))
    X_base = encoder.encode(measured).to(device)
    X_pending = encoder.encode(pending).to(device) if len(pending) else None

    X_pool = encoder.encode(pool).to(device)
    if request.strategy == "active":
        space = X_pool[:: max(1, len(X_pool) // ACTIVE_POINTS)]
        index, values = acquisition.integrated_variance_batch(
            list(fitted.objectives.values()), X_pool, space, X_pending, request.batch_size
        )
        return pool.iloc[index], values
    acqf = acquisition.build(
        request.strategy,
        campaign,
        model,
        X_base,
        len(fitted.objectives),
        [c for _, c in fitted.constraints],
        fitted.objectives,
        X_pending,
        request.seed,
        request.weights,
        request.target,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BotorchWarning)
        warnings.simplefilter("ignore", InputDataWarning)
        with torch.no_grad():
            scores = torch.cat(
                [
                    acqf(chunk.unsqueeze(-2))
                    for chunk in X_pool.split(SCORE_CHUNK[device.type == "cuda"])
                ]
            )
        top = scores.argsort(descending=True)[:SHORTLIST].cpu().numpy()
        shortlist = pool.iloc[top]
        if refine:
            local = neighbours(
                campaign.space, pool.iloc[top[:REFINE_TOP]], REFINE_PER_POINT, request.seed
            )
            if not request.replicates and len(local):
                local = _exclude_made(campaign, local, table)
            shortlist = pd.concat([shortlist, local], ignore_index=True).drop_duplicates(
                ignore_index=True
            )
        X = encoder.encode(shortlist).to(device)
        chosen, acq_values = optimize_acqf_discrete(
            acqf, q=request.batch_size, choices=X, max_batch_size=512, unique=True
        )
    index = [int(torch.where((row == X).all(dim=-1))[0][0]) for row in chosen]
    return shortlist.iloc[index], acq_values.detach().cpu().numpy()


def _describe(
    campaign: Campaign, picked: pd.DataFrame, values: np.ndarray, fitted: Fitted, request: Request
) -> pd.DataFrame:
    out = picked[campaign.space.names()].copy()
    gains = {}
    for obj in campaign.objectives:
        model = fitted.objectives[obj.property]
        pred = model.predict(out)
        out[f"{obj.property}_mean"] = pred["mean"].to_numpy()
        out[f"{obj.property}_lower"] = pred["lower"].to_numpy()
        out[f"{obj.property}_upper"] = pred["upper"].to_numpy()
        sign = 1.0 if obj.direction == "maximize" else -1.0
        y = sign * model.data.y
        spread = float(np.std(y)) or 1.0
        mean, std = model.predict_scale(out)
        gains[obj.property] = (sign * mean - y.max()) / spread, std / spread
    out["acquisition"] = values
    if request.strategy == "active":
        out["reason"] = [
            "maps the space: most uncertain for "
            + max(gains, key=lambda k: gains[k][1][i])
            + f" (cuts the integrated variance by {100 * v / len(gains):.0f}% on average)"
            for i, v in enumerate(values)
        ]
    else:
        out["reason"] = [_reason(campaign, gains, i) for i in range(len(out))]
    if fitted.notes:
        out["reason"] = out["reason"] + "; " + "; ".join(fitted.notes)
    out["strategy"] = request.strategy
    return out


def _reason(campaign: Campaign, gains: dict[str, tuple[np.ndarray, np.ndarray]], i: int) -> str:
    """Which objective drives a proposal, and whether by its predicted value or uncertainty."""
    props = campaign.all_properties()
    best = max(gains, key=lambda k: gains[k][0][i] + 2 * gains[k][1][i])
    improve, unsure = gains[best][0][i], gains[best][1][i]
    unit = props[best].unit
    if improve > 0:
        return f"predicted to beat the best {best} so far ({unit or 'model scale'})".replace(
            " ()", ""
        )
    if unsure > abs(improve):
        return f"explores: {best} is uncertain here (sd {unsure:.2g} of the observed spread)"
    return f"balances the objectives; {best} close to the best so far"


def store_proposals(
    campaign: Campaign,
    store: Store,
    proposals: pd.DataFrame,
    provenance: str = "measured",
    source: str = "formulate propose",
) -> pd.DataFrame:
    """Save proposals as pending membranes of a new numbered batch; returns them with their
    ``membrane`` ids and ``batch``. ``provenance`` is what their outcomes will be: measured
    in a lab, or emulated by the virtual lab."""
    batch = store.next_batch(campaign.name)
    taken = set(store.membranes(campaign.name).get("membrane", pd.Series(dtype=str)))
    ids, k = [], 1
    for _ in range(len(proposals)):
        while f"B{batch}-{k}" in taken:
            k += 1
        ids.append(f"B{batch}-{k}")
        k += 1
    names = campaign.space.names()
    members = [
        NewMembrane(
            membrane=mid,
            formulation={n: rec.get(n) for n in names},
            provenance=provenance,
            status="pending",
            batch=batch,
            source=f"{source} ({rec.get('strategy', '')})",
            notes=str(rec.get("reason", "")),
        )
        for mid, rec in zip(ids, proposals.to_dict("records"), strict=True)
    ]
    store.add(campaign.name, members)
    out = proposals.copy()
    out.insert(0, "batch", batch)
    out.insert(0, "membrane", ids)
    return out
