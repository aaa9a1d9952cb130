"""formulate: plan composite solid-electrolyte membranes with Bayesian optimization."""

from formulate.data import Store
from formulate.errors import FormulateError, Problem
from formulate.spec.campaign import Campaign, load_campaign

__all__ = ["Campaign", "FormulateError", "Problem", "Store", "load_campaign"]
__version__ = "0.1.0"
