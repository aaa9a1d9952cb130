"""The models behind a proposal: one GP per objective, outcome constraints with enough data,
and the film-formation classifier when proposals must weigh the chance of forming."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from botorch.models import ModelListGP

from formulate.data.priors import SourceRows
from formulate.errors import NotEnoughData
from formulate.model.cache import model_cache
from formulate.model.censoring import loo_predictive
from formulate.model.encoding import by_tasks
from formulate.model.feasibility import fit_film_model, needs_film_model
from formulate.model.specs import SurrogateSpec, load_spec
from formulate.model.surrogates import (
    ObjectiveModel,
    chosen_spec,
    distinct_families,
    fit_objective,
)
from formulate.model.transfer import source_features, transfer_notes
from formulate.plan import acquisition
from formulate.spec.campaign import Campaign
from formulate.spec.objectives import to_model_scale


@dataclass
class Fitted:
    """The models behind a proposal: objectives first, then constraint outputs."""

    objectives: dict[str, ObjectiveModel]
    constraints: list[tuple[ObjectiveModel, acquisition.Constraint]]
    notes: list[str]
    start: SourceRows | None = None
    """The prior source whose own models stand in for the campaign's while it has too few
    membranes to fit them (:func:`source_start`); None: the campaign's own models."""

    def model_list(self) -> ModelListGP:
        parts = [m.model for m in self.objectives.values()] + [m.model for m, _ in self.constraints]
        return ModelListGP(*parts)


def fit_models(
    campaign: Campaign,
    table: pd.DataFrame,
    surrogate: str | None = None,
    device: str = "auto",
    disk_cache: bool = True,
) -> Fitted:
    """Objective models, plus models for outcome constraints with enough data and the film
    formation classifier (:func:`film_model`). ``disk_cache``: keep fitted models in the
    campaign folder (off for backtests, which fit thousands once each).

    A campaign with too few membranes of its own but a prior source with every objective
    starts from that source's own models (:attr:`Fitted.start`).

    Raises:
        NotEnoughData: too few membranes and no source to start from.
    """
    asked = load_spec(surrogate or campaign.strategy.surrogate)
    cache = model_cache(campaign) if disk_cache else None
    try:
        spec = chosen_spec(campaign, table, asked, device, cache)  # once for every model below
        objectives = {
            o.property: fit_objective(campaign, table, o.property, spec, device, cache)
            for o in campaign.objectives
        }
    except NotEnoughData:
        start = source_start(campaign, asked, device, cache)
        if start is None:
            raise
        return _from_source(campaign, *start)
    constraints: list[tuple[ObjectiveModel, acquisition.Constraint]] = []
    notes: list[str] = transfer_notes(campaign, objectives)
    if asked.choose_from:
        notes.append(_choice_note(campaign, asked, spec))
    n_obj = len(objectives)
    for con in campaign.outcome_constraints:
        have = int(table[con.property].notna().sum()) if con.property in table else 0
        if have < campaign.strategy.min_measured:
            notes.append(f"constraint on {con.property} not applied: {have} membrane(s) measured")
            continue
        model = fit_objective(campaign, table, con.property, spec, device, cache)
        threshold = float(to_model_scale([con.value], model.transform)[0])
        output = n_obj + len(constraints)
        constraints.append((model, acquisition.Constraint(output, threshold, con.sign)))
    film = film_model(campaign, table, spec, device, disk_cache)
    if film is not None:  # feasible where the log-odds of forming > 0
        feasible = acquisition.Constraint(n_obj + len(constraints), 0.0, 1.0, eta=1.0)
        constraints.append((film, feasible))
    return Fitted(objectives, constraints, notes)


def _from_source(
    campaign: Campaign, source: SourceRows, models: dict[str, ObjectiveModel]
) -> Fitted:
    """A source's own models standing in for the campaign's (no outcome constraint or film
    classifier: they need the campaign's own membranes)."""
    note = (
        f"from prior '{source.prior.label}' ({source.prior.differs}; {len(source.rows)} rows) "
        f"alone: this campaign has fewer than {campaign.strategy.min_measured} membranes with "
        "each objective, too few for its own models; outcome constraints and the chance to "
        "form a film apply once it has them"
    )
    return Fitted(models, [], [note], start=source)


def _choice_note(campaign: Campaign, asked: SurrogateSpec, spec: SurrogateSpec) -> str:
    """What a proposal says of the family a choosing spec took."""
    listed = ", ".join(asked.choose_from)
    if len(distinct_families(campaign, asked)) == 1:
        why = f"or have a categorical kernel, which transfer = '{campaign.strategy.transfer}' lacks"
        return (
            f"surrogate {spec.name}: the others of {listed} are the same model on this "
            f"campaign{', ' + why if by_tasks(campaign) else ''}"
        )
    return (
        f"surrogate {spec.name}: of {listed}, the one that predicts this campaign's values "
        "best, each left out in turn"
    )


def film_model(
    campaign: Campaign,
    table: pd.DataFrame,
    surrogate: SurrogateSpec | str | None = None,
    device: str = "auto",
    disk_cache: bool = True,
) -> ObjectiveModel | None:
    """The film-formation classifier when proposals weigh the chance of forming (see
    :func:`formulate.model.feasibility.needs_film_model`), else None."""
    if not needs_film_model(campaign, table):
        return None
    name = surrogate or campaign.strategy.surrogate
    cache = model_cache(campaign) if disk_cache else None
    return fit_film_model(campaign, table, name, device, cache)


START_SKILL = 0.5
"""The leave-one-out R² a source's own model needs on its own rows to choose a campaign's
first membranes (:func:`source_start`). On the transfer tasks the related sources score
0.68-0.89 and the shuffled ones -0.06-0.35 (``docs/benchmarks/README.md``)."""


def own_skill(model: ObjectiveModel) -> float:
    """The closed-form leave-one-out R² of a fitted objective model on its own training
    values (model scale): 1 where each held-out row is predicted exactly, 0 or less where
    the model predicts no better than their mean (a source whose outcomes bear no relation
    to its formulations)."""
    mean, _ = loo_predictive(model.model)
    y = model.y_fit
    total = float(np.sum((y - y.mean()) ** 2))
    return 1 - float(np.sum((y - mean) ** 2)) / total if total > 0 else 0.0


def source_start(
    campaign: Campaign, spec: SurrogateSpec, device: str = "auto", cache_dir: Path | None = None
) -> tuple[SourceRows, dict[str, ObjectiveModel]] | None:
    """For a campaign with too few membranes of its own to fit its models (fewer than its
    ``min_measured``): the source whose own GPs (:func:`source_features`, the ones stacked
    transfer reads, fitted on its rows alone) stand in for the campaign's, so that its first
    batches follow what the source learned instead of a space-filling design. The source must
    have values of every objective (3 or more each), each predicted by its own model
    (:func:`own_skill` at least :data:`START_SKILL`); of several, the one with the most rows.
    None: no such source.

    Returns:
        The source and its models by objective (their ``data`` are the source's rows).
    """
    if not campaign.priors:
        return None
    props = [o.property for o in campaign.objectives]
    found: dict[str, tuple[SourceRows, dict[str, ObjectiveModel]]] = {}
    for feature in source_features(campaign, spec, device, cache_dir):
        label = feature.source.prior.label
        found.setdefault(label, (feature.source, {}))[1][feature.model.objective] = feature.model
    whole = [
        (s, m)
        for s, m in found.values()
        if set(props) <= set(m) and all(own_skill(m[p]) >= START_SKILL for p in props)
    ]
    if not whole:
        return None
    source, models = max(whole, key=lambda sm: len(sm[0].rows))
    return source, {p: models[p] for p in props}
