"""Transfer from prior sources (``[[prior]]``), in one of three ways (``[strategy] transfer``):

* ``stacked`` (the default): each source's own GP (fitted once on its rows, cached by them)
  predicts every candidate; that prediction is a column of the campaign's encoding
  (:class:`SourceFeature`) that only the prior mean reads: a constant plus a learned multiple
  of it (:class:`SourceMean`, weight starting at 0). The kernel stays over the formulation,
  with its own length-scales, as without a source, so a misleading source gets a weight
  near 0 and leaves the campaign's model as it was. (With the column in the kernel too, the
  shuffled source hurt one task significantly: ``docs/benchmarks/README.md``.)
* ``multitask``: each source is a task (1, 2, ...) beside the campaign (task 0) in BoTorch's
  ``MultiTaskGP``: one kernel over the formulation, times a learned task covariance
  (``PositiveIndexKernel``: correlations 0-1, the campaign's scale fixed at 1), a constant
  mean and a noise level per task. A source's ``trust`` is the prior mean of its correlation
  with the campaign (else BoTorch's default, Beta(2.5, 1.5)). Candidates are encoded without
  a task column (:meth:`TaskEncoder.encode`) and the model predicts the campaign's task, so
  every acquisition works unchanged.
* ``autoregressive``: the same tasks, with Kennedy and O'Hagan's covariance instead
  (:mod:`formulate.model.autoregressive`): the campaign a learned multiple of the sources'
  function plus a difference of its own, each with its own length-scales.

The choice was made on the transfer tasks (``benchmarks/transfer/``, public tables).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from botorch.models import MultiTaskGP
from botorch.models.utils.priors import BetaPrior
from gpytorch.constraints import GreaterThan
from gpytorch.kernels import Kernel
from gpytorch.likelihoods import HadamardGaussianLikelihood
from gpytorch.means import Mean
from gpytorch.priors import LogNormalPrior, NormalPrior

from formulate.data.priors import SourceRows, source_rows
from formulate.errors import FormulateError, Problem
from formulate.model.autoregressive import AutoregressiveKernel
from formulate.model.encoding import Encoder, StackedEncoder
from formulate.model.training import TrainingData, training_data
from formulate.spec.campaign import Campaign

TRUST_CONCENTRATION = 8.0
"""How firmly a stated ``trust`` holds before data: Beta(8 t, 8 (1 - t)), sd about 0.15 at
t = 0.5."""
DEFAULT_CORRELATION = (2.5, 1.5)
"""BoTorch's default prior on a task correlation: Beta(2.5, 1.5), mean 0.63."""


@dataclass(frozen=True)
class TaskEncoder:
    """The campaign's encoding (``base``) with the sources as tasks.

    ``encode`` gives the campaign's columns (``n x d``: candidates, the campaign's own
    membranes); :meth:`encode_tasks` appends the task column for training rows
    (``n x (d + 1)``).
    """

    base: Encoder | StackedEncoder
    sources: tuple[SourceRows, ...]
    way: str = "multitask"
    """``multitask`` (BoTorch's ICM kernel) or ``autoregressive``."""

    def encode(self, table: pd.DataFrame) -> torch.Tensor:
        return self.base.encode(table)

    def encode_tasks(self, table: pd.DataFrame, tasks: np.ndarray) -> torch.Tensor:
        X = self.base.encode(table)
        task = torch.as_tensor(tasks, dtype=X.dtype).unsqueeze(-1)
        return torch.cat([X, task], dim=-1)

    @property
    def dim(self) -> int:
        return self.base.dim

    @property
    def columns(self) -> list[str]:
        return list(self.base.columns)

    @property
    def kind(self) -> str:
        return self.base.kind

    @property
    def cat_dims(self) -> list[int]:
        return list(self.base.cat_dims)

    @property
    def num_tasks(self) -> int:
        return len(self.sources) + 1

    def correlation_prior(self) -> BetaPrior:
        """The prior of every task correlation (the lower triangle of the task matrix, row
        by row: (1, 0), (2, 0), (2, 1), ...): a source's ``trust`` for its correlation with
        the campaign, BoTorch's default elsewhere."""
        rows, cols = torch.tril_indices(self.num_tasks, self.num_tasks, offset=-1)
        a, b = [], []
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            trust = self.sources[r - 1].prior.trust if c == 0 else None
            if trust is None:
                a.append(DEFAULT_CORRELATION[0])
                b.append(DEFAULT_CORRELATION[1])
            else:
                a.append(TRUST_CONCENTRATION * trust)
                b.append(TRUST_CONCENTRATION * (1 - trust))
        if len(a) == 1:  # one correlation: a scalar prior (BoTorch samples a fallback
            return BetaPrior(a[0], b[0])  # start in the correlations' shape only for one)
        return BetaPrior(torch.tensor(a), torch.tensor(b))  # type: ignore[arg-type]


def source_training(
    campaign: Campaign, prop: str, transform: str
) -> list[tuple[SourceRows, TrainingData]]:
    """Each source's rows with a value of ``prop`` (an objective), on the model scale; sources
    without one are left out."""
    if prop not in {o.property for o in campaign.objectives}:
        return []
    out = []
    for source in source_rows(campaign):
        if prop in source.rows and source.rows[prop].notna().any():
            out.append((source, training_data(campaign, source.rows, prop, transform, need=1)))
    return out


def joint_training(
    base: Encoder | StackedEncoder,
    target: TrainingData,
    sources: list[tuple[SourceRows, TrainingData]],
    way: str = "multitask",
) -> tuple[TaskEncoder, torch.Tensor, TrainingData]:
    """The campaign's rows first, then each source's: the encoder (tasks learned ``way``),
    inputs ``n x (d + 1)`` (task last: 0 the campaign, 1.. the sources in order) and the
    stacked training data (censor flags, values; the campaign's stated scatter for all)."""
    encoder = TaskEncoder(base, tuple(s for s, _ in sources), way)
    parts = [target, *(d for _, d in sources)]
    tasks = np.concatenate(
        [np.zeros(len(target.y))] + [np.full(len(d.y), i) for i, (_, d) in enumerate(sources, 1)]
    )
    rows = pd.concat([p.rows for p in parts], ignore_index=True)
    data = TrainingData(
        rows=rows,
        y=np.concatenate([p.y for p in parts]),
        censored=np.concatenate([p.censored for p in parts]),
        transform=target.transform,
        scatter=target.scatter,
        cap=target.cap,
    )
    return encoder, encoder.encode_tasks(rows, tasks), data


def multitask_gp(
    X: torch.Tensor,
    Y: torch.Tensor,
    encoder: TaskEncoder,
    noise_prior: LogNormalPrior,
    factory: Callable[..., Kernel] | None = None,
    **extra: Any,
) -> MultiTaskGP:
    """BoTorch's ``MultiTaskGP`` predicting the campaign's task (0) from inputs ``X``
    (``n x (d + 1)``, task last): a noise level per task unless ``extra`` brings the known
    noise (``train_Yvar``), the task correlations' prior from the sources' trust, and a
    deterministic start (the prior means) so that fits are reproducible. ``factory`` makes
    the kernel over the formulation (called with ``ard_num_dims``; None: BoTorch's RBF with
    its dimension-scaled prior). With ``encoder.way == "autoregressive"`` the covariance is
    Kennedy and O'Hagan's (:class:`AutoregressiveKernel`, its two parts from ``factory``)
    instead of the product of that kernel and a task kernel.

    Raises:
        FormulateError: an encoding with level indices (``mixed``): the multi-task kernel
            would read them as numbers.
    """
    if encoder.cat_dims:
        raise FormulateError(
            "a multi-task GP cannot read level indices as levels",
            [
                Problem(
                    "campaign.toml: strategy.transfer",
                    f"'multitask' with the '{encoder.kind}' encoding",
                    "use transfer = 'stacked', or a surrogate with one-hot or descriptor levels"
                    " (gp-physics)",
                )
            ],
        )
    prior = encoder.correlation_prior()
    if factory is not None and encoder.way != "autoregressive":
        extra["covar_module"] = factory(ard_num_dims=encoder.dim).to(X)  # task column left out
    if "train_Yvar" not in extra:
        extra["likelihood"] = HadamardGaussianLikelihood(
            num_tasks=encoder.num_tasks,
            noise_prior=noise_prior,
            noise_constraint=GreaterThan(1e-6),
            task_feature_index=X.shape[-1] - 1,
        ).to(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's sparse-invariant note
        model = MultiTaskGP(
            X,
            Y,
            task_feature=-1,
            output_tasks=[0],
            task_covar_prior=prior.to(X),
            **extra,
        )
    if encoder.way == "autoregressive":  # Kennedy and O'Hagan's covariance instead
        trust = [s.prior.trust for s in encoder.sources if s.prior.trust is not None]
        rho = float(np.mean(trust)) if trust else 0.5
        kernel = AutoregressiveKernel(encoder.dim, rho, factory)
        model.covar_module = kernel.to(X)
        return model
    task_kernel = model.covar_module.kernels[1]
    start = prior.mean.to(X)
    task_kernel._set_lower_triangle_corr(start)
    task_kernel.initialize(raw_var=torch.full_like(task_kernel.raw_var, math.log(math.e - 1)))
    return model


def signal_shares(model: Any) -> np.ndarray:
    """Per source task (``k``): the share of its values' variance that the shared kernel
    explains, the rest being its own noise. A source whose outcomes bear no relation to its
    formulations has a share near 0, whatever its correlation (unidentified there)."""
    if not isinstance(model, MultiTaskGP):
        return np.zeros(0)
    if isinstance(model.covar_module, AutoregressiveKernel):  # a source is g: unit variance
        signal = np.ones(model.num_tasks - 1)
    else:
        B = model.covar_module.kernels[1].covar_matrix.detach().diagonal()
        scale = float(getattr(model.covar_module.kernels[0], "outputscale", torch.tensor(1.0)))
        signal = (B[1:] * scale).cpu().numpy()
    likelihood = model.likelihood
    if isinstance(likelihood, HadamardGaussianLikelihood):
        noise = likelihood.noise.detach().reshape(-1)[1:].cpu().numpy()
    else:
        noise = np.full(len(signal), float(likelihood.noise.detach().mean()))
    return signal / (signal + noise)


def correlations(model: Any) -> np.ndarray:
    """The learned correlation of each source task with the campaign's (``k``), or an empty
    array for a model without tasks."""
    if not isinstance(model, MultiTaskGP):
        return np.zeros(0)
    if isinstance(model.covar_module, AutoregressiveKernel):
        return np.full(model.num_tasks - 1, model.covar_module.correlation())
    B = model.covar_module.kernels[1].covar_matrix.detach()
    corr = B[1:, 0] / torch.sqrt(B.diagonal()[1:] * B[0, 0])
    return corr.cpu().numpy()


USED = 0.5
"""A source that carries at least this far (:func:`carries`) is said to drive the proposals
(their reasons name its nearest membrane); below it, it is said to be little used."""


def carries(model: Any) -> np.ndarray:
    """How far each source carries to the campaign (``k``, 0-1): its learned correlation
    times the share of its variance that is signal (:func:`signal_shares`). A related source
    is near 1; one whose outcomes are noise to its formulations near 0."""
    return correlations(model) * signal_shares(model)


def stacked_carries(fitted: Any) -> dict[str, float]:
    """For a model with stacked sources: per source column (``<prop> from <source>``), the
    correlation (0-1, clipped at 0) between the source's prediction and the campaign's values
    on its own membranes, where the model's mean gives that column a positive weight."""
    columns = source_columns(fitted.encoder)
    if not columns:
        return {}
    X = fitted.encoder.encode(fitted.data.rows).cpu().numpy()
    weights = fitted.model.mean_module.weights.detach().cpu().numpy()
    out = {}
    for column, weight in zip(columns, weights, strict=True):
        r = np.corrcoef(X[:, column], fitted.data.y)[0, 1] if len(fitted.data.y) > 2 else 0.0
        name = fitted.encoder.columns[column].removeprefix("predicted ")
        out[name] = max(0.0, float(np.nan_to_num(r))) if weight > 0 else 0.0
    return out


def carried_by_source(fitted: Any) -> dict[str, float]:
    """How far each source carries in a fitted objective model (either way), by its name."""
    if isinstance(fitted.encoder, TaskEncoder):
        names = [s.prior.label for s in fitted.encoder.sources]
        return dict(zip(names, carries(fitted.model).tolist(), strict=True))
    suffix = f"{fitted.objective} from "
    return {k.removeprefix(suffix): v for k, v in stacked_carries(fitted).items()}


def transfer_notes(campaign: Campaign, models: dict[str, Any]) -> list[str]:
    """One line per objective and source: how far the model learned the source carries
    (``models``: fitted objective models by property, :class:`ObjectiveModel`)."""
    notes = []
    for prop, fitted in models.items():
        for name, far in stacked_carries(fitted).items():
            use = "used" if far >= USED else "little used"
            notes.append(
                f"{campaign.label(prop)} follows the prediction of {name} (stacked): carries "
                f"{far:.2f} ({use}; its correlation with this campaign's own values)"
            )
        if not isinstance(fitted.encoder, TaskEncoder):
            continue
        model = fitted.model
        for source, far, r, share in zip(
            fitted.encoder.sources,
            carries(model),
            correlations(model),
            signal_shares(model),
            strict=True,
        ):
            use = "used" if far >= USED else "little used"
            notes.append(
                f"{campaign.label(prop)} learns from prior '{source.prior.label}' "
                f"({source.prior.differs}; {len(source.rows)} rows): carries {far:.2f} "
                f"({use}; learned correlation {r:.2f} with this campaign, {share:.0%} of the "
                "source's scatter explained)"
            )
    return notes


def source_hint(fitted: Any, row: pd.DataFrame) -> tuple[SourceRows, str, float] | None:
    """For one candidate (a one-row table), the source that carries furthest (at least
    :data:`USED`), what it says and the value (property units): the value its nearest
    membrane reached (a multi-task model, in its encoding) or what its own model predicts
    there (stacked); None when no source is used."""
    if isinstance(fitted.encoder, StackedEncoder):
        carried = stacked_carries(fitted)
        features = [a for a in fitted.encoder.auxiliary if isinstance(a, SourceFeature)]
        used = [f for f in features if carried.get(f.objective, 0.0) >= USED]
        if not used:
            return None
        best = max(used, key=lambda f: carried[f.objective])
        if best.model.objective != fitted.objective:
            return None
        value = float(best.model.predict(row)["mean"].iloc[0])
        return best.source, "its own model predicts", value
    if not isinstance(fitted.encoder, TaskEncoder):
        return None
    far = carries(fitted.model)
    if not len(far) or far.max() < USED:
        return None
    source = fitted.encoder.sources[int(np.argmax(far))]
    have = source.rows[source.rows[fitted.objective].notna()]
    if have.empty:
        return None
    X = fitted.encoder.base.encode(have)
    x = fitted.encoder.base.encode(row)
    nearest = int(torch.cdist(x, X).argmin())
    return source, "its nearest membrane reached", float(have[fitted.objective].iloc[nearest])


@dataclass(frozen=True)
class SourceSkill:
    """How well one source alone predicts the campaign's measured membranes for one objective.

    Attributes:
        source: the source.
        prop: the objective.
        predictions: one row per measured membrane: ``membrane``, ``observed`` and ``mean``
            (the source-only model's prediction), both on the model scale.
        rank_correlation: Spearman's rho of predicted and measured (-1..1): does the source
            order the campaign's membranes right, whatever the offset?
        r2: 1 - residual / total variance, on the model scale (an offset counts against it).
        carries: how far the campaign's multi-task model learned the source carries (0-1).
    """

    source: SourceRows
    prop: str
    predictions: pd.DataFrame
    rank_correlation: float
    r2: float
    carries: float


def source_skill(
    campaign: Campaign, table: pd.DataFrame, prop: str, carried: dict[str, float]
) -> list[SourceSkill]:
    """For each source with values of ``prop``: its own GP (the one stacked transfer reads,
    :func:`source_features`, from the cache once fitted) predicting the campaign's measured
    membranes. ``carried``: how far the campaign's model carries each source, by name."""
    from formulate.model.specs import load_spec
    from formulate.model.surrogates import transform_of

    target = training_data(campaign, table, prop, transform_of(campaign, prop), need=1)
    keep = ~target.censored
    spec = load_spec(campaign.strategy.surrogate).model_copy(update={"auxiliary": ()})
    out = []
    for feature in source_features(campaign, spec):
        if feature.model.objective != prop:
            continue
        source = feature.source
        mean, _ = feature.model.predict_scale(target.rows[keep])
        observed = target.y[keep]
        rho = float(pd.Series(mean).corr(pd.Series(observed), method="spearman"))
        total = float(np.sum((observed - observed.mean()) ** 2))
        r2 = 1 - float(np.sum((observed - mean) ** 2)) / total if total > 0 else float("nan")
        predictions = pd.DataFrame(
            {"membrane": target.rows.loc[keep, "membrane"], "observed": observed, "mean": mean}
        )
        far = carried.get(source.prior.label, float("nan"))
        out.append(SourceSkill(source, prop, predictions, rho, r2, far))
    return out


@dataclass
class SourceFeature:
    """A source's own model of one objective as a column of the campaign's encoding, read by
    the prior mean (``transfer = "stacked"``): its posterior mean, standardized by the
    source's values (``(mean - center) / scale``, about -0.5..0.5 over the source)."""

    objective: str
    """The column's name after ``predicted``: ``<property> from <source>``."""
    model: Any
    center: float
    scale: float
    source: SourceRows

    def predict_scale(self, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self.model.predict_scale(table)
        return (mean - self.center) / self.scale, std / self.scale


def source_features(
    campaign: Campaign, spec: Any, device: str = "auto", cache_dir: Any = None
) -> list[SourceFeature]:
    """One column per source and objective it has values of: a GP of the campaign's family
    ``spec`` fitted on the source's rows alone (once per source version: cached by its data)."""
    from formulate.model.surrogates import fit_objective

    alone = campaign.model_copy(update={"priors": ()})
    out = []
    for source in source_rows(campaign):
        for o in campaign.objectives:
            if o.property not in source.rows or source.rows[o.property].notna().sum() < 3:
                continue
            model = fit_objective(alone, source.rows, o.property, spec, device, cache_dir)
            y = model.y_fit
            scale = 4.0 * float(np.std(y)) or 1.0
            name = f"{o.property} from {source.prior.label}"
            out.append(SourceFeature(name, model, float(np.mean(y)), scale, source))
    return out


class SourceMean(Mean):
    """The prior mean of a campaign's model with stacked sources: a constant plus a learned
    multiple of each source column (a source's standardized prediction), so the campaign's
    model follows its sources as far as its own data say, also where it has no membrane (a
    kernel alone would revert to the constant there). Each weight has a Normal prior of
    sd 2 (outputs standardized, columns about -0.5..0.5) centred on 4 x the source's ``trust``
    (what a source of that correlation and the campaign's spread would get), else on 0, and
    starts there."""

    def __init__(self, columns: list[int], trust: list[float]) -> None:
        super().__init__()
        self.columns = columns
        start = torch.tensor([4.0 * t for t in trust], dtype=torch.float64)
        self.register_parameter("constant", torch.nn.Parameter(torch.zeros(1)))
        self.register_parameter("weights", torch.nn.Parameter(start.clone()))
        loc = float(start[0]) if len(start) == 1 else start  # one weight: a scalar prior,
        self.register_prior("weights_prior", NormalPrior(loc, 2.0), "weights")  # as BoTorch samples

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.constant + x[..., self.columns] @ self.weights

    @classmethod
    def of(cls, encoder: Any) -> SourceMean | None:
        """The mean for an encoding with stacked source columns, else None."""
        columns = source_columns(encoder)
        if not columns:
            return None
        features = [a for a in encoder.auxiliary if isinstance(a, SourceFeature)]
        return cls(columns, [f.source.prior.trust or 0.0 for f in features])


def source_columns(encoder: Any) -> list[int]:
    """The columns of a stacked encoding that are source predictions (:class:`SourceFeature`)."""
    if not isinstance(encoder, StackedEncoder):
        return []
    first = encoder.base.dim
    return [first + i for i, a in enumerate(encoder.auxiliary) if isinstance(a, SourceFeature)]
