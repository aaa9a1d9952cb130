"""One Gaussian process of an objective: built (kernel, likelihood, noise prior, a
multi-task GP where prior sources are tasks, a mean that follows stacked sources) and fitted
(L-BFGS-B on the marginal likelihood; censored values by expectation propagation or EM).

:mod:`formulate.model.surrogates` decides what each GP is trained on and caches the fits.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from botorch.exceptions.warnings import InputDataWarning, OptimizationWarning
from botorch.fit import fit_gpytorch_mll
from botorch.models import MixedSingleTaskGP, SingleTaskGP
from botorch.models.transforms.outcome import Standardize
from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior
from gpytorch.constraints import GreaterThan
from gpytorch.kernels import Kernel as GPyTorchKernel
from gpytorch.kernels import MaternKernel
from gpytorch.likelihoods import (
    FixedNoiseGaussianLikelihood,
    GaussianLikelihood,
    HadamardGaussianLikelihood,
)
from gpytorch.mlls import ExactMarginalLogLikelihood
from gpytorch.priors import GammaPrior, LogNormalPrior
from linear_operator.utils.warnings import NumericalWarning

from formulate.model import shapes
from formulate.model.censoring import censored_site, loo_log_density, loo_predictive, truncated_mean
from formulate.model.encoding import Encoder, StackedEncoder
from formulate.model.specs import Kernel, SurrogateSpec
from formulate.model.training import TrainingData
from formulate.model.transfer import SourceMean, TaskEncoder, multitask_gp

shapes.install()  # GPyTorch's shape broadcasting without sympy (formulate.model.shapes)

FIT_OPTIONS = {"maxiter": 150}
"""L-BFGS-B options for hyperparameter fits: on the realistic campaign the marginal likelihood
settles within ~100 steps; scipy's default (15,000) lets an ill-conditioned fit run for
tens of seconds without improving it (bench/bench_planner.py)."""


def learned_noise(model: SingleTaskGP) -> float:
    """The learned noise variance on the model scale: all of it, or the remainder beyond the
    known noise (stated scatter, censored sites)."""
    likelihood = model.likelihood
    standardize: Standardize = model.outcome_transform  # type: ignore[assignment]
    scale = float(standardize.stdvs.squeeze()) ** 2
    if isinstance(likelihood, FixedNoiseGaussianLikelihood):
        if likelihood.second_noise_covar is None:
            return 0.0
        return float(likelihood.second_noise.detach().mean()) * scale
    if isinstance(likelihood, HadamardGaussianLikelihood):  # per task: the campaign's is first
        return float(likelihood.noise.detach().reshape(-1)[0]) * scale
    return float(likelihood.noise.detach().mean()) * scale


def kernel_factory(kernel: Kernel) -> Callable[..., GPyTorchKernel]:
    """The kernel over numeric inputs, called like BoTorch's
    :func:`get_covar_module_with_dim_scaled_prior` (``ard_num_dims``, ``batch_shape``,
    ``active_dims``): BoTorch's RBF, or :func:`matern_kernel`."""
    return get_covar_module_with_dim_scaled_prior if kernel == "rbf" else matern_kernel


def matern_kernel(
    ard_num_dims: int,
    batch_shape: torch.Size | None = None,
    active_dims: list[int] | None = None,
) -> MaternKernel:
    """Matern-5/2 with BayBE's default length-scale prior (``presets/baybe.py``): a
    Gamma(3, rate) whose mode is BoTorch's dimension-scaled one, exp(sqrt(2) - 3) sqrt(d),
    with far lighter tails than BoTorch's LogNormal."""
    concentration = 3.0
    mode = math.exp(math.sqrt(2) - 3) * math.sqrt(ard_num_dims)
    prior = GammaPrior(concentration, (concentration - 1) / mode)
    return MaternKernel(
        nu=2.5,
        ard_num_dims=ard_num_dims,
        batch_shape=batch_shape if batch_shape is not None else torch.Size(),
        lengthscale_prior=prior,
        lengthscale_constraint=GreaterThan(2.5e-2, transform=None, initial_value=mode),
        active_dims=active_dims,
    )


def kernel_of(model: SingleTaskGP) -> Kernel:
    """Which kernel a fitted GP has: ``matern`` if any part of it is Matern, else ``rbf``."""
    matern = any(isinstance(m, MaternKernel) for m in model.covar_module.modules())
    return "matern" if matern else "rbf"


def _leaving_out(
    columns: list[int], factory: Callable[..., GPyTorchKernel]
) -> Callable[..., GPyTorchKernel]:
    """``factory`` for ``MixedSingleTaskGP``'s continuous kernels, over its numeric columns
    except ``columns`` (stacked source predictions, which only the mean reads: with a source
    column in the kernel too, a misleading source hurt a transfer task; see
    :mod:`formulate.model.transfer`). All of them where nothing else would be left."""

    def make(batch_shape: torch.Size, ard_num_dims: int, active_dims: list[int]) -> GPyTorchKernel:
        kept = [d for d in active_dims if d not in columns] or list(active_dims)
        return factory(batch_shape=batch_shape, ard_num_dims=len(kept), active_dims=kept)

    return make


def exact_gp(
    X: torch.Tensor,
    Y: torch.Tensor,
    encoder: Encoder | StackedEncoder,
    kernel: Kernel = "rbf",
    **extra: Any,
) -> SingleTaskGP:
    """BoTorch's exact GP for inputs ``X`` (``n x d``) of ``encoder``: the mixed categorical
    kernel (``MixedSingleTaskGP``) where it has level-index columns, else ``SingleTaskGP``;
    ``kernel`` for the numeric inputs (BoTorch's own default when ``rbf``); ``extra`` goes to
    the constructor (likelihood, ``train_Yvar``, transforms, a covariance module, a mean:
    ``MixedSingleTaskGP`` takes its mean after construction)."""
    if encoder.cat_dims:
        mean = extra.pop("mean_module", None)
        factory = kernel_factory(kernel)
        if isinstance(mean, SourceMean):  # a stacked source's columns: the mean's alone
            factory = _leaving_out(mean.columns, factory)
        model = MixedSingleTaskGP(
            X, Y, cat_dims=encoder.cat_dims, cont_kernel_factory=factory, **extra
        )
        if mean is not None:
            model.mean_module = mean
        return model
    if kernel != "rbf" and "covar_module" not in extra:
        extra["covar_module"] = kernel_factory(kernel)(X.shape[-1]).to(X)
    return SingleTaskGP(X, Y, **extra)


def build_gp(
    X: torch.Tensor,
    y: np.ndarray,
    encoder: Encoder | StackedEncoder | TaskEncoder,
    spec: SurrogateSpec,
    known_noise: np.ndarray | None = None,
    noise_median: float | None = None,
    kernel: Kernel | None = None,
) -> SingleTaskGP:
    """The GP, unfitted. ``known_noise``: each value's known noise variance (model scale,
    ``n``), e.g. the stated scatter; a learned noise level is added to it. None: one learned
    noise level. ``noise_median``, ``kernel``: the noise prior's median and the kernel
    (default: the spec's first). With prior sources (a :class:`TaskEncoder`, ``X`` with a
    task column): a multi-task GP."""
    Y = torch.as_tensor(y, dtype=torch.float64, device=X.device).unsqueeze(-1)
    median = noise_median if noise_median is not None else spec.noise_medians()[0]
    kernel = kernel or spec.kernels()[0]
    prior = LogNormalPrior(math.log(median), 1.0)
    extra: dict = {"outcome_transform": Standardize(m=1)}
    if known_noise is None:
        extra["likelihood"] = GaussianLikelihood(
            noise_prior=prior, noise_constraint=GreaterThan(1e-6)
        ).to(X)
    else:
        extra["train_Yvar"] = torch.as_tensor(known_noise, dtype=torch.float64, device=X.device)
        least = max(1e-8, 2e-6 * float(np.var(y)))  # GPyTorch's floor, standardized
        extra["train_Yvar"] = extra["train_Yvar"].clamp_min(least).unsqueeze(-1)
    if isinstance(encoder, TaskEncoder):
        factory = kernel_factory(kernel) if kernel != "rbf" else None
        model = multitask_gp(X, Y, encoder, prior, factory, **extra)
    else:
        if mean := SourceMean.of(encoder):  # stacked sources: a mean that follows them,
            extra["mean_module"] = mean.to(X)  # a kernel over the formulation as without
            if not encoder.cat_dims:  # (the source column in the kernel: one task hurt)
                dims = [i for i in range(X.shape[-1]) if i not in mean.columns]
                covar = kernel_factory(kernel)(len(dims), active_dims=dims)
                extra["covar_module"] = covar.to(X)
        model = exact_gp(X, Y, encoder, kernel, **extra)
    if known_noise is not None:  # the stated part stays fixed; the remainder is learned
        model.likelihood = FixedNoiseGaussianLikelihood(
            noise=model.likelihood.noise_covar.noise.detach().clone(),  # standardized
            learn_additional_noise=True,
            noise_prior=prior,
            noise_constraint=GreaterThan(1e-6),
        ).to(X)
    return model


def fit_hyperparameters(model: SingleTaskGP, start: dict[str, torch.Tensor] | None = None) -> None:
    """Maximize the marginal likelihood of ``model``'s hyperparameters (L-BFGS-B, at most
    ``FIT_OPTIONS["maxiter"]`` steps), from ``start`` (a previous fit's hyperparameters, see
    :func:`hyperparameters`) when it fits this model's shapes, else from the priors."""
    if start:
        with contextlib.suppress(RuntimeError):  # another encoding: the shapes differ
            model.load_state_dict(start, strict=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputDataWarning)
        warnings.simplefilter("ignore", OptimizationWarning)
        warnings.simplefilter("ignore", NumericalWarning)
        fit_gpytorch_mll(
            ExactMarginalLogLikelihood(model.likelihood, model),
            optimizer_kwargs={"options": FIT_OPTIONS},
        )


def hyperparameters(model: SingleTaskGP) -> dict[str, torch.Tensor]:
    """A fitted model's hyperparameters (kernel, mean, noise), without anything that depends
    on its training data (the outcome transform's means and scales)."""
    return {
        k: v.detach().clone()
        for k, v in model.state_dict().items()
        if not k.startswith("outcome_transform")
    }


def fit_gp(
    X: torch.Tensor,
    y: np.ndarray,
    encoder: Encoder | StackedEncoder | TaskEncoder,
    spec: SurrogateSpec,
    start: dict[str, torch.Tensor] | None = None,
    known_noise: np.ndarray | None = None,
) -> SingleTaskGP:
    """The fitted GP; with several noise priors or kernels (``auto``), the fit whose
    leave-one-out log density of ``y`` is highest."""
    best, best_score = None, -math.inf
    candidates = list(itertools.product(spec.noise_medians(), spec.kernels()))
    for median, kernel in candidates:
        model = build_gp(X, y, encoder, spec, known_noise, median, kernel)
        fit_hyperparameters(model, start)
        if len(candidates) == 1:
            return model
        score = loo_log_density(model, y)
        if score > best_score:
            best, best_score = model, score
    assert best is not None
    return best


def fit_censored_ep(
    X: torch.Tensor,
    data: TrainingData,
    spec: SurrogateSpec,
    encoder: Encoder | StackedEncoder | TaskEncoder,
    start: dict[str, torch.Tensor] | None = None,
) -> tuple[SingleTaskGP, np.ndarray, np.ndarray]:
    """Censored values through the Tobit likelihood by expectation propagation: each one
    becomes a Gaussian site (pseudo-target and variance, :func:`censored_site`) matched
    against its leave-one-out cavity, which is exactly the cavity of EP; refit until the sites
    settle. Returns the model, the targets and each target's known noise variance (stated
    scatter; for a censored value, its site's variance beyond the learned noise)."""
    cens = data.censored
    stated = data.known_noise(data.y)
    base = np.zeros(len(data.y)) if stated is None else stated
    y, noise = data.y.copy(), base.copy()  # start: each bound taken as a value
    model = fit_gp(X, y, encoder, spec, start, noise)
    for _ in range(spec.em_iterations):
        extra = learned_noise(model)
        mean, std = loo_predictive(model)
        cavity = np.maximum(std[cens] ** 2 - noise[cens] - extra, 1e-10)
        site, site_var = censored_site(mean[cens], cavity, data.y[cens], base[cens] + extra)
        converged = np.max(np.abs(site - y[cens])) < 1e-3
        y[cens], noise[cens] = site, np.maximum(site_var - extra, 1e-8)
        model = fit_gp(X, y, encoder, spec, hyperparameters(model), noise)
        if converged:
            break
    return model, y, noise


def fit_censored_em(
    X: torch.Tensor,
    data: TrainingData,
    spec: SurrogateSpec,
    encoder: Encoder | StackedEncoder | TaskEncoder,
    start: dict[str, torch.Tensor] | None = None,
) -> tuple[SingleTaskGP, np.ndarray]:
    """EM for right-censored values: each censored target becomes the mean of its
    leave-one-out predictive truncated below at its bound; refit until it settles."""
    y = data.y.copy()
    cens = data.censored
    model = fit_gp(X, y, encoder, spec, start, data.known_noise(y))
    for _ in range(spec.em_iterations):
        mean, std = loo_predictive(model)
        new = truncated_mean(mean[cens], std[cens], data.y[cens])
        converged = np.max(np.abs(new - y[cens])) < 1e-3
        y[cens] = new
        warm = hyperparameters(model)  # each refit starts warm
        model = fit_gp(X, y, encoder, spec, warm, data.known_noise(y))
        if converged:
            break
    return model, y
