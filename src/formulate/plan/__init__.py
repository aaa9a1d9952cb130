"""The planning layer: acquisition (BoTorch), baselines and peers, the planner that proposes
the next batch, and campaign progress."""

from formulate.plan.fitting import fit_models
from formulate.plan.planner import Request, propose, store_proposals, warm_up
from formulate.plan.progress import history, hypervolume, pareto_front

__all__ = [
    "Request",
    "fit_models",
    "history",
    "hypervolume",
    "pareto_front",
    "propose",
    "store_proposals",
    "warm_up",
]
