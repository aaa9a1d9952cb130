"""The model layer: physics features, encodings, one GP surrogate per property, the model
cache and diagnostics."""

from formulate.model.cache import model_cache
from formulate.model.device import resolve_device
from formulate.model.specs import SurrogateSpec, load_spec, spec_names
from formulate.model.surrogates import (
    MIN_POINTS,
    ObjectiveModel,
    fit_campaign,
    fit_objective,
    lengthscales,
)

__all__ = [
    "MIN_POINTS",
    "ObjectiveModel",
    "SurrogateSpec",
    "fit_campaign",
    "fit_objective",
    "lengthscales",
    "load_spec",
    "model_cache",
    "resolve_device",
    "spec_names",
]
