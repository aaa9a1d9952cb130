"""The definition layer: properties, the design space, objectives, strategies and the campaign.
Plain data and validation; imports no torch."""

from formulate.spec.campaign import (
    CAMPAIGN_FILE,
    DEFAULT_SURROGATE,
    PROVENANCES,
    Campaign,
    campaign_dir,
    init_campaign,
    load_campaign,
)
from formulate.spec.objectives import Objective, OutcomeConstraint
from formulate.spec.properties import BUILTIN_PROPERTIES, Property
from formulate.spec.space import DesignSpace
from formulate.spec.strategies import STRATEGIES
from formulate.spec.variables import Categorical, Continuous, Discrete

__all__ = [
    "BUILTIN_PROPERTIES",
    "CAMPAIGN_FILE",
    "DEFAULT_SURROGATE",
    "PROVENANCES",
    "STRATEGIES",
    "Campaign",
    "Categorical",
    "Continuous",
    "DesignSpace",
    "Discrete",
    "Objective",
    "OutcomeConstraint",
    "Property",
    "campaign_dir",
    "init_campaign",
    "load_campaign",
]
