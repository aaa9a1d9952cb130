"""Planner: propose the next batch of membranes.

The search runs over a *candidate pool* of feasible formulations: every allowed combination
of categorical levels (forbidden ones never appear) times scrambled Sobol points over the
variables active in it (inactive ones stay empty, discrete grids snapped, linear constraints
kept). The pool is scored once, one candidate at a time; the best (a shortlist) plus local
neighbours of the very best (the same pool rules; this refines continuous variables) go to
BoTorch's ``optimize_acqf_discrete``, which picks the batch greedily with the earlier picks and
the campaign's pending membranes as pending points. Every
proposal is therefore feasible by construction, with any encoding. While some family of
formulations (combination of categorical levels) has no membrane, the last pick of a batch of
two or more comes from one if it is worth a tenth of the plain pick (:func:`untried`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch
from botorch.acquisition import AcquisitionFunction
from botorch.exceptions.warnings import BotorchWarning, InputDataWarning
from botorch.utils.sampling import manual_seed

from formulate.data import PENDING, NewMembrane, Store
from formulate.errors import FormulateError, NotEnoughData, Problem
from formulate.model.device import resolve_device
from formulate.model.feasibility import probability_of_forming
from formulate.plan import acquisition
from formulate.plan.baselines import pick as pick_baseline
from formulate.plan.batch import lazy_greedy
from formulate.plan.explain import describe
from formulate.plan.fitting import Fitted, film_model, fit_models
from formulate.plan.pool import POOL_SIZE, candidate_pool, exclude, families, neighbours
from formulate.spec.campaign import Campaign
from formulate.spec.strategies import STRATEGIES, WARM_UP_STRATEGY, objectives_problems

ACTIVE_POINTS = 256
"""Points of the pool over which ``active`` integrates the posterior variance."""
SHORTLIST = 256
"""Candidates of the pool, ranked first by :func:`formulate.plan.acquisition.screen`, that the
noisy acquisition scores and the (lazy) greedy batch search chooses among."""
SCORE_CHUNK = (128, 8192)
"""Candidates scored at once on the CPU and on a GPU (on the CPU, 128 instead of 512 lowers
the peak memory of a proposal at 100 membranes from ~750 to ~670 MB at the same speed)."""
SCREEN_ABOVE = 60
"""Measured membranes above which the pool is ranked by the cheap screen first: below, scoring
every candidate with the noisy acquisition costs little and ranks better."""
UNTRIED_KEPT = 16
"""Candidates of untried families that the screen keeps beside its shortlist (the batch's last
pick may come from them)."""
LIKELY_FILM = 0.5
"""A warm-up batch keeps to candidates at least this likely to form a film."""
REFINE_TOP = 8
REFINE_PER_POINT = 16
"""Local neighbours of the best candidates added to the shortlist (continuous refinement)."""


@dataclass(frozen=True, kw_only=True)
class Request:
    """What to propose, checked once on construction.

    Attributes:
        batch_size: membranes in the batch (1-96).
        strategy: a name of :data:`formulate.spec.strategies.STRATEGIES`.
        seed: makes the proposal reproducible (scoped: no global random state is touched).
        device: ``auto``, ``cpu`` or ``cuda``.
        surrogate: surrogate spec (default: the campaign's).
        weights: per objective, for ``parego``.
        target: the objective ``qlognei`` improves.
        replicates: allow formulations already made.
        pool_size: candidates scored.
        disk_cache: keep fitted models in the campaign folder (off for backtests).
        warm_up: while a model-based strategy cannot fit its models, propose the warm-up
            strategy's batch instead (False: raise :class:`NotEnoughData`).

    Raises:
        FormulateError: an unknown strategy or a batch size out of range.
    """

    batch_size: int = 4
    strategy: str = "qlognehvi"
    seed: int = 0
    device: str = "auto"
    surrogate: str | None = None
    weights: dict[str, float] | None = field(default=None, hash=False)
    target: str | None = None
    replicates: bool = False
    pool_size: int = POOL_SIZE
    disk_cache: bool = True
    warm_up: bool = True

    def __post_init__(self) -> None:
        problems = []
        if self.strategy not in STRATEGIES:
            problems.append(Problem("strategy", self.strategy, f"use one of {list(STRATEGIES)}"))
        if not 1 <= self.batch_size <= 96:
            problems.append(Problem("batch size", str(self.batch_size), "use 1 to 96"))
        if any(w <= 0 for w in (self.weights or {}).values()):
            problems.append(Problem("--weight", str(self.weights), "weights must be positive"))
        if problems:
            raise FormulateError("cannot propose", problems)

    @classmethod
    def for_campaign(
        cls, campaign: Campaign, weight_args: list[str] | None = None, **given: object
    ) -> Request:
        """A request with the campaign's defaults for what is not ``given`` (None counts as
        not given) and weights parsed from ``OBJECTIVE=NUMBER`` strings.

        Raises:
            FormulateError: a bad weight, or a weight or target that is not an objective.
        """
        given = {k: v for k, v in given.items() if v is not None}
        weights = parse_weights(weight_args or [])
        names = [o.property for o in campaign.objectives]
        target = given.get("target")
        unknown = [n for n in [*weights, *([target] if target else [])] if n not in names]
        if unknown:
            raise FormulateError(
                "unknown objective",
                [Problem("--weight/--target", str(n), f"use one of {names}") for n in unknown],
            )
        defaults: dict[str, object] = {
            "batch_size": campaign.strategy.batch_size,
            "strategy": campaign.strategy.acquisition,
            "seed": campaign.strategy.seed,
        }
        strategy = str(given.get("strategy", defaults["strategy"]))
        wrong = objectives_problems(strategy, len(names), "--strategy")
        if wrong:
            raise FormulateError(f"{strategy} needs two or more objectives", wrong)
        return cls(**{**defaults, **given, "weights": weights or None})  # type: ignore[arg-type]


def parse_weights(items: list[str]) -> dict[str, float]:
    """``["transference_number=2"]`` -> ``{"transference_number": 2.0}``.

    Raises:
        FormulateError: an item that is not ``OBJECTIVE=NUMBER``.
    """
    weights: dict[str, float] = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise FormulateError(
                f"bad weight '{item}'",
                [Problem("--weight", item, "write OBJECTIVE=NUMBER, e.g. transference_number=2")],
            ) from None
    return weights


# --- proposing -----------------------------------------------------------------------------


def _rows(table: pd.DataFrame, statuses: tuple[str, ...]) -> pd.DataFrame:
    return table[table["status"].isin(statuses)] if len(table) else table


Step = Callable[[str], None]
"""Told what the planner does now ("fitting 5 models", "scoring 2,304 candidates", ...)."""


def propose(
    campaign: Campaign,
    table: pd.DataFrame,
    request: Request,
    candidates: pd.DataFrame | None = None,
    step: Step | None = None,
) -> pd.DataFrame:
    """The next batch as a DataFrame: formulation, predicted mean and 95% interval per
    objective (property units), acquisition value, a one-line reason and ``warm_up`` (True
    where the warm-up rule chose it); nothing is stored. ``candidates`` (a pool backtest: the
    rows not yet revealed) replaces the candidate pool; proposals are then rows of it, with
    their index kept.

    The warm-up rule: a model-based strategy whose models cannot be fitted yet (an objective
    measured on fewer than the campaign's ``min_measured`` membranes) proposes the warm-up
    strategy's batch (:data:`formulate.spec.strategies.WARM_UP_STRATEGY`) and says so in each
    reason.

    ``step`` is told each long step as it starts (a progress line for the CLI and the app).

    Raises:
        NotEnoughData: too little data and ``request.warm_up`` is False.
    """
    fixed = candidates is not None
    tell = step or (lambda _: None)
    with manual_seed(request.seed):
        if not STRATEGIES[request.strategy].model:
            out = _baseline(campaign, table, request, candidates)
        else:
            tell(f"fitting the models of {len(table)} membranes (cached ones are reused)")
            try:
                fitted = fit_models(
                    campaign, table, request.surrogate, request.device, request.disk_cache
                )
            except NotEnoughData as missing:
                if not request.warm_up:
                    raise
                return warm_up(campaign, table, request, missing, candidates)
            pool = candidates if candidates is not None else _pool(campaign, table, request)
            if fixed:
                request = replace(request, batch_size=min(request.batch_size, len(pool)))
            picked, values = _optimize(campaign, table, pool, fitted, request, not fixed, tell)
            out = describe(campaign, picked, values, fitted, request.strategy)
    return out if fixed else out.reset_index(drop=True)


def warm_up(
    campaign: Campaign,
    table: pd.DataFrame,
    request: Request,
    missing: NotEnoughData,
    candidates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The warm-up batch: the warm-up strategy's picks, each reason saying why. Once the
    chance to form a film is known (:func:`film_model`), the picks keep to
    formulations likely to form one (a failed film's neighbourhood is left out)."""
    start = replace(request, strategy=WARM_UP_STRATEGY)
    among, skipped = candidates, ""
    film = None
    if candidates is None:
        film = film_model(campaign, table, request.surrogate, request.device, request.disk_cache)
    if film is not None:
        pool = _pool(campaign, table, request)
        likely = probability_of_forming(film, pool) >= LIKELY_FILM
        if likely.sum() >= request.batch_size:
            among = pool[likely]
            skipped = f"; {int((~likely).sum())} of {len(pool)} candidates unlikely to form a film"
            skipped += " left out"
    out = _baseline(campaign, table, start, among)
    out["reason"] = (
        f"warm-up ({WARM_UP_STRATEGY}) until {request.strategy}'s models can be fitted: "
        f"{missing.property} measured on {missing.have} membrane(s), {missing.need} needed "
        f"(the campaign's min_measured){skipped}"
    )
    out["warm_up"] = True
    out["strategy"] = request.strategy
    return out if candidates is not None else out.reset_index(drop=True)


def _baseline(
    campaign: Campaign, table: pd.DataFrame, request: Request, candidates: pd.DataFrame | None
) -> pd.DataFrame:
    out = pick_baseline(
        request.strategy, campaign, table, request.batch_size, request.seed, candidates
    )
    out["warm_up"] = False
    return out


def _pool(campaign: Campaign, table: pd.DataFrame, request: Request) -> pd.DataFrame:
    pool = candidate_pool(campaign.space, request.pool_size, request.seed)
    if request.replicates or table.empty:
        return pool
    return exclude(pool, table, campaign.space.names())


def _optimize(
    campaign: Campaign,
    table: pd.DataFrame,
    pool: pd.DataFrame,
    fitted: Fitted,
    request: Request,
    refine: bool,
    tell: Step,
) -> tuple[pd.DataFrame, np.ndarray]:
    encoder = next(iter(fitted.objectives.values())).encoder
    device = resolve_device(request.device)
    tell(f"scoring {len(pool):,} candidate formulations")
    X_pool = encoder.encode(pool).to(device)
    if request.strategy == "active":
        _, X_pending = _encoded(campaign, table, fitted, device)
        space = X_pool[:: max(1, len(X_pool) // ACTIVE_POINTS)]
        index, values = acquisition.integrated_variance_batch(
            list(fitted.objectives.values()), X_pool, space, X_pending, request.batch_size
        )
        return pool.iloc[index], values
    inputs = acquisition_inputs(campaign, table, fitted, request)
    X_base = inputs.X_baseline
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BotorchWarning)
        warnings.simplefilter("ignore", InputDataWarning)
        if len(pool) > SHORTLIST and len(X_base) > SCREEN_ABOVE:  # rank cheaply, keep the best
            ranked = _score(acquisition.screen(inputs), X_pool, device).cpu().numpy()
            order = np.argsort(-ranked, kind="stable")
            new = order[untried(campaign, table, pool.iloc[order])][:UNTRIED_KEPT]
            keep = np.union1d(order[:SHORTLIST], new)
            pool, X_pool = pool.iloc[keep], X_pool[torch.as_tensor(keep, device=device)]
        acqf = acquisition.build(inputs)
        scores = _score(acqf, X_pool, device)
        top = scores.argsort(descending=True).cpu().numpy()
        shortlist, single = pool.iloc[top], scores[top]
        if refine:
            local = neighbours(
                campaign.space, pool.iloc[top[:REFINE_TOP]], REFINE_PER_POINT, request.seed
            )
            if not request.replicates and len(local):
                local = exclude(local, table, campaign.space.names())
            if len(local):
                local = exclude(local.drop_duplicates(), shortlist, campaign.space.names())
            if len(local):
                single = torch.cat([single, _score(acqf, encoder.encode(local).to(device), device)])
                shortlist = pd.concat([shortlist, local], ignore_index=True)
        tell(f"choosing a batch of {request.batch_size} among the best {len(shortlist)}")
        X = encoder.encode(shortlist).to(device)
        new = untried(campaign, table, shortlist)
        index, values = lazy_greedy(acqf, X, single, request.batch_size, torch.as_tensor(new))
    return shortlist.iloc[index].assign(untried=new[index]), values


def untried(campaign: Campaign, table: pd.DataFrame, candidates: pd.DataFrame) -> np.ndarray:
    """Which candidates belong to a family (combination of categorical levels) that no
    membrane of the campaign has tried yet: none made, failed, on its way or stated (``n``,
    boolean). A model carries what it learned to an untried family through the levels'
    descriptors, and its uncertainty there does not say how different the family may be, so a
    batch holds one of them while some remain, when it adds at least a tenth of what the pick
    it replaces would (:func:`formulate.plan.batch.lazy_greedy`)."""
    if not campaign.space.categorical_names():  # no categorical, no families
        return np.zeros(len(candidates), dtype=bool)
    tried = _rows(table, ("pending", "made", "measured", "failed"))
    seen = set(families(campaign.space, tried))
    return np.array([f not in seen for f in families(campaign.space, candidates)], dtype=bool)


def acquisition_inputs(
    campaign: Campaign, table: pd.DataFrame, fitted: Fitted, request: Request
) -> acquisition.AcquisitionInputs:
    """What the acquisition of ``request.strategy`` (not ``active``) is built from for a
    campaign table: measured membranes with some objective as the baseline, pending and made
    ones as pending points, the fitted models and their constraints."""
    X_base, X_pending = _encoded(campaign, table, fitted, resolve_device(request.device))
    return acquisition.AcquisitionInputs(
        strategy=request.strategy,
        campaign=campaign,
        model=fitted.model_list(),
        models=fitted.objectives,
        X_baseline=X_base,
        X_pending=X_pending,
        constraints=tuple(c for _, c in fitted.constraints),
        seed=request.seed,
        weights=request.weights,
        target=request.target,
    )


def _encoded(
    campaign: Campaign, table: pd.DataFrame, fitted: Fitted, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Encoded measured membranes (``n x d``; none yet where a source's models stand in) and
    pending ones (``p x d``, None if none)."""
    encoder = next(iter(fitted.objectives.values())).encoder
    measured = _rows(table, ("measured",))
    if len(measured):
        measured = measured[measured[[o.property for o in campaign.objectives]].notna().any(axis=1)]
    pending = _rows(table, PENDING)
    X_pending = encoder.encode(pending).to(device) if len(pending) else None
    if measured.empty:
        return torch.zeros(0, encoder.dim, dtype=torch.float64, device=device), X_pending
    return encoder.encode(measured).to(device), X_pending


def _score(acqf: AcquisitionFunction, X: torch.Tensor, device: torch.device) -> torch.Tensor:
    """The acquisition of each row of ``X`` (``n x d``) alone, in chunks (``n``, log scale)."""
    with torch.no_grad():
        chunks = X.split(SCORE_CHUNK[device.type == "cuda"])
        return torch.cat([acqf(chunk.unsqueeze(-2)) for chunk in chunks])


def store_proposals(
    campaign: Campaign,
    store: Store,
    proposals: pd.DataFrame,
    source: str = "formulate propose",
) -> pd.DataFrame:
    """Save proposals as pending membranes of a new numbered batch, provenance ``proposed``
    (until their first outcome: then they take its provenance, measured or emulated); returns
    them with their ``membrane`` ids and ``batch``."""
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
            provenance="proposed",
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
