"""formulate: plan composite solid-electrolyte membranes with Bayesian optimization."""

from formulate.campaign import Campaign, load_campaign
from formulate.errors import FormulateError, Problem
from formulate.store import Store

__all__ = ["Campaign", "FormulateError", "Problem", "Store", "load_campaign"]
__version__ = "0.1.0"
