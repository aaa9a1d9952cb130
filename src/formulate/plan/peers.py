"""The planners a lab would otherwise pick, as strategies: BayBE and Ax (``pip install
'formulate[peers]'``), each configured the way its documentation recommends for a mixed space
with several objectives, measured and never tuned against.

* **BayBE** (``baybe``): a ``Campaign`` with a ``ParetoObjective`` over the objectives (model
  scale: log10 conductivity, logit t+, log10 life; one objective: a ``SingleTargetObjective``),
  its default two-phase recommender (random until it has data, then its Bayesian one) with
  qLogNEHVI at the reference point ours uses. Categorical levels with descriptors are
  ``CustomDiscreteParameter`` s of those descriptors (what ours reads); on a pool the search
  space is the pool's rows (``SearchSpace.from_dataframe``), as BayBE's own backtests do,
  with ``allow_recommending_already_measured=False`` (BayBE 0.15's default would ask for a
  measured row again, which the pool cannot give).
* **Ax** (``ax``): the ``Client`` API with its default generation strategy (Sobol, then
  BoTorch), one objective per campaign objective (a multi-objective experiment) with our
  reference point as its objective thresholds.

Both are told the campaign's linear constraints (Ax as ``parameter_constraints``, BayBE as
``ContinuousLinearConstraint`` s off a pool; on a pool BayBE searches its rows). Ax, which
proposes anywhere in the box, is also told a pool's composition as its own docs would have a
user write a mixture: where some numeric variables sum to one total in every pool row
(:func:`mixture`), the last is a ``DerivedParameterConfig`` (the total minus the others) and
the others' sum is bounded by ``parameter_constraints``. Constraints over a log-scale or
conditional variable are not passed (Ax cannot express them; either peer sees a conditional
variable at mid-range): its proposals are moved as below.

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
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from formulate.data.priors import source_rows
from formulate.errors import FormulateError, Problem
from formulate.plan.pool import candidate_pool, complete, from_unit, snap, unit_matrix
from formulate.spec.campaign import Campaign
from formulate.spec.space import DesignSpace, LinearConstraint


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
    done, failed = _mid_range(space, done), _mid_range(space, failed)
    for o in campaign.objectives:
        done[o.property] = o.to_model_scale(done[o.property].to_numpy(dtype=float))
    return done[[*space.names(), *props]], failed[space.names()]


def _mid_range(space: DesignSpace, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every missing (inactive) number at the middle of its range."""
    frame = frame.copy()
    for n in space.numeric_names():
        middle = from_unit(space, n, 0.5)
        frame[n] = pd.to_numeric(frame.get(n), errors="coerce").fillna(middle)
    return frame


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
        if candidates is None:  # on the grid, at a lab's precision (as every proposal)
            want = {
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
        exact = d[i] < 1e-6 and candidates is not None  # a pool row, read back as floats
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
    if candidates is not None:  # a pool's row is measured once: never ask for it again
        kwargs["allow_recommending_already_measured"] = False
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
    from baybe.searchspace import SearchSpace, SubspaceDiscrete

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
        return SearchSpace.from_product(params, constraints=_baybe_constraints(space))
    rows = pd.concat([_mid_range(space, candidates)[space.names()], done[space.names()]])
    rows = rows.drop_duplicates()
    values = pd.concat([rows, *(s[space.names()] for s in sources.values())])
    params += [  # the sources' values too: their measurements must be valid values
        NumericalDiscreteParameter(v, values=tuple(sorted(values[v].astype(float).unique())))
        for v in space.numeric_names()
    ]
    rows = rows.assign(**{TASK: OWN_TASK}) if sources else rows  # only the active task
    rows = rows.reset_index(drop=True).astype({v: float for v in space.numeric_names()})
    # What SearchSpace.from_dataframe builds, without its check of every value of a column
    # against every value of its parameter (O(values^2): minutes a step on a pool of
    # thousands of rows), which holds here by construction: the parameters hold these values
    return SearchSpace(discrete=SubspaceDiscrete(params, rows[[p.name for p in params]]))


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
        raw = ax_suggestions(campaign, table, n, seed, candidates)
    return _allowed(campaign, raw, candidates, seed, "Ax")


def ax_suggestions(
    campaign: Campaign, table: pd.DataFrame, n: int, seed: int, candidates: pd.DataFrame | None
) -> pd.DataFrame:
    """What Ax's ``Client`` asks for, before :func:`_allowed` makes it a formulation (or a
    pool row) of the campaign: one row per trial, Ax's parameters as columns."""
    from ax import Client

    space = campaign.space
    client = Client(random_seed=seed)
    mix = mixture(space, candidates)
    client.configure_experiment(
        parameters=_ax_parameters(space, mix), parameter_constraints=_ax_constraints(space, mix)
    )
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
    for rec in done.to_dict("records"):
        trial = client.attach_trial(parameters=_ax_point(space, rec, mix))
        client.complete_trial(trial_index=trial, raw_data={names[p]: float(rec[p]) for p in names})
    for rec in failed.to_dict("records"):
        trial = client.attach_trial(parameters=_ax_point(space, rec, mix))
        client.mark_trial_failed(trial_index=trial)
    trials = client.get_next_trials(max_trials=n)
    return pd.DataFrame(list(trials.values()))


# --- what a careful user tells a peer about the space --------------------------------------


@dataclass(frozen=True)
class Mixture:
    """Numeric variables that sum to ``total`` in every row of a pool (a composition), give
    or take ``spread`` (the rows' rounding)."""

    parts: tuple[str, ...]
    total: float
    spread: float = 0.0

    @property
    def derived(self) -> str:
        """The part Ax derives from the others (the last)."""
        return self.parts[-1]


MIXTURE_SPREAD = 0.02
"""The largest (max - min) / median of a pool's row sums still read as one total: tables round
their fractions (CALiSol's solvent fractions sum to 0.99-1.00, P3HT's percentages to
99.89-100.1)."""


def mixture(space: DesignSpace, candidates: pd.DataFrame | None) -> Mixture | None:
    """The largest set of two or more linear, unconditional numeric variables, each varying,
    whose values sum to one total in every pool row, as a user reading the table sees it
    (None off a pool or without such a set; more than 12 such variables: only all of them)."""
    if candidates is None or candidates.empty:
        return None
    names = [
        n
        for n in space.numeric_names()
        if _plain(space, n) and n in candidates and candidates[n].nunique() > 1
    ]
    values = candidates[names].apply(pd.to_numeric, errors="coerce")
    sizes = range(len(names), 1, -1) if len(names) <= 12 else [len(names)]
    for size in sizes:
        for parts in combinations(names, size):
            sums = values[list(parts)].sum(axis=1, skipna=False)
            total = float(sums.median())
            spread = float(sums.max() - sums.min())
            if sums.notna().all() and total > 0 and spread <= MIXTURE_SPREAD * total:
                return Mixture(parts, total, spread)
    return None


def _plain(space: DesignSpace, name: str) -> bool:
    """A numeric variable a linear constraint of Ax or BayBE can hold: linear, unconditional."""
    var = space.variables[name]
    return getattr(var, "scale", "linear") == "linear" and not var.active_when


def _passable(space: DesignSpace) -> list[LinearConstraint]:
    """The campaign's linear constraints over plain variables only (:func:`_plain`)."""
    return [c for c in space.linear_constraints if all(_plain(space, v) for v in c.coefficients)]


def _baybe_constraints(space: DesignSpace) -> list[Any]:
    """The campaign's linear constraints (:func:`_passable`) as BayBE's continuous ones."""
    from baybe.constraints import ContinuousLinearConstraint

    return [
        ContinuousLinearConstraint(
            parameters=list(c.coefficients),
            operator=c.op,
            coefficients=list(c.coefficients.values()),
            rhs=c.rhs,
        )
        for c in _passable(space)
    ]


def _ax_parameters(space: DesignSpace, mix: Mixture | None) -> list[Any]:
    """Ax's parameters: a choice per categorical, a range per number (log-scaled where ours
    is), a mixture's last part derived from the others."""
    from ax import ChoiceParameterConfig, RangeParameterConfig
    from ax.api.configs import DerivedParameterConfig

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
        if mix is None or v != mix.derived
    ]
    if mix is not None:
        expression = " - ".join([f"{mix.total:.12g}", *mix.parts[:-1]])
        parameters.append(
            DerivedParameterConfig(
                name=mix.derived, expression_str=expression, parameter_type="float"
            )
        )
    return parameters


def _ax_constraints(space: DesignSpace, mix: Mixture | None) -> list[str]:
    """``parameter_constraints`` for Ax: the campaign's (a mixture's derived part replaced by
    the total minus the others) and the bounds of a mixture's derived part on the others'
    sum."""
    out = []
    for con in _passable(space):
        coefs, rhs = dict(con.coefficients), con.rhs
        if mix is not None and mix.derived in coefs:
            c = coefs.pop(mix.derived)
            rhs -= c * mix.total
            for part in mix.parts[:-1]:
                coefs[part] = coefs.get(part, 0.0) - c
        out.append(_ax_inequality(coefs, con.op, rhs))
    if mix is not None:
        ones = dict.fromkeys(mix.parts[:-1], 1.0)
        low, high = space.bounds(mix.derived)  # widened by the rows' rounding, which Ax is told
        out += [_ax_inequality(ones, "<=", mix.total - low + mix.spread)]
        out += [_ax_inequality(ones, ">=", mix.total - high - mix.spread)]
    return [c for c in out if c]


def _ax_inequality(coefs: dict[str, float], op: str, rhs: float) -> str:
    """``"1*a + -2*b <= 3"`` (an empty string when every coefficient is 0)."""
    terms = " + ".join(f"{c:.12g}*{v}" for v, c in coefs.items() if c != 0)
    return f"{terms} {op} {rhs:.12g}" if terms else ""


def _ax_point(space: DesignSpace, rec: dict[str, Any], mix: Mixture | None) -> dict[str, Any]:
    """A membrane as Ax's parameters (a mixture's derived part: the total minus the others)."""
    cats = set(space.categorical_names())
    point = {v: rec[v] if v in cats else float(rec[v]) for v in space.names()}
    if mix is not None:
        point[mix.derived] = mix.total - sum(point[p] for p in mix.parts[:-1])
    return point
