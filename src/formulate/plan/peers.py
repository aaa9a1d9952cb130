"""The planners a lab would otherwise pick, as strategies: BayBE and Ax (``pip install
'formulate[peers]'``), each configured the way its documentation recommends for a mixed space
with several objectives, measured and never tuned against.

* **BayBE** (``baybe``): a ``Campaign`` with a ``ParetoObjective`` over the objectives (model
  scale: log10 conductivity, logit t+, log10 life), categorical and continuous parameters, its
  default recommender (random until it has data, then its Bayesian recommender).
* **Ax** (``ax``): the ``Client`` API with its default generation strategy (Sobol, then
  BoTorch), one objective per campaign objective (a multi-objective experiment).

What they cannot express, handled the same way for both and said in each proposal's reason:
an inactive variable (no filler wt% without a filler) is given the middle of its range when a
peer learns from a membrane and blanked in its proposal; numbers are snapped to their grid; a
proposal in a forbidden combination is moved to the nearest allowed formulation (on a pool:
the nearest row not yet revealed), with the distance; films that failed are told to Ax as
failed trials and left out for BayBE, which has no such notion; pending membranes are not
shown to either. A log-scale variable is a log-scaled range parameter for Ax; BayBE's
continuous parameters have no scale, so it searches that variable linearly.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from formulate.errors import FormulateError, Problem
from formulate.plan.pool import candidate_pool, complete, from_unit, snap, unit_matrix
from formulate.spec.campaign import Campaign


@contextmanager
def _quiet() -> Iterator[None]:
    """A peer's own log lines and warnings kept off the terminal while it is imported and runs
    (Ax logs every trial at INFO and warns about every unordered choice)."""
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def _require(module: str, strategy: str) -> object:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise FormulateError(
            f"strategy '{strategy}' needs the {module} package",
            [Problem("--strategy", strategy, "pip install 'formulate[peers]'")],
        ) from None


def _finished(campaign: Campaign, table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Membranes with every objective (objectives on the model scale, inactive numbers at the
    middle of their range), and the failed films (formulation only)."""
    space, props = campaign.space, [o.property for o in campaign.objectives]
    if table.empty or not set(props) <= set(table.columns):
        done = pd.DataFrame(columns=[*space.names(), *props])
    else:
        done = table.dropna(subset=props).copy()
    failed = table[table["status"] == "failed"].copy() if "status" in table else table.iloc[:0]
    for frame in (done, failed):
        for n in space.numeric_names():
            middle = from_unit(space, n, 0.5)
            frame[n] = pd.to_numeric(frame.get(n), errors="coerce").fillna(middle)
    for o in campaign.objectives:
        done[o.property] = o.to_model_scale(done[o.property].to_numpy(dtype=float))
    return done[[*space.names(), *props]], failed[space.names()]


def _allowed(
    campaign: Campaign, raw: pd.DataFrame, candidates: pd.DataFrame | None, seed: int, who: str
) -> pd.DataFrame:
    """A peer's suggestions as formulations of the campaign: inactive numbers blanked, then each
    kept when allowed, else moved to the nearest allowed formulation (a pool: the nearest row
    not revealed or taken), the move said in its reason."""
    space = campaign.space
    options = candidates if candidates is not None else candidate_pool(space, 2048, seed)
    taken: list[int] = []
    rows, reasons = [], []
    for rec in raw.to_dict("records"):
        want = complete(space, {n: rec[n] for n in space.names()})
        want = {  # on the grid, at a lab's precision (as every proposal)
            k: snap(space, k, float(v)) if k in space.numeric_names() and v is not None else v
            for k, v in want.items()
        }
        if candidates is None and not space.violated_rules(want):
            rows.append(want)
            reasons.append(f"{who} suggestion")
            continue
        d = np.linalg.norm(
            unit_matrix(space, options) - unit_matrix(space, pd.DataFrame([want])), axis=1
        )
        d[taken] = np.inf
        i = int(np.argmin(d))
        taken.append(i)
        rows.append(options.iloc[i][space.names()].to_dict())
        where = (
            "the nearest pool row" if candidates is not None else "the nearest allowed formulation"
        )
        reasons.append(f"{who} suggestion moved to {where} ({d[i]:.2f} away)")
    out = pd.DataFrame(rows, index=options.index[taken] if candidates is not None else None)
    out["reason"] = reasons
    return out


def baybe(
    campaign: Campaign, table: pd.DataFrame, n: int, seed: int, candidates: pd.DataFrame | None
) -> pd.DataFrame:
    """``n`` formulations recommended by BayBE (see the module for how it is configured)."""
    _require("baybe", "baybe")
    from baybe import Campaign as BayBECampaign
    from baybe.objectives import ParetoObjective
    from baybe.parameters import CategoricalParameter, NumericalContinuousParameter
    from baybe.searchspace import SearchSpace
    from baybe.targets import NumericalTarget
    from baybe.utils.random import set_random_seed

    set_random_seed(seed)
    space = campaign.space
    params: list[Any] = [
        CategoricalParameter(v, values=list(space.levels(v))) for v in space.categorical_names()
    ]
    params += [
        NumericalContinuousParameter(v, bounds=space.bounds(v)) for v in space.numeric_names()
    ]
    targets = [NumericalTarget(o.property, minimize=o.sign < 0) for o in campaign.objectives]
    peer = BayBECampaign(SearchSpace.from_product(params), ParetoObjective(targets))
    done, _ = _finished(campaign, table)
    if len(done):
        peer.add_measurements(done)
    with _quiet():
        raw = peer.recommend(batch_size=n)
    return _allowed(campaign, raw, candidates, seed, "BayBE")


def ax(
    campaign: Campaign, table: pd.DataFrame, n: int, seed: int, candidates: pd.DataFrame | None
) -> pd.DataFrame:
    """``n`` formulations from Ax's ``Client`` (see the module for how it is configured)."""
    with _quiet():
        _require("ax", "ax")
        return _ax(campaign, table, n, seed, candidates)


def _ax(
    campaign: Campaign, table: pd.DataFrame, n: int, seed: int, candidates: pd.DataFrame | None
) -> pd.DataFrame:
    from ax import ChoiceParameterConfig, Client, RangeParameterConfig

    space = campaign.space
    client = Client(random_seed=seed)
    parameters: list[Any] = [
        ChoiceParameterConfig(name=v, values=list(space.levels(v)), parameter_type="str")
        for v in space.categorical_names()
    ]
    parameters += [
        RangeParameterConfig(
            name=v,
            bounds=space.bounds(v),
            parameter_type="float",
            scaling=space.variables[v].scale,  # type: ignore[union-attr]
        )
        for v in space.numeric_names()
    ]
    client.configure_experiment(parameters=parameters)
    names = {o.property: f"y{i}" for i, o in enumerate(campaign.objectives)}
    signs = ("" if o.sign > 0 else "-" for o in campaign.objectives)
    client.configure_optimization(
        objective=", ".join(
            s + names[o.property] for s, o in zip(signs, campaign.objectives, strict=True)
        )
    )
    done, failed = _finished(campaign, table)
    cats = set(space.categorical_names())
    for rec in done.to_dict("records"):
        trial = client.attach_trial(
            parameters={v: rec[v] if v in cats else float(rec[v]) for v in space.names()}
        )
        client.complete_trial(trial_index=trial, raw_data={names[p]: float(rec[p]) for p in names})
    for rec in failed.to_dict("records"):
        trial = client.attach_trial(
            parameters={v: rec[v] if v in cats else float(rec[v]) for v in space.names()}
        )
        client.mark_trial_failed(trial_index=trial)
    trials = client.get_next_trials(max_trials=n)
    raw = pd.DataFrame(list(trials.values()))
    return _allowed(campaign, raw, candidates, seed, "Ax")
