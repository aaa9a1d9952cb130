"""Surrogates: one Gaussian process per objective, on the membranes that have that outcome.

Families are declared as TOML specs (``surrogates/<name>.toml``; built-ins ship with the
package) and differ in how formulations are encoded (:mod:`formulate.model.encoding`):
``gp-onehot``, ``gp-physics`` (a categorical without descriptors on BoTorch's mixed
categorical kernel beside numeric variables, one-hot in an all-categorical space) and
``gp-mixed`` (the categorical kernel there too); ``gp-chosen`` picks between the last two at
each proposal (:func:`chosen_spec`).

Models work on the objective's transformed scale (log10 conductivity, logit t+, log10 life),
float64, on the configured device. Noise: where the campaign states a property's replicate
scatter (``[scatter]``), each value's noise is that scatter carried to the model scale (so a
logit-scale t+ near 0.2 is noisier than one near 0.6) plus a learned remainder (what the
formulation variables do not explain); else one learned noise level for all values.

A life is modelled as what a test to its horizon shows, min(life, horizon): a cell that reached
the horizon is an exact value (:mod:`formulate.model.training`), and predictions stop there.
A right-censored value (a cell still running at 600 h says life >= 600 h) enters through the
Tobit likelihood by expectation propagation (``censoring = "ep"``, the default): a Gaussian
site of its own mean and variance, matched to its leave-one-out cavity and refitted until the
sites settle (``em`` imputes a point value instead). Fitted models are cached by a hash of
their training data, in memory and as state dicts on disk (no pickles).
"""

from __future__ import annotations

import dataclasses
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from botorch.models import SingleTaskGP
from botorch.models.kernels.categorical import CategoricalKernel

from formulate.errors import FormulateError, NotEnoughData, Problem
from formulate.model.cache import Memory, cache_key, load_state, save_state
from formulate.model.censoring import loo_log_density, truncated_interval
from formulate.model.device import resolve_device
from formulate.model.encoding import Auxiliary, Encoder, StackedEncoder, by_tasks
from formulate.model.gp import (
    build_gp,
    fit_censored_em,
    fit_censored_ep,
    fit_gp,
    hyperparameters,
    kernel_of,
    learned_noise,
)
from formulate.model.specs import SurrogateSpec, load_spec
from formulate.model.training import TrainingData, training_data
from formulate.model.transfer import (
    TaskEncoder,
    joint_training,
    source_features,
    source_training,
)
from formulate.spec.campaign import Campaign
from formulate.spec.objectives import from_model_scale
from formulate.spec.strategies import MIN_MEASURED

MIN_POINTS = MIN_MEASURED
"""Fewest membranes with an outcome that give a usable model (a campaign may ask for more)."""


@dataclass
class ObjectiveModel:
    """A fitted GP for one objective, with what it was trained on."""

    objective: str
    transform: str
    spec: SurrogateSpec
    encoder: Encoder | StackedEncoder | TaskEncoder
    model: SingleTaskGP
    data: TrainingData  # the campaign's own membranes (never a prior source's rows)
    y_fit: np.ndarray  # training targets (censored values: their sites or imputations)
    key: str
    noise_fit: np.ndarray | None = None  # each target's known noise variance, if any
    source_rows: int = 0  # prior sources' rows in the fit, after the campaign's own

    def noise_variance(self, mean: np.ndarray) -> np.ndarray:
        """Observation noise variance (model scale) of a value whose latent mean is ``mean``
        (model scale, shape ``n``): the stated scatter there plus the learned remainder, or
        the one learned noise level."""
        scatter = self.data.scatter
        stated = 0.0 if scatter is None else scatter.model_sd(mean, self.transform) ** 2
        return stated + np.full(len(mean), learned_noise(self.model))

    def predict_scale(
        self, table: pd.DataFrame, observation_noise: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation on the model scale (``n`` each), of the
        latent value or, with ``observation_noise``, of a new measurement."""
        X = self.encoder.encode(table).to(self._device)
        self.model.eval()
        with torch.no_grad():
            post = self.model.posterior(X)
            mean = post.mean.squeeze(-1).cpu().numpy()
            var = post.variance.clamp_min(1e-24).squeeze(-1).cpu().numpy()
        if observation_noise:
            var = var + self.noise_variance(mean)
        return mean, np.sqrt(var)

    @property
    def _device(self) -> torch.device:
        return self.model.train_inputs[0].device

    def predict(self, table: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
        """Mean and central ``level`` interval in the property's units, one row per input row.

        For membranes whose value is censored in the training data, the prediction is
        conditioned on what is known (life >= the bound): a truncated posterior. A property
        with a test horizon is predicted as what the test shows: mean and bounds stop at the
        horizon (quantiles of min(value, horizon)).
        """
        mean, std = self.predict_scale(table)
        bounds = dict(
            zip(
                self.data.rows["membrane"],
                np.where(self.data.censored, self.data.y, -np.inf),
                strict=True,
            )
        )
        ids = table["membrane"] if "membrane" in table else [None] * len(mean)
        cut = np.array([bounds.get(m, -np.inf) for m in ids], dtype=float)
        mean, lower, upper = (
            np.minimum(v, self.data.cap) for v in truncated_interval(mean, std, cut, level)
        )
        return pd.DataFrame(
            {
                "mean": from_model_scale(mean, self.transform),
                "lower": from_model_scale(lower, self.transform),
                "upper": from_model_scale(upper, self.transform),
                "std_model_scale": std,
            },
            index=table.index,
        )


def encoder_for(
    campaign: Campaign,
    table: pd.DataFrame,
    spec: SurrogateSpec,
    device: str = "auto",
    cache_dir: Path | None = None,
) -> Encoder | StackedEncoder:
    """The model inputs of ``spec`` for a campaign table: its encoding, plus the posterior
    means of its auxiliary GPs fitted on ``table`` (a two-stage family). Every model of a
    proposal (objectives, outcome constraints, the film classifier) is fitted on it, so that
    one encoded candidate serves them all.

    Raises:
        NotEnoughData: an auxiliary property measured on too few membranes.
    """
    encoder = Encoder(campaign, spec.encoding)
    first = spec.model_copy(update={"auxiliary": ()})
    aux: list[Auxiliary] = [
        fit_objective(campaign, table, a, first, device, cache_dir) for a in spec.auxiliary
    ]
    if campaign.priors and campaign.strategy.transfer == "stacked":
        aux += source_features(campaign, first, device, cache_dir)
    return StackedEncoder(encoder, aux) if aux else encoder


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
    spec = chosen_spec(campaign, table, spec, device, cache_dir)
    transform = transform_of(campaign, prop)
    data = training_data(campaign, table, prop, transform)
    base = encoder_for(campaign, table, spec, device, cache_dir)
    sources = source_training(campaign, prop, transform) if by_tasks(campaign) else []
    encoder: Encoder | StackedEncoder | TaskEncoder = base
    fit_data = data
    if sources:
        encoder, X, fit_data = joint_training(base, data, sources, campaign.strategy.transfer)
    else:
        X = base.encode(data.rows)
    X = X.to(resolve_device(device))
    stated = [s.prior.model_dump_json() for s, _ in sources]  # a source's trust and words
    stated += [campaign.strategy.transfer] if sources else []
    key = cache_key(
        spec.model_dump_json(), prop, X, fit_data.y, fit_data.censored, str(data.scatter), *stated
    )
    fitted: ObjectiveModel | None = _MEMORY.get_recent(key)
    if fitted is not None:
        return fitted
    state = load_state(cache_dir, key, X.device)
    fitted = _from_state(state, X, fit_data, encoder, spec, prop, key)
    if fitted is None:
        tasks = f"|tasks {len(sources) + 1} {campaign.strategy.transfer}"
        last = "last-" + cache_key(spec.model_dump_json(), prop, "|".join(encoder.columns) + tasks)
        start = _last_fit(cache_dir, last, X.device)
        fitted = _fit_fresh(X, fit_data, encoder, spec, prop, key, start)
        save_state(
            cache_dir,
            key,
            _state(fitted),
        )
        if cache_dir is not None:
            _LAST_FIT[(str(cache_dir), last)] = hyperparameters(fitted.model)
            save_state(cache_dir, last, hyperparameters(fitted.model))
    if sources:  # the fit saw the sources' rows too; the model's data are the campaign's
        fitted = dataclasses.replace(
            fitted, data=data, source_rows=len(fitted.y_fit) - int(_own_rows(fitted, data))
        )
    _MEMORY.keep(key, fitted)
    return fitted


def chosen_spec(
    campaign: Campaign,
    table: pd.DataFrame,
    spec: SurrogateSpec | str,
    device: str = "auto",
    cache_dir: Path | None = None,
) -> SurrogateSpec:
    """``spec``, or for a spec that chooses (``choose_from``) the family whose models of the
    campaign's objectives give their own training values the highest closed-form leave-one-out
    log density, summed over values and over the objectives measured on enough membranes (a
    life may come weeks after the conductivity). One family serves every objective, since a
    proposal's models share one encoding. A family that can fit no objective yet is not chosen.
    A family whose models would be those of an earlier one (e.g. ``gp-mixed`` where every
    categorical has descriptors) is not fitted: the earlier one stands for it."""
    spec = load_spec(spec) if isinstance(spec, str) else spec
    if not spec.choose_from:
        return spec
    families = distinct_families(campaign, spec)
    best, best_score = families[0], -np.inf
    for family in families if len(families) > 1 else []:
        models = []
        for o in campaign.objectives:
            with suppress(NotEnoughData):
                models.append(fit_objective(campaign, table, o.property, family, device, cache_dir))
        if not models:
            continue
        score = sum(loo_log_density(m.model, m.y_fit) for m in models)
        if score > best_score:
            best, best_score = family, score
    return best


def distinct_families(campaign: Campaign, spec: SurrogateSpec) -> list[SurrogateSpec]:
    """The families a choosing ``spec`` lists, less those whose models of ``campaign`` would be
    an earlier one's (the same settings, encoded columns and categorical-kernel columns) and,
    where the campaign learns from sources by a multi-task GP, those with a categorical kernel
    (it has none)."""
    out: list[SurrogateSpec] = []
    seen: list[tuple[str, list[str], list[int]]] = []
    multitask = by_tasks(campaign)
    for name in spec.choose_from:
        family = load_spec(name)
        encoder = Encoder(campaign, family.encoding)
        if multitask and encoder.cat_dims:
            continue
        settings = family.model_dump_json(exclude={"name", "description", "encoding"})
        model = (settings, encoder.columns, encoder.cat_dims)
        if model not in seen:
            seen.append(model)
            out.append(family)
    return out or [load_spec(spec.choose_from[0])]  # the first says what is wrong


def _own_rows(fitted: ObjectiveModel, data: TrainingData) -> int:
    """How many of the fit's rows are the campaign's own (they come first): all, or the
    uncensored ones where censored values were dropped."""
    dropped = fitted.spec.censoring == "drop" and bool(fitted.data.censored.any())
    return int((~data.censored).sum()) if dropped else len(data.y)


def _state(fitted: ObjectiveModel) -> dict[str, object]:
    """What the disk cache keeps of a fit: its state dict, targets and known noise."""
    state: dict[str, object] = {
        "state_dict": fitted.model.state_dict(),
        "y_fit": torch.as_tensor(fitted.y_fit),
        "kernel": kernel_of(fitted.model),  # the one an ``auto`` spec chose
    }
    if fitted.noise_fit is not None:
        state["noise_fit"] = torch.as_tensor(fitted.noise_fit)
    return state


_LAST_FIT: dict[tuple[str, str], dict[str, torch.Tensor]] = {}


def _last_fit(
    cache_dir: Path | None, last: str, device: torch.device
) -> dict[str, torch.Tensor] | None:
    """The hyperparameters of the campaign's last fit of this property and family (a warm
    start when new membranes came in), from memory or the campaign's cache folder. Only a
    campaign with a cache folder has one: backtests fit from the priors, reproducibly."""
    if cache_dir is None:
        return None
    if (str(cache_dir), last) in _LAST_FIT:
        return _LAST_FIT[(str(cache_dir), last)]
    return load_state(cache_dir, last, device)


_MEMORY = Memory()


def transform_of(campaign: Campaign, prop: str) -> str:
    """The modelling transform of ``prop``: its objective's, else ``none`` (intermediates,
    constraint properties)."""
    return next((o.transform for o in campaign.objectives if o.property == prop), "none")


def _from_state(
    state: dict | None,
    X: torch.Tensor,
    data: TrainingData,
    encoder: Encoder | StackedEncoder | TaskEncoder,
    spec: SurrogateSpec,
    prop: str,
    key: str,
) -> ObjectiveModel | None:
    """Rebuild a cached model from its state dict, or None when it does not fit (stale)."""
    if state is None:
        return None
    try:
        y_fit = state["y_fit"].cpu().numpy()
        rows = X if len(y_fit) == len(X) else X[torch.as_tensor(~data.censored)]
        noise = state["noise_fit"].cpu().numpy() if "noise_fit" in state else None
        model = build_gp(rows, y_fit, encoder, spec, noise, kernel=state.get("kernel"))
        model.load_state_dict(state["state_dict"])
    except (RuntimeError, KeyError, ValueError):
        return None
    return ObjectiveModel(prop, data.transform, spec, encoder, model, data, y_fit, key, noise)


def _fit_fresh(
    X: torch.Tensor,
    data: TrainingData,
    encoder: Encoder | StackedEncoder | TaskEncoder,
    spec: SurrogateSpec,
    prop: str,
    key: str,
    start: dict[str, torch.Tensor] | None = None,
) -> ObjectiveModel:
    known: np.ndarray | None
    if data.censored.any() and spec.censoring == "ep":
        model, y_fit, known = fit_censored_ep(X, data, spec, encoder, start)
    elif data.censored.any() and spec.censoring == "em":
        model, y_fit = fit_censored_em(X, data, spec, encoder, start)
        known = data.known_noise(y_fit)
    elif data.censored.any() and spec.censoring == "drop":
        keep = ~data.censored
        if keep.sum() < MIN_POINTS:
            raise FormulateError(
                f"{prop}: too few uncensored values to drop the censored ones",
                [Problem(prop, "censoring = drop", "use censoring = ep")],
            )
        rows = X[torch.as_tensor(keep)]
        y_fit, known = data.y[keep], data.known_noise(data.y[keep])
        model = fit_gp(rows, y_fit, encoder, spec, start, known)
    else:
        y_fit, known = data.y, data.known_noise(data.y)
        model = fit_gp(X, y_fit, encoder, spec, start, known)
    return ObjectiveModel(prop, data.transform, spec, encoder, model, data, y_fit, key, known)


def fit_campaign(
    campaign: Campaign,
    table: pd.DataFrame,
    spec: SurrogateSpec | str | None = None,
    device: str = "auto",
    cache_dir: Path | None = None,
) -> dict[str, ObjectiveModel]:
    """One model per objective (each on its own rows). Raises if any objective has too few."""
    name = spec or campaign.strategy.surrogate
    return {
        o.property: fit_objective(campaign, table, o.property, name, device, cache_dir)
        for o in campaign.objectives
    }


def lengthscales(fitted: ObjectiveModel) -> pd.Series:
    """ARD length-scales per encoded column the kernel reads (shorter = more relevant), when
    the kernel has one (a stacked source's column is read by the mean alone). A categorical on
    BoTorch's categorical kernel (correlation exp(-1/l) between two levels) gets the RBF
    length-scale of the same correlation across the unit range of a numeric input,
    sqrt(l / 2), so that the two read alike. ``MixedSingleTaskGP`` has a sum and a product of
    the two kernels: the sum's length-scales are the ones shown."""
    numeric = pd.Series(dtype=float)
    levels: dict[str, float] = {}
    for m in fitted.model.covar_module.modules():
        ard, scales = getattr(m, "ard_num_dims", None), getattr(m, "lengthscale", None)
        if ard is None or scales is None:
            continue
        dims = m.active_dims if m.active_dims is not None else range(ard)
        names = [fitted.encoder.columns[int(i)] for i in dims][:ard]
        values = scales.detach().cpu().numpy().ravel()
        if isinstance(m, CategoricalKernel):
            for name, value in zip(names, values, strict=True):  # the sum's come first
                levels.setdefault(name, float(np.sqrt(value / 2)))
        elif numeric.empty and ard > 1 and len(names) == ard:
            numeric = pd.Series(values, index=names)
    if numeric.empty:
        return numeric
    return pd.concat([numeric, pd.Series(levels, dtype=float)]).sort_values()


__all__ = [
    "MIN_POINTS",
    "ObjectiveModel",
    "StackedEncoder",
    "TrainingData",
    "fit_campaign",
    "fit_objective",
    "lengthscales",
    "training_data",
    "transform_of",
]
