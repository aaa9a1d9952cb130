"""Acquisition: how the value of a candidate membrane is scored, built on BoTorch.

Strategies (names from :data:`formulate.spec.strategies.STRATEGIES`):

* ``qlognehvi``: batch noisy expected hypervolume improvement over all objectives (Pareto);
* ``parego``: qLogNParEGO, random Chebyshev scalarizations weighted by the objectives' weights;
* ``qlognei``: noisy expected improvement of one objective (the first, or ``target``);
* ``active``: integrated posterior variance reduction (map the space, do not optimize); see
  :func:`integrated_variance_batch` (BoTorch's ``qNegIntegratedPosteriorVariance`` scores one
  candidate batch at a time by Monte-Carlo; for a discrete pool the closed form below scores
  every candidate at once and builds the batch greedily by rank-one downdates).

Objectives are modelled on their transformed scale (log10, logit); minimized ones are negated
here so that every acquisition maximizes. Outcome constraints (e.g. stability window >= 4.5 V,
a film that forms) enter as feasibility on extra model outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch
from botorch.acquisition import (
    AcquisitionFunction,
    qLogExpectedImprovement,
    qLogNoisyExpectedImprovement,
)
from botorch.acquisition.multi_objective import (
    qLogExpectedHypervolumeImprovement,
    qLogNoisyExpectedHypervolumeImprovement,
)
from botorch.acquisition.multi_objective.objective import GenericMCMultiOutputObjective
from botorch.acquisition.multi_objective.parego import qLogNParEGO
from botorch.acquisition.multi_objective.utils import prune_inferior_points_multi_objective
from botorch.acquisition.objective import GenericMCObjective
from botorch.acquisition.utils import prune_inferior_points
from botorch.models import ModelListGP
from botorch.sampling import SobolQMCNormalSampler
from botorch.utils.multi_objective.box_decompositions import NondominatedPartitioning
from botorch.utils.multi_objective.scalarization import get_chebyshev_scalarization

from formulate.model.surrogates import ObjectiveModel
from formulate.plan import kernel, progress
from formulate.spec.campaign import Campaign

MC_SAMPLES = 64
"""Quasi-MC samples per acquisition value (box decompositions are computed per sample)."""
SCREEN_SAMPLES = 16
"""Quasi-MC samples of :func:`screen` (it ranks; the shortlist is scored with MC_SAMPLES)."""
MAX_BASELINE = 32
"""Measured membranes a noisy acquisition integrates over (see ``AcquisitionInputs.baseline``)."""
PRUNE_SAMPLES = 512
"""Posterior samples that rank the measured membranes by their chance of being Pareto-optimal
when more than ``MAX_BASELINE`` are measured (BoTorch's default is 2,048; a ranking needs fewer)."""
HV_ALPHA = 0.01
"""BoTorch's ``alpha`` for qLogNEHVI's box decompositions (0: exact). Three objectives make
exact decompositions of every MC sample's front the dearest part of a warm proposal; at 0.01
a batch of 4 at 100 membranes takes 1.84 s instead of 2.43 s (median of 5 seeds) and its exact
acquisition value is the same (ratio 1.000-1.001; 0.05 gave 0.986-1.0)."""
MAX_IEP = 3
"""Points of a greedy batch that qLogNEHVI handles by inclusion-exclusion rather than by
recomputing its 64 box decompositions (BoTorch's ``max_iep``): a batch of up to 4 costs one set
of decompositions instead of four. The campaign's pending membranes join the baseline, where
their outcomes are sampled from the posterior like any unobserved baseline point."""


kernel.use_build_folder()  # BoTorch's fused kernel: this environment's own build


@dataclass(frozen=True)
class Constraint:
    """Feasibility of a modelled output: ``sign * (value - threshold) >= 0`` on model scale.

    ``eta`` is BoTorch's smoothing temperature of the feasibility indicator (model-scale units):
    nearly a step for a measured property; 1 for film formation's log-odds, so that the weight
    of a sample is the logistic of its log-odds, the classifier's probability of forming."""

    output: int
    threshold: float
    sign: float
    eta: float = 1e-3

    def __call__(self, samples: torch.Tensor) -> torch.Tensor:
        # BoTorch convention: feasible where the returned value is <= 0
        return -self.sign * (samples[..., self.output] - self.threshold)


def signs(campaign: Campaign) -> torch.Tensor:
    """+1 for maximized, -1 for minimized objectives (``m``)."""
    return torch.tensor([o.sign for o in campaign.objectives], dtype=torch.float64)


def horizon_caps(campaign: Campaign) -> torch.Tensor:
    """Each objective's largest value a test can show, on model scale (``m``): the test
    horizon of a censorable one, ``inf`` for the others."""
    censorable = set(campaign.censorable())
    caps = [
        o.to_model_scale([campaign.measurement(o.property).horizon_h])[0]
        if o.property in censorable
        else np.inf
        for o in campaign.objectives
    ]
    return torch.tensor(caps, dtype=torch.float64)


def reference_point(campaign: Campaign, models: dict[str, ObjectiveModel]) -> torch.Tensor:
    """Hypervolume reference point (sign-adjusted model scale, ``m``) from the campaign's
    reference values, else from the models' training data (see
    :func:`formulate.plan.progress.reference_point`).

    Where no membrane measured so far reaches an objective's reference value (an early
    campaign far from the good region), that objective's reference drops to the data's:
    otherwise no candidate could improve the hypervolume in any sample and the acquisition
    would be flat, blind to which candidate comes closest.
    """
    observed = {o.property: o.sign * models[o.property].data.y for o in campaign.objectives}
    ref = progress.reference_point(campaign, observed)
    from_data = progress.reference_point(campaign, observed, use_campaign=False)
    for i, o in enumerate(campaign.objectives):
        if observed[o.property].max() <= ref[i]:
            ref[i] = from_data[i]
    return torch.as_tensor(ref, dtype=torch.float64)


@dataclass(frozen=True, kw_only=True)
class AcquisitionInputs:
    """Everything an acquisition function is built from.

    Attributes:
        strategy: a model-based strategy other than ``active`` (see :data:`BUILDERS`).
        campaign: its objectives (order, signs, weights, reference values).
        model: outputs are the objectives (campaign order) followed by constraint outputs.
        models: the objectives' fitted models, by property.
        X_baseline: ``n x d`` encoded membranes already measured (noisy incumbents).
        X_pending: ``p x d`` encoded membranes proposed or made but not measured, or None.
        constraints: feasibility of the constraint outputs.
        seed: of the quasi-MC sampler.
        weights: per objective, for ``parego`` (default: the campaign's weights).
        target: the objective ``qlognei`` improves (default: the first).
    """

    strategy: str
    campaign: Campaign
    model: ModelListGP
    models: dict[str, ObjectiveModel]
    X_baseline: torch.Tensor
    X_pending: torch.Tensor | None = None
    constraints: tuple[Constraint, ...] = ()
    seed: int = 0
    weights: dict[str, float] | None = None
    target: str | None = None

    def __post_init__(self) -> None:
        if self.strategy not in BUILDERS:
            raise ValueError(f"no acquisition function for strategy '{self.strategy}'")
        names = [o.property for o in self.campaign.objectives]
        if self.target is not None and self.target not in names:
            raise ValueError(f"target '{self.target}' is not an objective ({names})")

    def common(self) -> dict[str, Any]:
        """The keyword arguments every BoTorch noisy acquisition here takes."""
        return {
            "model": self.model,
            "X_baseline": self.baseline,
            "sampler": SobolQMCNormalSampler(torch.Size([MC_SAMPLES]), seed=self.seed),
            "constraints": list(self.constraints) or None,
            "eta": self.etas(),
            "X_pending": self.X_pending,
            "prune_baseline": True,
            "cache_root": False,
        }

    def etas(self) -> torch.Tensor | float:
        """Each constraint's smoothing temperature (BoTorch's ``eta``)."""
        if not self.constraints:
            return 1e-3
        return torch.tensor([c.eta for c in self.constraints], dtype=torch.float64)

    @cached_property
    def baseline(self) -> torch.Tensor:
        """The measured membranes the noisy acquisitions integrate over (``n' x d``): at most
        ``MAX_BASELINE``, those most likely to be Pareto-optimal and feasible (BoTorch's
        ``prune_inferior_points_multi_objective``; for one objective ``prune_inferior_points``,
        the most likely to be the best). Each candidate is sampled jointly with
        them, so the cost of a score grows with the cube of their number; a membrane that is
        almost surely dominated adds nothing to a hypervolume or an incumbent."""
        X = self.X_baseline
        if len(X) <= MAX_BASELINE:
            return X
        if len(self.campaign.objectives) == 1:  # BoTorch's multi-objective pruning needs two
            return prune_inferior_points(
                self.model,
                X,
                objective=_target(self),
                constraints=list(self.constraints) or None,
                max_frac=MAX_BASELINE / len(X),
                num_samples=PRUNE_SAMPLES,
            )
        return prune_inferior_points_multi_objective(
            self.model,
            X,
            reference_point(self.campaign, self.models).to(X),
            objective=self.objectives_sign_adjusted(),
            constraints=list(self.constraints) or None,
            max_frac=MAX_BASELINE / len(X),
            num_samples=PRUNE_SAMPLES,
        )

    def objectives_sign_adjusted(self) -> GenericMCMultiOutputObjective:
        """The objectives' outputs, each multiplied by its sign (so all are maximized); a
        censorable objective (a cycling life) counts at most its test horizon."""
        sgn = signs(self.campaign).to(self.X_baseline)
        caps = horizon_caps(self.campaign).to(self.X_baseline)
        m = len(sgn)

        def adjusted(Z: torch.Tensor, X: torch.Tensor | None = None) -> torch.Tensor:
            return torch.minimum(Z[..., :m], caps) * sgn

        return GenericMCMultiOutputObjective(adjusted)


def _qlognehvi(inputs: AcquisitionInputs) -> AcquisitionFunction:
    ref = reference_point(inputs.campaign, inputs.models).to(inputs.X_baseline)
    common = inputs.common()
    if inputs.X_pending is not None:
        common["X_baseline"] = torch.cat([common["X_baseline"], inputs.X_pending])
        common["X_pending"] = None
    return qLogNoisyExpectedHypervolumeImprovement(
        ref_point=ref,
        objective=inputs.objectives_sign_adjusted(),
        max_iep=MAX_IEP,
        alpha=HV_ALPHA,
        **common,
    )


def _parego_weights(inputs: AcquisitionInputs) -> torch.Tensor:
    """The objectives' weights (the request's, else the campaign's), summing to 1 (``m``)."""
    given = inputs.weights or {}
    w = torch.tensor(
        [given.get(o.property, o.weight) for o in inputs.campaign.objectives],
        dtype=torch.float64,
    ).to(inputs.X_baseline)
    return w / w.sum()


def _parego(inputs: AcquisitionInputs) -> AcquisitionFunction:
    if not len(inputs.X_baseline):  # nothing measured to scale the objectives by yet
        return _qlognehvi(inputs)
    return qLogNParEGO(
        scalarization_weights=_parego_weights(inputs),
        objective=inputs.objectives_sign_adjusted(),
        **inputs.common(),
    )


def _target(inputs: AcquisitionInputs) -> GenericMCObjective:
    """The target objective of ``qlognei`` (the first by default), sign-adjusted and capped
    like every objective (:func:`horizon_caps`)."""
    names = [o.property for o in inputs.campaign.objectives]
    k = names.index(inputs.target) if inputs.target else 0
    sign = inputs.campaign.objectives[k].sign
    cap = float(horizon_caps(inputs.campaign)[k])

    def one(Z: torch.Tensor, X: torch.Tensor | None = None) -> torch.Tensor:
        return sign * Z[..., k].clamp(max=cap)

    return GenericMCObjective(one)


def _qlognei(inputs: AcquisitionInputs) -> AcquisitionFunction:
    if not len(inputs.X_baseline):
        return _no_incumbent(inputs)
    return qLogNoisyExpectedImprovement(objective=_target(inputs), **inputs.common())


def _no_incumbent(inputs: AcquisitionInputs) -> AcquisitionFunction:
    """Expected improvement on the lowest value the target's model was fitted on, for a
    campaign with no measured membrane yet (a prior source's models stand in): about the
    predicted value for one pick, the expected best of the batch for several, so a batch
    spreads where the model is unsure which is best."""
    names = [o.property for o in inputs.campaign.objectives]
    k = names.index(inputs.target) if inputs.target else 0
    fitted = inputs.models[names[k]]
    low = float(np.min(inputs.campaign.objectives[k].sign * fitted.y_fit))
    common = inputs.common()
    return qLogExpectedImprovement(
        model=common["model"],
        best_f=low,
        objective=_target(inputs),
        sampler=common["sampler"],
        X_pending=common["X_pending"],
        constraints=common.get("constraints"),
        eta=common.get("eta", 1e-3),
    )


BUILDERS: dict[str, Callable[[AcquisitionInputs], AcquisitionFunction]] = {
    "qlognehvi": _qlognehvi,
    "parego": _parego,
    "qlognei": _qlognei,
}
"""One BoTorch acquisition per model-based strategy; ``active`` is
:func:`integrated_variance_batch`."""


def screen(inputs: AcquisitionInputs) -> AcquisitionFunction:
    """A cheap stand-in for ranking a large candidate pool: the same criterion measured against
    the posterior *mean* of the baseline membranes (their feasible Pareto front, or their best),
    so that a candidate is sampled alone, not jointly with them, and with fewer samples (log
    scale, ``b x q x d`` -> ``b``). The noisy acquisition then scores the shortlist it ranks
    first. Pending membranes count at their posterior mean (a "believer" front)."""
    X = inputs.baseline
    if inputs.X_pending is not None:
        X = torch.cat([X, inputs.X_pending])
    with torch.no_grad():
        mean = inputs.model.posterior(X).mean
    m = len(inputs.campaign.objectives)
    feasible = torch.ones(len(X), dtype=torch.bool, device=X.device)
    for c in inputs.constraints:
        feasible &= c(mean) <= 0
    caps = horizon_caps(inputs.campaign).to(mean)
    Y = (torch.minimum(mean[..., :m], caps) * signs(inputs.campaign).to(mean))[feasible]
    sampler = SobolQMCNormalSampler(torch.Size([SCREEN_SAMPLES]), seed=inputs.seed)
    constraints: list[Callable[[torch.Tensor], torch.Tensor]] | None = [
        c for c in inputs.constraints
    ] or None
    if inputs.strategy == "qlognehvi":
        ref = reference_point(inputs.campaign, inputs.models).to(X)
        return qLogExpectedHypervolumeImprovement(
            model=inputs.model,
            ref_point=ref,
            partitioning=NondominatedPartitioning(ref_point=ref, Y=Y),
            sampler=sampler,
            objective=inputs.objectives_sign_adjusted(),
            constraints=constraints,
            eta=inputs.etas(),
        )
    if inputs.strategy == "parego":
        chebyshev = get_chebyshev_scalarization(_parego_weights(inputs), Y)
        sgn = signs(inputs.campaign).to(mean)

        def scalarized(Z: torch.Tensor, X: torch.Tensor | None = None) -> torch.Tensor:
            return chebyshev(Z[..., :m] * sgn, X)

        objective = GenericMCObjective(scalarized)
    else:
        objective = _target(inputs)
    best = objective(mean[feasible]).max() if len(Y) else mean.new_tensor(-1e9)
    return qLogExpectedImprovement(
        model=inputs.model,
        best_f=best,
        sampler=sampler,
        objective=objective,
        constraints=constraints,
        eta=inputs.etas(),
    )


def build(inputs: AcquisitionInputs) -> AcquisitionFunction:
    """The BoTorch acquisition function of ``inputs.strategy``."""
    return BUILDERS[inputs.strategy](inputs)


def integrated_variance_batch(
    models: list[ObjectiveModel],
    X: torch.Tensor,
    X_space: torch.Tensor,
    X_pending: torch.Tensor | None,
    q: int,
) -> tuple[list[int], np.ndarray]:
    """Greedy batch that most reduces the posterior variance integrated over ``X_space``.

    For a GP the variance after observing x does not depend on the outcome, so the reduction
    at z is Cov(z, x)^2 / (Var(x) + noise), and a chosen point updates the joint covariance by a
    rank-one downdate (pending membranes are conditioned on first). Each objective's reduction
    is divided by its current integrated variance, so objectives on different scales count
    equally.

    Returns:
        The chosen rows of ``X`` (``q`` indices) and the score of each when chosen.
    """
    n, s = len(X), len(X_space)
    pend = X_pending if X_pending is not None else X[:0]
    joint = torch.cat([X, X_space, pend])
    covs, noises, scales = [], [], []
    with torch.no_grad():
        for m in models:
            post: Any = m.model.posterior(joint)
            cov = post.mvn.covariance_matrix.squeeze(0).clone()
            model: Any = m.model
            std = model.outcome_transform.stdvs.squeeze()
            noise = float(model.likelihood.noise.mean() * std**2)
            for p in range(n + s, n + s + len(pend)):
                cov -= torch.outer(cov[:, p], cov[p]) / (cov[p, p] + noise)
            covs.append(cov)
            noises.append(noise)
            scales.append(float(cov.diagonal()[n : n + s].mean()))
    chosen: list[int] = []
    values: list[float] = []
    for _ in range(min(q, n)):
        score = torch.zeros(n, dtype=X.dtype, device=X.device)
        for cov, noise, scale in zip(covs, noises, scales, strict=True):
            cross = cov[n : n + s, :n]
            score += (cross**2).mean(0) / (cov.diagonal()[:n] + noise) / scale
        score[chosen] = -torch.inf
        best = int(score.argmax())
        chosen.append(best)
        values.append(float(score[best]))
        for i, (cov, noise) in enumerate(zip(covs, noises, strict=True)):
            covs[i] = cov - torch.outer(cov[:, best], cov[best]) / (cov[best, best] + noise)
    return chosen, np.array(values)
