"""Surrogates: one Gaussian process per objective, on the membranes that have that outcome.

Families are declared as TOML specs (``surrogates/<name>.toml``; built-ins ship with the
package) and differ in how formulations are encoded (:mod:`formulate.encoding`):
``gp-onehot``, ``gp-mixed`` (BoTorch's mixed categorical kernel) and ``gp-physics``.

Models work on the objective's transformed scale (log10 conductivity, logit t+, log10 life),
float64, on the configured device. A right-censored value (a cell still running at 600 h says
life >= 600 h) is imputed by EM against the GP: the mean of its leave-one-out predictive
truncated below at the bound, refitted until it settles. Fitted models are cached by a hash of
their training data, in memory and as state dicts on disk (no pickles).
"""

from __future__ import annotations

import hashlib
import math
import pickle  # only for its error type: cache files load with weights_only=True
import tomllib
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch
from botorch.exceptions.warnings import InputDataWarning, OptimizationWarning
from botorch.fit import fit_gpytorch_mll
from botorch.models import MixedSingleTaskGP, SingleTaskGP
from botorch.models.transforms.outcome import Standardize
from gpytorch.constraints import GreaterThan
from gpytorch.likelihoods import GaussianLikelihood
from gpytorch.mlls import ExactMarginalLogLikelihood
from gpytorch.priors import LogNormalPrior
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy.stats import norm

from formulate.campaign import Campaign
from formulate.encoding import Encoder, Kind
from formulate.errors import FormulateError, Problem

MIN_POINTS = 3
"""Fewest membranes with an outcome that give a usable model."""
LOGIT_EPS = 1e-4
USER_SPECS = Path("surrogates")


class SurrogateSpec(BaseModel):
    """A surrogate family.

    Attributes:
        encoding: ``onehot``, ``mixed`` or ``physics``.
        censoring: ``em`` (impute censored values against the posterior), ``drop`` (ignore
            censored rows) or ``as_observed`` (treat the bound as the value); the last two are
            the naive treatments, kept for comparison.
        em_iterations: refits for ``em``.
        noise_prior_median: median of the log-normal prior on the noise variance, as a
            fraction of the outcome's variance (0.2: lab data with 10-25% scatter; BoTorch's
            default, about 0.02, suits near-noiseless simulators and made life models
            overconfident here: see bench/bench_surrogates.py).
        auxiliary: measured intermediates (e.g. ``mobile_li_fraction``) whose GP predictions
            are appended to the inputs of every objective's GP (a two-stage model).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    encoding: Kind = "onehot"
    censoring: Literal["em", "drop", "as_observed"] = "em"
    em_iterations: int = 4
    noise_prior_median: float = Field(default=0.2, gt=0, lt=10)
    auxiliary: tuple[str, ...] = ()


def spec_names() -> list[str]:
    """Names of the available specs: the user's ``surrogates/`` folder, then built-ins."""
    names = {p.stem for p in _bundled().glob("*.toml")}
    if USER_SPECS.is_dir():
        names |= {p.stem for p in USER_SPECS.glob("*.toml")}
    return sorted(names)


def _bundled() -> Path:
    return Path(str(resources.files("formulate") / "surrogate_specs"))


def load_spec(name: str) -> SurrogateSpec:
    """The spec called ``name`` (``./surrogates/NAME.toml`` wins over the built-in)."""
    for folder in (USER_SPECS, _bundled()):
        path = folder / f"{name}.toml"
        if path.is_file():
            try:
                return SurrogateSpec.model_validate(
                    {"name": name, **tomllib.loads(path.read_text())}
                )
            except (ValidationError, tomllib.TOMLDecodeError) as err:
                raise FormulateError(
                    f"{path} is not a valid surrogate spec",
                    [Problem(str(path), str(err).splitlines()[0])],
                ) from None
    raise FormulateError(
        f"no surrogate '{name}'", [Problem("surrogate", name, f"use one of {spec_names()}")]
    )


def to_model_scale(values: np.ndarray, transform: str) -> np.ndarray:
    """Property values -> the objective's modelling scale (log10, logit or none)."""
    values = np.asarray(values, dtype=float)
    if transform == "log10":
        return np.log10(values)
    if transform == "logit":
        p = np.clip(values, LOGIT_EPS, 1 - LOGIT_EPS)
        return np.log(p / (1 - p))
    return values


def from_model_scale(y: np.ndarray, transform: str) -> np.ndarray:
    """Inverse of :func:`to_model_scale`."""
    y = np.asarray(y, dtype=float)
    if transform == "log10":
        return 10.0**y
    if transform == "logit":
        return 1 / (1 + np.exp(-y))
    return y


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cuda`` without CUDA falls back to CPU."""
    if device in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    if device not in ("auto", "cpu", "cuda"):
        raise FormulateError(
            f"unknown device '{device}'", [Problem("--device", device, "use auto, cpu or cuda")]
        )
    return torch.device("cpu")


@dataclass
class TrainingData:
    """One objective's training rows: formulations, model-scale values (``n``), censor flags."""

    rows: pd.DataFrame
    y: np.ndarray
    censored: np.ndarray


def training_data(
    campaign: Campaign, table: pd.DataFrame, prop: str, transform: str = "none"
) -> TrainingData:
    """Rows of ``table`` that have ``prop`` (pending and failed membranes have none).

    Raises:
        FormulateError: fewer than MIN_POINTS rows, or values the transform cannot take.
    """
    have = table[prop].notna() if prop in table else pd.Series(False, index=table.index)
    rows = table.loc[have].reset_index(drop=True)
    values = rows[prop].to_numpy(dtype=float, copy=True) if len(rows) else np.zeros(0)
    flag = f"{prop}_censored"
    censored = (
        rows[flag].to_numpy(dtype=bool, copy=True) if flag in rows else np.zeros(len(rows), bool)
    )
    if len(rows) < MIN_POINTS:
        raise FormulateError(
            f"{prop}: {len(rows)} membrane(s) have it; a model needs at least {MIN_POINTS}",
            [
                Problem(
                    prop,
                    f"only {len(rows)} measured",
                    "measure more membranes (or propose a space-filling first batch)",
                )
            ],
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        y = to_model_scale(values, transform)
    bad = [str(m) for m, v in zip(rows["membrane"], y, strict=True) if not np.isfinite(v)]
    if bad:
        raise FormulateError(
            f"{prop}: values the {transform} scale cannot take",
            [
                Problem(
                    f"membrane {m}", f"{prop} is zero, negative or missing", "correct the value"
                )
                for m in bad
            ],
        )
    return TrainingData(rows, y, censored)


@dataclass
class StackedEncoder:
    """A base encoding plus the posterior means of auxiliary GPs (one column each)."""

    base: Encoder
    auxiliary: list[ObjectiveModel]

    @property
    def kind(self) -> Kind:
        return self.base.kind

    @property
    def cat_dims(self) -> list[int]:
        return self.base.cat_dims

    @property
    def columns(self) -> list[str]:
        return self.base.columns + [f"predicted {m.objective}" for m in self.auxiliary]

    @property
    def dim(self) -> int:
        return len(self.columns)

    def encode(self, table: pd.DataFrame) -> torch.Tensor:
        parts = [self.base.encode(table)]
        for aux in self.auxiliary:
            mean, _ = aux.predict_scale(table)
            parts.append(torch.as_tensor(mean, dtype=torch.float64).unsqueeze(-1))
        return torch.cat(parts, dim=-1)


@dataclass
class ObjectiveModel:
    """A fitted GP for one objective, with what it was trained on."""

    objective: str
    transform: str
    spec: SurrogateSpec
    encoder: Encoder | StackedEncoder
    model: SingleTaskGP
    data: TrainingData
    y_fit: np.ndarray  # training targets after imputation of censored values
    key: str

    def predict_scale(
        self, table: pd.DataFrame, observation_noise: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation on the model scale (``n`` each)."""
        X = self.encoder.encode(table).to(self._device)
        self.model.eval()
        with torch.no_grad():
            post = self.model.posterior(X, observation_noise=observation_noise)
            mean = post.mean.squeeze(-1).cpu().numpy()
            std = post.variance.clamp_min(1e-12).sqrt().squeeze(-1).cpu().numpy()
        return mean, std

    @property
    def _device(self) -> torch.device:
        return self.model.train_inputs[0].device

    def predict(self, table: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
        """Mean and central ``level`` interval in the property's units, one row per input row.

        For membranes whose value is censored in the training data, the prediction is
        conditioned on what is known (life >= the bound): a truncated posterior.
        """
        mean, std = self.predict_scale(table)
        lower, upper = norm.interval(level, loc=mean, scale=std)
        bounds = dict(
            zip(
                self.data.rows["membrane"],
                np.where(self.data.censored, self.data.y, -np.inf),
                strict=True,
            )
        )
        if "membrane" in table:
            cut = np.array([bounds.get(m, -np.inf) for m in table["membrane"]])
            mean, lower, upper = _truncate(mean, std, cut, level, lower, upper)
        return pd.DataFrame(
            {
                "mean": from_model_scale(mean, self.transform),
                "lower": from_model_scale(lower, self.transform),
                "upper": from_model_scale(upper, self.transform),
                "std_model_scale": std,
            },
            index=table.index,
        )


def _truncate(
    mean: np.ndarray,
    std: np.ndarray,
    cut: np.ndarray,
    level: float,
    lower: np.ndarray,
    upper: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Mean and interval of N(mean, std) truncated below at ``cut`` where cut is finite."""
    mask = np.isfinite(cut)
    if not mask.any():
        return mean, lower, upper
    mean, lower, upper = mean.copy(), lower.copy(), upper.copy()
    m, s, c = mean[mask], std[mask], cut[mask]
    a = norm.cdf((c - m) / s)
    mean[mask] = truncated_mean(m, s, c)
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    lower[mask] = m + s * norm.ppf(a + (1 - a) * lo_q)
    upper[mask] = m + s * norm.ppf(a + (1 - a) * hi_q)
    return mean, lower, upper


def truncated_mean(mean: np.ndarray, std: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """E[Y | Y > bound] for Y ~ N(mean, std^2); never below ``bound``."""
    alpha = (bound - mean) / std
    tail = norm.sf(alpha)
    hazard = np.where(tail > 1e-12, norm.pdf(alpha) / np.maximum(tail, 1e-300), alpha)
    return np.maximum(mean + std * hazard, bound)


def _build(
    X: torch.Tensor, y: np.ndarray, encoder: Encoder | StackedEncoder, spec: SurrogateSpec
) -> SingleTaskGP:
    Y = torch.as_tensor(y, dtype=torch.float64, device=X.device).unsqueeze(-1)
    likelihood = GaussianLikelihood(
        noise_prior=LogNormalPrior(math.log(spec.noise_prior_median), 1.0),
        noise_constraint=GreaterThan(1e-6),
    ).to(X)
    if encoder.kind == "mixed" and encoder.cat_dims:
        return MixedSingleTaskGP(
            X,
            Y,
            cat_dims=encoder.cat_dims,
            likelihood=likelihood,
            outcome_transform=Standardize(m=1),
        )
    return SingleTaskGP(X, Y, likelihood=likelihood, outcome_transform=Standardize(m=1))


def _fit(
    X: torch.Tensor, y: np.ndarray, encoder: Encoder | StackedEncoder, spec: SurrogateSpec
) -> SingleTaskGP:
    model = _build(X, y, encoder, spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputDataWarning)
        warnings.simplefilter("ignore", OptimizationWarning)
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    return model


def loo_predictive(model: SingleTaskGP) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-out predictive mean and sd (model scale, noise included) of every training
    point, in closed form: mu_i = y_i - [K^-1 r]_i / [K^-1]_ii, var_i = 1 / [K^-1]_ii, with K
    the prior covariance of the noisy targets and r the targets minus the prior mean."""
    was_training = model.training
    model.train()
    with torch.no_grad():
        X = model.train_inputs[0]
        prior = model.likelihood(model(X))
        K = prior.covariance_matrix
        r = (model.train_targets - prior.mean).unsqueeze(-1)
        K_inv = torch.cholesky_inverse(torch.linalg.cholesky(K))
        diag = K_inv.diagonal()
        mean = model.train_targets - (K_inv @ r).squeeze(-1) / diag
        std = diag.rsqrt()
    model.train(was_training)
    standardize: Standardize = model.outcome_transform  # type: ignore[assignment]
    scale, shift = standardize.stdvs.squeeze(), standardize.means.squeeze()
    return (mean * scale + shift).cpu().numpy(), (std * scale).cpu().numpy()


def _impute(
    X: torch.Tensor, data: TrainingData, spec: SurrogateSpec, encoder: Encoder | StackedEncoder
) -> tuple[SingleTaskGP, np.ndarray]:
    """EM for right-censored values: each censored target becomes the mean of its
    leave-one-out predictive truncated below at its bound; refit until it settles."""
    y = data.y.copy()
    cens = data.censored
    model = _fit(X, y, encoder, spec)
    for _ in range(spec.em_iterations):
        mean, std = loo_predictive(model)
        new = truncated_mean(mean[cens], std[cens], data.y[cens])
        converged = np.max(np.abs(new - y[cens])) < 1e-3
        y[cens] = new
        model = _fit(X, y, encoder, spec)
        if converged:
            break
    return model, y


_MEMORY: OrderedDict[str, ObjectiveModel] = OrderedDict()
_MEMORY_SIZE = 64


def _key(spec: SurrogateSpec, prop: str, X: torch.Tensor, data: TrainingData) -> str:
    h = hashlib.sha256()
    h.update(spec.model_dump_json().encode())
    h.update(prop.encode())
    h.update(X.cpu().numpy().tobytes())
    h.update(data.y.tobytes())
    h.update(data.censored.tobytes())
    return h.hexdigest()[:24]


def fit_objective(
    campaign: Campaign,
    table: pd.DataFrame,
    prop: str,
    spec: SurrogateSpec | str = "gp-onehot",
    device: str = "auto",
    cache_dir: Path | None = None,
) -> ObjectiveModel:
    """Fit (or fetch from cache) the GP for one property of the campaign.

    Args:
        table: the campaign table (one row per membrane; see ``campaign_table``).
        prop: the property (an objective or an intermediate such as ``stability_window``).
        cache_dir: where fitted state dicts are kept (None: memory cache only).
    """
    spec = load_spec(spec) if isinstance(spec, str) else spec
    transform = next((o.transform for o in campaign.objectives if o.property == prop), "none")
    data = training_data(campaign, table, prop, transform)
    encoder: Encoder | StackedEncoder = Encoder(campaign, spec.encoding)
    if spec.auxiliary:
        first = spec.model_copy(update={"auxiliary": ()})
        aux = [fit_objective(campaign, table, a, first, device, cache_dir) for a in spec.auxiliary]
        encoder = StackedEncoder(Encoder(campaign, spec.encoding), aux)
    X = encoder.encode(data.rows).to(resolve_device(device))
    key = _key(spec, prop, X, data)
    if key in _MEMORY:
        _MEMORY.move_to_end(key)
        return _MEMORY[key]
    fitted = _load(cache_dir, key, X, data, encoder, spec, prop, transform)
    if fitted is None:
        fitted = _fit_fresh(X, data, encoder, spec, prop, transform, key)
        _save(cache_dir, fitted)
    _MEMORY[key] = fitted
    if len(_MEMORY) > _MEMORY_SIZE:
        _MEMORY.popitem(last=False)
    return fitted


def _fit_fresh(
    X: torch.Tensor,
    data: TrainingData,
    encoder: Encoder | StackedEncoder,
    spec: SurrogateSpec,
    prop: str,
    transform: str,
    key: str,
) -> ObjectiveModel:
    if data.censored.any() and spec.censoring == "em":
        model, y_fit = _impute(X, data, spec, encoder)
    elif data.censored.any() and spec.censoring == "drop":
        keep = ~data.censored
        if keep.sum() < MIN_POINTS:
            raise FormulateError(
                f"{prop}: too few uncensored values to drop the censored ones",
                [Problem(prop, "censoring = drop", "use censoring = em")],
            )
        model, y_fit = _fit(X[torch.as_tensor(keep)], data.y[keep], encoder, spec), data.y[keep]
    else:
        model, y_fit = _fit(X, data.y, encoder, spec), data.y
    return ObjectiveModel(prop, transform, spec, encoder, model, data, y_fit, key)


def _save(cache_dir: Path | None, fitted: ObjectiveModel) -> None:
    if cache_dir is None:
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    state = {
        "state_dict": fitted.model.state_dict(),
        "y_fit": torch.as_tensor(fitted.y_fit),
        "key": fitted.key,
    }
    torch.save(state, cache_dir / f"{fitted.key}.pt")


def _load(
    cache_dir: Path | None,
    key: str,
    X: torch.Tensor,
    data: TrainingData,
    encoder: Encoder | StackedEncoder,
    spec: SurrogateSpec,
    prop: str,
    transform: str,
) -> ObjectiveModel | None:
    """Rebuild a cached model from its state dict (``weights_only``: no code runs on load)."""
    path = cache_dir / f"{key}.pt" if cache_dir else None
    if path is None or not path.is_file():
        return None
    try:
        state = torch.load(path, weights_only=True, map_location=X.device)
        y_fit = state["y_fit"].cpu().numpy()
        rows = X if len(y_fit) == len(X) else X[torch.as_tensor(~data.censored)]
        model = _build(rows, y_fit, encoder, spec)
        model.load_state_dict(state["state_dict"])
    except (RuntimeError, KeyError, ValueError, OSError, EOFError, pickle.UnpicklingError):
        return None  # a stale or damaged cache file: refit
    return ObjectiveModel(prop, transform, spec, encoder, model, data, y_fit, key)


def fit_campaign(
    campaign: Campaign,
    table: pd.DataFrame,
    spec: SurrogateSpec | str | None = None,
    device: str = "auto",
    cache_dir: Path | None = None,
) -> dict[str, ObjectiveModel]:
    """One model per objective (each on its own rows). Raises if any objective has too few."""
    name = spec or campaign.strategy.surrogate or DEFAULT_SURROGATE
    return {
        o.property: fit_objective(campaign, table, o.property, name, device, cache_dir)
        for o in campaign.objectives
    }


def model_cache(campaign: Campaign) -> Path:
    """Where a campaign keeps fitted state dicts: ``<folder>/.formulate-cache``."""
    return campaign.folder / ".formulate-cache"


def lengthscales(fitted: ObjectiveModel) -> pd.Series:
    """ARD length-scales per encoded column (shorter = more relevant), when the kernel has one."""
    found = [
        m.lengthscale
        for m in fitted.model.covar_module.modules()
        if getattr(m, "ard_num_dims", None) == fitted.encoder.dim
        and getattr(m, "lengthscale", None) is not None
    ]
    if not found:
        return pd.Series(dtype=float)
    values = found[0].detach().cpu().numpy().ravel()
    return pd.Series(values, index=fitted.encoder.columns[: len(values)]).sort_values()


DEFAULT_SURROGATE = "gp-physics"
"""Used when a campaign names none: it had the best NLPD for life and t+ at 10-40 membranes
on the virtual lab (bench/bench_surrogates.py); gp-physics-aux is better still where the
intermediates are measured on every membrane."""

__all__ = [
    "DEFAULT_SURROGATE",
    "ObjectiveModel",
    "StackedEncoder",
    "SurrogateSpec",
    "fit_campaign",
    "fit_objective",
    "from_model_scale",
    "lengthscales",
    "load_spec",
    "loo_predictive",
    "model_cache",
    "resolve_device",
    "spec_names",
    "to_model_scale",
    "training_data",
    "truncated_mean",
]
