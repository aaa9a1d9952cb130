"""The models behind a proposal: one GP per objective, outcome constraints with enough data,
and the film-formation classifier when proposals must weigh the chance of forming."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from botorch.models import ModelListGP

from formulate.model.cache import model_cache
from formulate.model.feasibility import fit_film_model, needs_film_model
from formulate.model.specs import SurrogateSpec, load_spec
from formulate.model.surrogates import (
    ObjectiveModel,
    chosen_spec,
    distinct_families,
    fit_objective,
)
from formulate.model.transfer import by_tasks, transfer_notes
from formulate.plan import acquisition
from formulate.spec.campaign import Campaign
from formulate.spec.objectives import to_model_scale


@dataclass
class Fitted:
    """The models behind a proposal: objectives first, then constraint outputs."""

    objectives: dict[str, ObjectiveModel]
    constraints: list[tuple[ObjectiveModel, acquisition.Constraint]]
    notes: list[str]

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
    campaign folder (off for backtests, which fit thousands once each)."""
    asked = load_spec(surrogate or campaign.strategy.surrogate)
    cache = model_cache(campaign) if disk_cache else None
    spec = chosen_spec(campaign, table, asked, device, cache)  # once for every model below
    objectives = {
        o.property: fit_objective(campaign, table, o.property, spec, device, cache)
        for o in campaign.objectives
    }
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


def _choice_note(campaign: Campaign, asked: SurrogateSpec, spec: SurrogateSpec) -> str:
    """What a proposal says of the family a choosing spec took."""
    listed = ", ".join(asked.choose_from)
    if len(distinct_families(campaign, asked)) == 1:
        why = "or have a categorical kernel, which transfer = 'multitask' does not take"
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
