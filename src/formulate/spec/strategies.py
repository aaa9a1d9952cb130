"""The strategies a campaign can choose the next batch with: the one table of their names.

The campaign file, the CLI's help, the app's strategy menu and the backtests' default lists all
read this table; :mod:`formulate.plan` holds one builder per name (a test checks that every
name has exactly one). It is plain data so that reading a campaign file imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from formulate.errors import Problem


@dataclass(frozen=True)
class StrategyInfo:
    """What a strategy is, for people and for the code that lists strategies.

    Attributes:
        summary: one line for menus and help.
        model: True when it fits surrogates (then the planner's warm-up runs until it can).
        objectives: ``several`` (a Pareto strategy: meaningful with two or more objectives),
            ``one`` (optimizes a single objective) or ``any``.
        extra: the optional install it needs (``peers``); such a strategy runs only when
            named, never in a default list (BayBE takes minutes per batch here).
    """

    summary: str
    model: bool
    objectives: Literal["any", "several", "one"] = "any"
    extra: str = ""


STRATEGIES: dict[str, StrategyInfo] = {
    "qlognehvi": StrategyInfo(
        "Pareto: improve the trade-off between all objectives (BoTorch qLogNEHVI)",
        model=True,
        objectives="several",
    ),
    "parego": StrategyInfo(
        "weighted: random Chebyshev weightings around your weights (qLogNParEGO)",
        model=True,
        objectives="several",
    ),
    "qlognei": StrategyInfo(
        "one objective only (noisy expected improvement)", model=True, objectives="one"
    ),
    "active": StrategyInfo(
        "map the space: most reduce the models' integrated uncertainty", model=True
    ),
    "random": StrategyInfo("baseline: uniform random, no model", model=False),
    "sobol": StrategyInfo("baseline: space-filling Sobol sequence, no model", model=False),
    "ofat": StrategyInfo(
        "baseline: one factor at a time from the best so far (as done by hand)", model=False
    ),
    "optuna-tpe": StrategyInfo("peer: Optuna's TPE sampler", model=False),
    "optuna-gp": StrategyInfo("peer: Optuna's GP sampler", model=False),
    "optuna-nsga2": StrategyInfo(
        "peer: Optuna's NSGA-II genetic sampler", model=False, objectives="several"
    ),
    "baybe": StrategyInfo(
        "peer: BayBE's recommender, Pareto objective (pip install 'formulate[peers]')",
        model=False,
        extra="peers",
    ),
    "ax": StrategyInfo(
        "peer: Ax's Client, default generation strategy (pip install 'formulate[peers]')",
        model=False,
        extra="peers",
    ),
}
DEFAULT_STRATEGY = "qlognehvi"
ONE_OBJECTIVE_STRATEGY = "qlognei"
"""The default of a campaign with one objective (qLogNEHVI needs two or more)."""
WARM_UP_STRATEGY = "sobol"
"""What a model-based strategy proposes while its models cannot be fitted yet."""
MIN_MEASURED = 3
"""Membranes with a property measured before its model is fitted, unless the campaign asks
for more (``[strategy] min_measured``): a GP with fewer points learns nothing but its prior."""


def model_strategies() -> tuple[str, ...]:
    """Strategies that fit surrogates."""
    return tuple(n for n, s in STRATEGIES.items() if s.model)


def baseline_strategies() -> tuple[str, ...]:
    """Model-free strategies (baselines and peers)."""
    return tuple(n for n, s in STRATEGIES.items() if not s.model)


def strategies_for(n_objectives: int) -> tuple[str, ...]:
    """Every strategy that makes sense for a campaign with ``n_objectives`` objectives."""
    skip = "one" if n_objectives > 1 else "several"
    return tuple(n for n, s in STRATEGIES.items() if s.objectives != skip and not s.extra)


def strategy_help() -> str:
    """``name: summary`` lines for help texts."""
    return "; ".join(f"{n} ({s.summary})" for n, s in STRATEGIES.items())


def one_objective_default(raw: Any) -> Any:
    """A raw campaign (the parsed TOML) with one objective and no ``[strategy] acquisition``
    gets :data:`ONE_OBJECTIVE_STRATEGY`: the default, qLogNEHVI, needs two or more."""
    if isinstance(raw, dict) and len(raw.get("objectives") or []) == 1:
        strategy = raw.get("strategy") or {}
        if isinstance(strategy, dict) and "acquisition" not in strategy:
            return {**raw, "strategy": {**strategy, "acquisition": ONE_OBJECTIVE_STRATEGY}}
    return raw


def objectives_problems(
    acquisition: str, n_objectives: int, where: str = "strategy.acquisition"
) -> list[Problem]:
    """An acquisition that needs several objectives on a campaign with one, at ``where``."""
    needs = STRATEGIES[acquisition].objectives if acquisition in STRATEGIES else "any"
    if needs != "several" or n_objectives >= 2:
        return []
    fix = f'write acquisition = "{ONE_OBJECTIVE_STRATEGY}"' if "." in where else "use qlognei"
    return [
        Problem(where, f"'{acquisition}' needs two or more objectives", f"{fix} (one objective)")
    ]
