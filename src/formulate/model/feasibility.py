"""Film formation: the chance that a formulation casts a free-standing film.

A film either forms or it does not, so the model is a classifier, not a regression on 0/1: a
GP on the log-odds of forming with the Dirichlet-based classification likelihood (Milios et al.,
NeurIPS 2018, as in GPyTorch's ``DirichletClassificationLikelihood``), collapsed to two classes.
Each label becomes a regression target with a known, large noise (a formed film +D, a failed
one -D, noise variance S), so the fit is an exact GP with fixed noise: well conditioned and fast,
where a GP regression on raw 0/1 labels interpolates them at the noise floor and needs tens of
seconds. The probability of forming is the expected logistic of the latent log-odds,
E[sigmoid(f)], which the acquisition applies as a soft feasibility (BoTorch's constraint
smoothing with a temperature of 1 on the log-odds scale).

Labels come from every membrane that was made: ``film_formed`` when logged, else its status
(``made`` and ``measured`` films formed, ``failed`` ones did not). Pending membranes have none.

The prior: a campaign's ``[[film_risks]]`` (:mod:`formulate.spec.film`) set the prior log-odds
inside their regions to the stated chance, so the acquisition weighs a risky region down before
any film there failed, and films made there move it like any other data. Outside them the prior
is a constant learned from the films made: one failure then makes its neighbourhood unlikely
(P 0.03-0.11 at it with 3-20 films made), a film that formed in a risky region lifts its
neighbourhood.

Without stated risks the classifier starts at the first failure, with the constant fixed at a
lean to "forms" (measured, stop 11): BoTorch standardizes the targets, so the constant acts in
standardized units (P about 0.99 away from failures); one failure lowers its own formulation to
about 0.75-0.87 (a film may crack by chance), a cluster of failures rules a region out (P <
0.05). Learning the constant here too (one failure counting at once) was measured on the
emulator backtest (20 seeds, 6 + 6 x 4, for issue 15): the hypervolume at 30 fell to 0.92 [0.21,
0.99] from 0.96 [0.87, 0.99] and 22.7% of proposals still failed: without a stated boundary,
the search is kept from the good region next to the failures (EO:Li just above 7). With the
risks stated, 6% failed and the hypervolume at 30 is 0.98 [0.97, 0.99] (README).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from botorch.exceptions.warnings import InputDataWarning
from botorch.models import SingleTaskGP
from botorch.models.transforms.outcome import Standardize
from gpytorch.means import Mean

from formulate.errors import NotEnoughData
from formulate.model.cache import Memory, cache_key, load_state, save_state
from formulate.model.device import resolve_device
from formulate.model.encoding import Encoder, StackedEncoder
from formulate.model.gp import exact_gp, fit_hyperparameters
from formulate.model.specs import SurrogateSpec
from formulate.model.surrogates import ObjectiveModel, TrainingData, chosen_spec, encoder_for
from formulate.spec.campaign import Campaign
from formulate.spec.film import FilmRisk

FILM = "film_formed"
ALPHA_EPS = 0.01
"""Dirichlet pseudo-count of the class a label does not name (Milios et al. use 0.01)."""
_S_ON = math.log(1 / (1 + ALPHA_EPS) + 1)
_S_OFF = math.log(1 / ALPHA_EPS + 1)
TARGET = (math.log(1 + ALPHA_EPS) - _S_ON / 2) - (math.log(ALPHA_EPS) - _S_OFF / 2)
"""Log-odds target of a formed film (a failed one: minus this), about 6.6."""
NOISE = _S_ON + _S_OFF
"""Noise variance of each log-odds target, about 5.3."""
FORM_PRIOR = 0.8
"""The prior's log-odds target is that of an 80% chance to form; applied in standardized units
(see the module), it leans further to "forms": one unlucky failure is mostly put down to
noise, a region of failures pulls the chance down."""


def film_labels(table: pd.DataFrame) -> pd.Series:
    """1.0 where a membrane's film formed, 0.0 where it failed, NaN where not made yet."""
    status = table["status"] if "status" in table else pd.Series("measured", index=table.index)
    labels = pd.Series(np.nan, index=table.index)
    labels[status.isin(["made", "measured"])] = 1.0
    labels[status == "failed"] = 0.0
    if FILM in table:
        logged = pd.to_numeric(table[FILM], errors="coerce")
        labels = logged.where(logged.notna(), labels)
    return labels


def has_failures(table: pd.DataFrame) -> bool:
    """Whether any film failed (before that there is nothing to learn)."""
    return bool((film_labels(table) == 0).any())


def needs_film_model(campaign: Campaign, table: pd.DataFrame) -> bool:
    """Whether proposals weigh the chance of forming: once a film failed, or from the first
    film made when the campaign states film risks."""
    if campaign.film_risks:
        return bool(film_labels(table).notna().any())
    return has_failures(table)


def fit_film_model(
    campaign: Campaign,
    table: pd.DataFrame,
    spec: SurrogateSpec | str,
    device: str = "auto",
    cache_dir: Path | None = None,
) -> ObjectiveModel:
    """The film-formation classifier on every membrane made so far (see the module), from the
    memory or disk cache when the same membranes were classified before.

    Its output is the latent log-odds (model scale): feasible where it is above 0.
    """
    spec = chosen_spec(campaign, table, spec, device, cache_dir)
    labels = film_labels(table)
    rows = table.loc[labels.notna()].reset_index(drop=True)
    formed = labels.dropna().to_numpy(dtype=float)
    try:
        encoder = encoder_for(campaign, table, spec, device, cache_dir)
    except NotEnoughData:  # no objective model either: the film model serves the warm-up alone
        encoder = Encoder(campaign, spec.encoding)
    X = encoder.encode(rows).to(resolve_device(device))
    y = np.where(formed > 0.5, TARGET, -TARGET)
    risks = campaign.film_risks
    key = cache_key("film", spec.model_dump_json(), X, y, str([r.model_dump() for r in risks]))
    cached: ObjectiveModel | None = _MEMORY.get_recent(key)
    if cached is not None:
        return cached
    model = _classifier(X, y, encoder, risks)
    if not _restored(model, load_state(cache_dir, key, X.device)):
        fit_hyperparameters(model)
        save_state(cache_dir, key, model.state_dict())
    data = TrainingData(rows, y, np.zeros(len(y), dtype=bool))
    fitted = ObjectiveModel(FILM, "none", spec, encoder, model, data, y, key)
    _MEMORY.keep(key, fitted)
    return fitted


def _restored(model: SingleTaskGP, state: dict | None) -> bool:
    """Load a cached fit into ``model``; False when there is none or it does not fit."""
    if state is None:
        return False
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError):
        return False
    return True


def _classifier(
    X: torch.Tensor, y: np.ndarray, encoder: Encoder | StackedEncoder, risks: tuple[FilmRisk, ...]
) -> SingleTaskGP:
    """The exact GP on log-odds targets with their fixed noise, with the objectives' kernel
    (BoTorch's mixed categorical kernel where the encoding has level indices); its prior mean is
    :class:`StatedPrior` (the stated risks, a learned constant elsewhere; the fixed lean to
    "forms" when the campaign states none)."""
    Y = torch.as_tensor(y, dtype=torch.float64, device=X.device).unsqueeze(-1)
    noise = torch.full_like(Y, NOISE)
    with warnings.catch_warnings():  # all films formed: targets without spread, as meant
        warnings.simplefilter("ignore", InputDataWarning)
        model = exact_gp(X, Y, encoder, train_Yvar=noise)
    standardize: Standardize = model.outcome_transform  # type: ignore[assignment]
    shift, scale = float(standardize.means.squeeze()), float(standardize.stdvs.squeeze())
    regions = [
        (encoder, risk.when, (math.log(risk.chance / (1 - risk.chance)) - shift) / scale)
        for risk in risks
    ]
    model.mean_module = StatedPrior(regions).to(X)
    if not risks:  # the lean to "forms" of the module's note, fixed
        model.mean_module.raw_constant.data.fill_((2 * FORM_PRIOR - 1) * TARGET)
        model.mean_module.raw_constant.requires_grad_(False)
    return model


class StatedPrior(Mean):
    """The classifier's prior mean on the standardized log-odds: a constant outside the
    stated regions (learned from the films made, or the fixed lean of the module's note when
    the campaign states no risk), each region's stated value inside it (the lowest where
    they overlap). ``regions``: (encoder, condition, standardized log-odds)."""

    def __init__(self, regions: list[tuple[Encoder | StackedEncoder, dict, float]]) -> None:
        super().__init__()
        self.register_parameter("raw_constant", torch.nn.Parameter(torch.zeros(())))
        self.regions = regions

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.raw_constant.expand(x.shape[:-1])
        for encoder, when, value in self.regions:
            lower = encoder.in_region(x, when) & (out > value)
            out = torch.where(lower, torch.full_like(out, value), out)
        return out


def probability_of_forming(model: ObjectiveModel, table: pd.DataFrame) -> np.ndarray:
    """P(film forms) for each row of ``table`` (shape ``n``): E[sigmoid(f)] for the latent
    log-odds f ~ N(mean, sd^2), by the probit approximation (MacKay 1992)."""
    mean, std = model.predict_scale(table)
    return 1 / (1 + np.exp(-mean / np.sqrt(1 + np.pi * std**2 / 8)))


_MEMORY = Memory()
