"""formulate: plan composite solid-electrolyte membranes with Bayesian optimization.

From a notebook: ``c = formulate.open("campaigns/mylab")``, then ``c.propose(4)``,
``c.accept(batch)``, ``c.log(results)``, ``c.pareto()`` (see :mod:`formulate.api`).
"""

from formulate.api import OpenCampaign, open
from formulate.data import Store
from formulate.errors import FormulateError, NotEnoughData, Problem
from formulate.spec.campaign import Campaign, load_campaign

__all__ = [
    "Campaign",
    "FormulateError",
    "NotEnoughData",
    "OpenCampaign",
    "Problem",
    "Store",
    "load_campaign",
    "open",
]
__version__ = "0.1.0"
