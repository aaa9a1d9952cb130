"""The planners a lab would otherwise pick, as strategies: BayBE and Ax (``pip install
'formulate[peers]'``), each configured the way its documentation recommends for a mixed space
with several objectives, measured and never tuned against.

* **BayBE** (``baybe``): a ``Campaign`` with a ``ParetoObjective`` over the objectives (model
  scale: log10 conductivity, logit t+, log10 life; one objective: a ``SingleTargetObjective``),
  its default two-phase recommender (random until it has data, then its Bayesian one) with
  qLogNEHVI at the reference point ours uses. Categorical levels with descriptors are
  ``CustomDiscreteParameter`` s of those descriptors (what ours reads); on a pool the search
  space is the pool's rows (``SearchSpace.from_dataframe``), as BayBE's own backtests do.
* **Ax** (``ax``): the ``Client`` API with its default generation strategy (Sobol, then
  BoTorch), one objective per campaign objective (a multi-objective experiment) with our
  reference point as its objective thresholds.

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

from formulate.data.priors import source_rows
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
        exact = d[i] < 1e-9 and candidates is not None
        reasons.append(
            f"{who} suggestion (a pool row)"
            if exact
            else f"{who} suggestion moved to {where} ({d[i]:.2f} away)"
        )
    out = pd.DataFrame(rows, index=options.index[taken] if candidates is not None else None)
    out["reason"] = reasons
    return out


def baybe(
    campaign: Campaign, table: pd.DataFrame, n: int, seed: int, candidates: pd.DataFrame | None
) -> pd.DataFrame:
    """``n`` formulations recommended by BayBE (see the module for how it is configured)."""
    _require("baybe", "baybe")
    from baybe import Campaign as BayBECampaign
    from baybe.acquisition import qLogNEHVI
    from baybe.objectives import ParetoObjective, SingleTargetObjective
    from baybe.recommenders import BotorchRecommender, TwoPhaseMetaRecommender
    from baybe.targets import NumericalTarget
    from baybe.utils.random import set_random_seed

    set_random_seed(seed)
    done, _ = _finished(campaign, table)
    targets = [NumericalTarget(o.property, minimize=o.sign < 0) for o in campaign.objectives]
    kwargs: dict[str, Any] = {}
    if len(targets) > 1:
        objective: Any = ParetoObjective(targets)
        ref = tuple(float(r) for r in _reference(campaign, done))  # BoTorch's maximizing scale
        kwargs["recommender"] = TwoPhaseMetaRecommender(
            recommender=BotorchRecommender(acquisition_function=qLogNEHVI(reference_point=ref))
        )
    else:
        objective = SingleTargetObjective(targets[0])
    sources = _sources(campaign)
    space = _baybe_space(campaign, candidates, done, sources)
    peer = BayBECampaign(space, objective, **kwargs)
    if sources:  # BayBE's transfer learning: a task parameter, the campaign's task active
        done = done.assign(**{TASK: OWN_TASK})
        done = pd.concat([done, *sources.values()], ignore_index=True)
    if len(done):
        peer.add_measurements(done)
    with _quiet():
        raw = peer.recommend(batch_size=n)
    return _allowed(campaign, raw, candidates, seed, "BayBE")


TASK, OWN_TASK = "formulate_task", "this campaign"
"""BayBE's task parameter where a campaign has prior sources, and the campaign's own task."""


def _sources(campaign: Campaign) -> dict[str, pd.DataFrame]:
    """Each ``[[prior]]`` source's rows as BayBE measurements of its own task (objectives on
    the model scale, inactive numbers at the middle of their range), by source name."""
    out = {}
    for source in source_rows(campaign):
        rows = source.rows.dropna(subset=[o.property for o in campaign.objectives])
        out[source.prior.label] = _finished(campaign, rows)[0].assign(**{TASK: source.prior.label})
    return out


def _baybe_space(
    campaign: Campaign,
    candidates: pd.DataFrame | None,
    done: pd.DataFrame,
    sources: dict[str, pd.DataFrame] | None = None,
) -> Any:
    """BayBE's search space: on a pool, its rows (and those measured) as a discrete space, as
    BayBE's own backtests do; elsewhere the product of the variables. A categorical whose
    levels carry descriptors (ours reads them) is a ``CustomDiscreteParameter`` of them. With
    prior ``sources``, a ``TaskParameter`` whose active value is the campaign (BayBE's
    transfer learning); the space holds the campaign's rows, the sources' values are valid
    values of its parameters (their rows arrive as measurements of their own tasks)."""
    from baybe.parameters import (
        CategoricalParameter,
        CustomDiscreteParameter,
        NumericalContinuousParameter,
        NumericalDiscreteParameter,
        TaskParameter,
    )
    from baybe.searchspace import SearchSpace

    space = campaign.space
    params: list[Any] = []
    for v in space.categorical_names():
        table = pd.DataFrame.from_dict(space.levels(v), orient="index").dropna(axis=1)
        table = table.loc[:, table.nunique() > 1] if len(table.columns) else table
        params.append(
            CustomDiscreteParameter(v, data=table.astype(float))
            if len(table.columns)
            else CategoricalParameter(v, values=list(space.levels(v)))
        )
    sources = sources or {}
    if sources:
        tasks = (OWN_TASK, *sources)
        params.append(TaskParameter(TASK, values=tasks, active_values=(OWN_TASK,)))
    if candidates is None:
        params += [
            NumericalContinuousParameter(v, bounds=space.bounds(v)) for v in space.numeric_names()
        ]
        return SearchSpace.from_product(params)
    rows = pd.concat([candidates[space.names()], done[space.names()]]).drop_duplicates()
    values = pd.concat([rows, *(s[space.names()] for s in sources.values())])
    params += [  # the sources' values too: their measurements must be valid values
        NumericalDiscreteParameter(v, values=tuple(sorted(values[v].astype(float).unique())))
        for v in space.numeric_names()
    ]
    rows = rows.assign(**{TASK: OWN_TASK}) if sources else rows  # only the active task
    return SearchSpace.from_dataframe(rows.reset_index(drop=True), parameters=params)


def _reference(campaign: Campaign, done: pd.DataFrame) -> np.ndarray:
    """The hypervolume reference point ours uses (sign-adjusted model scale), for the peers."""
    from formulate.plan.progress import reference_point

    observed = {
        o.property: o.sign * done[o.property].to_numpy(dtype=float) for o in campaign.objectives
    }
    return reference_point(campaign, observed)


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
    done, failed = _finished(campaign, table)
    thresholds = None
    if len(campaign.objectives) > 1 and len(done):  # objective thresholds: our reference
        ref = _reference(campaign, done)
        thresholds = [
            f"{names[o.property]} >= {r}" if o.sign > 0 else f"{names[o.property]} <= {-r}"
            for o, r in zip(campaign.objectives, ref, strict=True)
        ]
    client.configure_optimization(
        objective=", ".join(
            s + names[o.property] for s, o in zip(signs, campaign.objectives, strict=True)
        ),
        outcome_constraints=thresholds,
    )
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
