"""Model-free strategies to compare the planner against: random, Sobol, one factor at a time,
and Optuna's TPE, GP and NSGA-II samplers through ask-and-tell.

Each picks a batch from the campaign's history (the table of membranes) alone, with no state
kept between calls, so that a backtest or a campaign can stop and continue anywhere. Each
picks either anywhere in the design space (feasible by construction or by rejection) or,
when ``candidates`` is given (a pool backtest), among those rows only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd
import torch

from formulate.model.surrogates import MIN_POINTS
from formulate.plan import peers
from formulate.plan.pool import (
    Formulation,
    combinations,
    complete,
    from_unit,
    nearest,
    signature,
    snap,
    sobol_engine,
    sobol_formulations,
    unit_matrix,
)
from formulate.spec.campaign import Campaign
from formulate.spec.space import DesignSpace
from formulate.spec.variables import Continuous, Discrete, is_missing

OFAT_LEVELS = 5
"""Values tried along a numeric factor in the first one-factor-at-a-time sweep (then 9)."""


@dataclass(frozen=True)
class Ask:
    """What a baseline is asked for: ``n`` formulations for ``campaign`` given its ``table``
    (one row per membrane), anywhere in the space or, with ``candidates``, among those rows."""

    strategy: str
    campaign: Campaign
    table: pd.DataFrame
    n: int
    seed: int
    candidates: pd.DataFrame | None = None


def pick(
    strategy: str,
    campaign: Campaign,
    table: pd.DataFrame,
    batch_size: int,
    seed: int,
    candidates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``batch_size`` formulations by a baseline, with a ``reason`` column; rows of
    ``candidates`` keep their index (so a pool backtest knows which rows were picked)."""
    if candidates is not None and len(candidates) < batch_size:
        batch_size = len(candidates)
    out = PICKERS[strategy](Ask(strategy, campaign, table, batch_size, seed, candidates))
    out["acquisition"] = np.nan
    out["strategy"] = strategy
    return out


# --- random and Sobol ------------------------------------------------------------------------


def _random(space: DesignSpace, n: int, seed: int, candidates: pd.DataFrame | None) -> pd.DataFrame:
    if candidates is not None:
        rows = np.random.default_rng(seed).choice(len(candidates), size=n, replace=False)
        out = candidates.iloc[rows].copy()
    else:
        out = pd.DataFrame(space.sample(n, seed=seed))
    out["reason"] = "random baseline (uniform, no model)"
    return out


def _random_pick(ask: Ask) -> pd.DataFrame:
    return _random(ask.campaign.space, ask.n, ask.seed, ask.candidates)


def _sobol(ask: Ask) -> pd.DataFrame:
    """A scrambled Sobol sequence over the space; on a pool, a space-filling pick among its
    rows (see :func:`spread`), never a row twice."""
    space, candidates = ask.campaign.space, ask.candidates
    if candidates is not None:
        return spread(space, ask.table, candidates, ask.n, ask.seed)
    out = pd.DataFrame(sobol_formulations(space, ask.n, ask.seed, skip=len(ask.table)))
    out["reason"] = "Sobol baseline (space-filling, no model)"
    return out


def spread(
    space: DesignSpace, table: pd.DataFrame, candidates: pd.DataFrame, n: int, seed: int
) -> pd.DataFrame:
    """``n`` rows of ``candidates`` spread over the pool the way a Sobol sequence spreads over a
    cube: the sequence (continued past the ``len(table)`` points already used) is read in the
    pool's own ranks (each column of its unit-cube matrix as percentiles), and each point takes
    the nearest row not picked yet. Dense parts of the pool get more rows, none twice. Rows keep
    their index."""
    U = unit_matrix(space, candidates)
    ranks = pd.DataFrame(U).rank(pct=True).to_numpy()
    sequence = sobol_engine(U.shape[1], seed).draw(len(table) + n, dtype=torch.float64)
    picked: list[int] = []
    for point in sequence.numpy()[len(table) :][: len(U)]:
        d = np.linalg.norm(ranks - point, axis=1)
        d[picked] = np.inf
        picked.append(int(np.argmin(d)))
    out = candidates.iloc[picked].copy()
    out["reason"] = "Sobol baseline on the pool (space-filling over its rows, no model)"
    return out


# --- one factor at a time --------------------------------------------------------------------


def scalar_score(campaign: Campaign, table: pd.DataFrame) -> pd.Series:
    """One number per measured membrane (larger is better): the mean over objectives of the
    z-scored, sign-adjusted model-scale values (a censored value at its bound)."""
    props = [o.property for o in campaign.objectives]
    done = table.dropna(subset=[p for p in props if p in table])
    if done.empty or not set(props) <= set(table.columns):
        return pd.Series(dtype=float)
    total = np.zeros(len(done))
    for o in campaign.objectives:
        y = o.score(done[o.property].to_numpy(dtype=float))
        total += (y - y.mean()) / (y.std() or 1.0)
    return pd.Series(total / len(props), index=done.index)


def _factor_values(space: DesignSpace, name: str, fine: bool) -> list:
    var = space.variables[name]
    if name in space.categorical_names():
        return list(space.levels(name))
    k = 2 * OFAT_LEVELS - 1 if fine else OFAT_LEVELS
    if isinstance(var, Discrete):
        grid = var.grid
        idx = np.unique(np.linspace(0, len(grid) - 1, min(k, len(grid))).round().astype(int))
        return [grid[i] for i in idx]
    assert isinstance(var, Continuous)
    return [float(v) for v in var.from_unit(np.linspace(0.0, 1.0, k))]


def _differs_only_in(space: DesignSpace, a: dict, b: dict, name: str) -> bool:
    names = space.names()
    key_a, key_b = signature(a, names), signature(b, names)
    i = names.index(name)
    others = [j for j in range(len(names)) if j != i and space.is_active(names[j], a)]
    return key_a[i] != key_b[i] and all(key_a[j] == key_b[j] for j in others)


def _ofat(ask: Ask) -> pd.DataFrame:
    """What a lab does by hand: from the best membrane so far, vary one factor over its
    values with the others fixed (the paper's filler wt% series), then the next factor in
    the campaign's order; a second sweep uses a finer grid; when nothing is left, random."""
    campaign, table, n, seed, candidates = (
        ask.campaign,
        ask.table,
        ask.n,
        ask.seed,
        ask.candidates,
    )
    space = campaign.space
    names = space.names()
    score = scalar_score(campaign, table)
    if score.empty:
        out = _random(space, n, seed, candidates)
        out["reason"] = "one-factor-at-a-time: no measured membrane yet, random start"
        return out
    best = {k: table.loc[score.idxmax(), k] for k in names}
    best = {k: None if is_missing(v) else v for k, v in best.items()}
    made = {signature(r, names) for r in table[names].to_dict("records")}
    picked: list[Formulation] = []
    reasons: list[str] = []
    if candidates is not None:
        return _ofat_pool(space, best, candidates, n, seed)
    for fine in (False, True):
        for name in names:
            if not space.is_active(name, best):
                continue
            options = [
                complete(space, {**best, name: v}) for v in _factor_values(space, name, fine)
            ]
            for option in [o for o in options if not space.violated_rules(o)]:
                key = signature(option, names)
                if key in made or key in {signature(p, names) for p in picked}:
                    continue
                picked.append(option)
                reasons.append(f"one-factor-at-a-time: varies {name} around the best so far")
                if len(picked) == n:
                    return _ofat_frame(space, picked, reasons)
    rest = _random(space, n - len(picked), seed, None)
    out = _ofat_frame(space, picked, reasons)
    rest["reason"] = "one-factor-at-a-time: every single-factor change tried, random"
    return pd.concat([out, rest])


def _ofat_pool(
    space: DesignSpace, best: Formulation, candidates: pd.DataFrame, n: int, seed: int
) -> pd.DataFrame:
    """One-factor moves on a pool: for each factor in turn and each of its values, the
    unrevealed row nearest (unit cube) to the best so far with that one factor changed, the
    distance said in the reason (a pool rarely holds the exact change); random, said so, when
    every move has been made."""
    U = unit_matrix(space, candidates)
    picked: list[int] = []
    reasons: list[str] = []
    for fine in (False, True):
        for name in [v for v in space.names() if space.is_active(v, best)]:
            for value in _factor_values(space, name, fine):
                target = complete(space, {**best, name: value})
                if value == best.get(name) or space.violated_rules(target):
                    continue
                d = np.linalg.norm(U - unit_matrix(space, pd.DataFrame([target])), axis=1)
                d[picked] = np.inf
                if not np.isfinite(d).any():
                    break
                picked.append(int(np.argmin(d)))
                reasons.append(
                    f"one-factor-at-a-time: {name} -> {value} from the best so far "
                    f"(nearest pool row, {d[picked[-1]]:.2f} away)"
                )
                if len(picked) == n:
                    return candidates.iloc[picked].assign(reason=reasons)
    out = candidates.iloc[picked].assign(reason=reasons)
    left = candidates.drop(index=candidates.index[picked])
    rest = _random(space, n - len(picked), seed, left)
    rest["reason"] = "one-factor-at-a-time: no single-factor move left in the pool, random"
    return pd.concat([out, rest])


def _ofat_frame(space: DesignSpace, picked: list[Formulation], reasons: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(picked, columns=space.names())
    out["reason"] = reasons
    return out


# --- Optuna ----------------------------------------------------------------------------------


LEVELS = "levels"
"""The Optuna parameter holding a formulation's categorical levels, joined by ``|``."""


def optuna_distributions(
    space: DesignSpace, table: pd.DataFrame, candidates: pd.DataFrame | None
) -> dict[str, optuna.distributions.BaseDistribution]:
    """The space as Optuna distributions: one categorical parameter over the *allowed*
    combinations of levels (so no sampler can suggest a forbidden one, which TPE would
    otherwise repeat, never learning from failed trials), and each number by its bounds (for
    a pool: the combinations and ranges it holds). Conditional numbers are always suggested
    (a static space suits the samplers) and blanked where inactive."""
    rows = None if candidates is None else pd.concat([table, candidates])
    dists: dict[str, optuna.distributions.BaseDistribution] = {}
    cats = space.categorical_names()
    if cats:
        combos = ["|".join(c[n] for n in cats) for c in combinations(space)]
        if rows is not None:
            present = set(rows[cats].astype(str).agg("|".join, axis=1))
            combos = [c for c in combos if c in present]
        dists[LEVELS] = optuna.distributions.CategoricalDistribution(combos)
    for name in space.numeric_names():
        low, high = space.bounds(name)
        if rows is not None:
            x = pd.to_numeric(rows[name], errors="coerce").dropna()
            low, high = (float(x.min()), float(x.max())) if len(x) else (low, high)
        if high > low:
            log = space.variables[name].scale == "log"  # type: ignore[union-attr]
            dists[name] = optuna.distributions.FloatDistribution(low, high, log=log)
    return dists


def _to_params(space: DesignSpace, rec: dict, dists: dict) -> dict[str, str | float]:
    params: dict[str, str | float] = {}
    for name, dist in dists.items():
        if name == LEVELS:
            params[name] = "|".join(str(rec[c]) for c in space.categorical_names())
            continue
        value = rec.get(name)
        low, high = dist.low, dist.high
        middle = math.sqrt(low * high) if dist.log else (low + high) / 2
        params[name] = middle if is_missing(value) else float(value)  # type: ignore[arg-type]
    return params


def _from_params(space: DesignSpace, params: dict) -> dict:
    levels = str(params.get(LEVELS, "")).split("|")
    f: dict[str, str | float | None] = dict(zip(space.categorical_names(), levels, strict=False))
    for name in space.numeric_names():
        value = params.get(name)
        f[name] = from_unit(space, name, 0.5) if value is None else snap(space, name, float(value))
    return complete(space, f)


def _sampler(strategy: str, seed: int, batch_size: int) -> optuna.samplers.BaseSampler:
    if strategy == "optuna-tpe":
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=MIN_POINTS, constant_liar=True
        )
    if strategy == "optuna-gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=MIN_POINTS)
    return optuna.samplers.NSGAIISampler(seed=seed, population_size=max(4, 2 * batch_size))


def study_from_history(
    strategy: str, campaign: Campaign, table: pd.DataFrame, dists: dict, seed: int, batch_size: int
) -> optuna.Study:
    """A fresh study holding the campaign's measured membranes as completed trials (values:
    sign-adjusted model-scale objectives, all maximized; a censored value at its bound) and
    failed films as failed trials. NSGA-II's generations are replayed in order."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    sampler = _sampler(strategy, seed, batch_size)
    study = optuna.create_study(directions=["maximize"] * len(campaign.objectives), sampler=sampler)
    # Optuna has no public name for the system attribute that holds a trial's generation; the
    # class method is the documented way GA samplers share it (optuna/samplers/_ga/_base.py).
    key = (
        sampler._get_generation_key()
        if isinstance(sampler, optuna.samplers.NSGAIISampler)
        else None
    )
    done = table[table["status"].isin(("measured", "failed"))] if len(table) else table
    completed = 0
    for rec in done.to_dict("records"):
        params = _to_params(campaign.space, rec, dists)
        values = [rec.get(o.property) for o in campaign.objectives]
        if any(is_missing(v) for v in values):
            trial = optuna.trial.create_trial(
                state=optuna.trial.TrialState.FAIL, params=params, distributions=dists
            )
        else:
            scaled = [
                float(o.score([v])[0]) for o, v in zip(campaign.objectives, values, strict=True)
            ]
            size = getattr(sampler, "population_size", None) or 1
            attrs = {key: completed // size} if key else {}
            trial = optuna.trial.create_trial(
                params=params, distributions=dists, values=scaled, system_attrs=attrs
            )
            completed += 1
        study.add_trial(trial)
    return study


def _optuna(ask: Ask) -> pd.DataFrame:
    """Ask ``n`` trials (kept running, so each sampler sees the batch's earlier picks); a
    suggestion breaking a linear constraint is failed and asked again; for a pool, each suggestion
    is snapped to the nearest row not yet picked."""
    strategy, campaign, table, n, seed, candidates = (
        ask.strategy,
        ask.campaign,
        ask.table,
        ask.n,
        ask.seed,
        ask.candidates,
    )
    space = campaign.space
    dists = optuna_distributions(space, table, candidates)
    study = study_from_history(strategy, campaign, table, dists, seed, n)
    picked: list[Formulation] = []
    left = candidates
    for _ in range(200 * n):
        if len(picked) == n:
            break
        trial = study.ask(dists)
        f = _from_params(space, trial.params)
        if left is None and space.violated_rules(f):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        if left is not None:
            row = nearest(space, [f], left)
            left = left.drop(index=row.index)
            picked.append(row.iloc[0].to_dict() | {"_index": row.index[0]})
        else:
            picked.append(f)
    if len(picked) < n:
        raise ValueError(f"{strategy} found only {len(picked)} feasible formulations of {n}")
    out = pd.DataFrame(picked)
    if candidates is not None:
        out = candidates.loc[out["_index"].tolist()].copy()
    out["reason"] = f"Optuna {strategy.split('-')[1].upper()} sampler (ask-and-tell)"
    return out


PICKERS: dict[str, Callable[[Ask], pd.DataFrame]] = {
    "random": _random_pick,
    "sobol": _sobol,
    "ofat": _ofat,
    "optuna-tpe": _optuna,
    "optuna-gp": _optuna,
    "baybe": lambda ask: peers.baybe(ask.campaign, ask.table, ask.n, ask.seed, ask.candidates),
    "ax": lambda ask: peers.ax(ask.campaign, ask.table, ask.n, ask.seed, ask.candidates),
    "optuna-nsga2": _optuna,
}
"""One builder per model-free strategy of :data:`formulate.spec.strategies.STRATEGIES`."""
