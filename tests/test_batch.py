"""The lazy greedy batch is as good as a full greedy one, with fewer evaluations."""

from __future__ import annotations

import math

import numpy as np
import torch
from botorch.optim import optimize_acqf_discrete

from formulate.plan import acquisition
from formulate.plan.batch import LAST_AMONG_WORTH, lazy_greedy
from formulate.plan.planner import Request, acquisition_inputs, fit_models
from formulate.plan.pool import candidate_pool
from formulate.spec.campaign import Campaign
from formulate.testing import Realistic, realistic_campaign


class Counting(torch.nn.Module):
    """Counts the candidates an acquisition scores (to show the lazy greedy scores fewer)."""

    def __init__(self, acqf: torch.nn.Module) -> None:
        super().__init__()
        self.acqf, self.scored = acqf, 0

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        self.scored += X.shape[0]
        return self.acqf(X)


def _scored(campaign: Campaign) -> tuple[acquisition.AcquisitionInputs, torch.Tensor]:
    """qLogNEHVI on a realistic campaign of 24 membranes and 128 candidates (``128 x d``)."""
    table = realistic_campaign(campaign, Realistic(membranes=24, seed=7))
    fitted = fit_models(campaign, table, "gp-onehot", "cpu", disk_cache=False)
    encoder = next(iter(fitted.objectives.values())).encoder
    inputs = acquisition_inputs(campaign, table, fitted, Request(strategy="qlognehvi"))
    return inputs, encoder.encode(candidate_pool(campaign.space, 128, seed=1))


def test_lazy_greedy_equals_the_full_greedy(campaign: Campaign) -> None:
    inputs, X = _scored(campaign)
    acqf = acquisition.build(inputs)
    with torch.no_grad():
        single = acqf(X.unsqueeze(-2))
    counting = Counting(acqf)
    lazy, gains = lazy_greedy(counting, X, single, 4)  # type: ignore[arg-type]
    full, _ = optimize_acqf_discrete(acquisition.build(inputs), q=4, choices=X, unique=True)
    full_index = [int(torch.where((row == X).all(-1))[0][0]) for row in full]
    assert lazy[0] == full_index[0]
    with torch.no_grad():  # the second pick: the same, or one worth as much (a near tie)
        pairs = [acqf(X[idx[:2]].unsqueeze(0)).item() for idx in (lazy, full_index)]
    assert pairs[0] >= pairs[1] - 0.02, (lazy, full_index, pairs)
    with torch.no_grad():  # the batches' joint values (log scale) match to within MC smoothing
        batch_value = acqf(X[lazy].unsqueeze(0)).item()
        full_value = acqf(X[full_index].unsqueeze(0)).item()
    assert batch_value >= full_value - 0.02, (lazy, full_index, batch_value, full_value)
    assert len(set(lazy)) == 4 and gains[0] == float(single.max())
    assert counting.scored < 3 * len(X)  # a full greedy scores every candidate at each step


def test_the_last_pick_comes_from_the_rows_asked_for_unless_it_adds_too_little(
    campaign: Campaign,
) -> None:
    inputs, X = _scored(campaign)
    acqf = acquisition.build(inputs)
    with torch.no_grad():
        single = acqf(X.unsqueeze(-2))
    plain, gains = lazy_greedy(acqf, X, single, 4)
    among = torch.ones(len(X), dtype=torch.bool)
    among[plain] = False  # any row but the plain picks: the runner-up for the last place
    picked, new_gains = lazy_greedy(acqf, X, single, 4, among)
    assert picked[:3] == plain[:3] and bool(among[picked[3]])
    assert new_gains[3] >= gains[3] + math.log(LAST_AMONG_WORTH)
    among[plain[0]] = True  # an earlier pick is one of them: the batch is the plain one
    assert lazy_greedy(acqf, X, single, 4, among)[0] == plain
    assert lazy_greedy(acqf, X, single, 1, among)[0] == plain[:1]  # one pick: the best
    least = torch.zeros(len(X), dtype=torch.bool)
    least[single.argsort()[:10]] = True  # the ten worth least alone add under a tenth
    counting = Counting(acqf)
    assert lazy_greedy(counting, X, single, 4, least)[0] == plain  # type: ignore[arg-type]
    alone = Counting(acqf)
    lazy_greedy(alone, X, single, 4)  # type: ignore[arg-type]
    assert counting.scored <= alone.scored + 1  # none of the ten is scored: none can reach it


class ClusterValue(torch.nn.Module):
    """A batch acquisition on 1-d points: the log of the sum over clusters (a point's integer
    part) of the best value (its fraction) in each, minus 0.5 per point beyond the first, as
    a Monte-Carlo acquisition whose samples are drawn anew for every batch size may shift."""

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        x = X[..., 0]
        cluster, value = x.floor(), x - x.floor()
        same = cluster.unsqueeze(-1) == cluster.unsqueeze(-2)
        best = torch.where(same, value.unsqueeze(-2), 0.0).amax(-1)  # its cluster's best
        earlier = torch.ones_like(same).tril(-1) & same  # a point of its cluster came before
        counted = torch.where(earlier.any(-1), 0.0, best)  # each cluster once
        return torch.log(counted.sum(-1)) - 0.5 * (x.shape[-1] - 1)


def test_a_pick_is_chosen_by_the_batch_it_makes_even_below_the_sampling_noise() -> None:
    """Two redundant candidates (one cluster) and a weaker one that adds to the batch: the
    second pick is the weaker one, although the acquisition of a batch of two reads lower than
    that of one (as sampling noise between batch sizes can make it); before, every gain read
    as nothing and the second pick was the best single, a near copy of the first."""
    X = torch.tensor([[1.9], [1.85], [2.5], [3.1]], dtype=torch.float64)
    acqf = ClusterValue()
    with torch.no_grad():
        single = acqf(X.unsqueeze(-2))
    chosen, gains = lazy_greedy(acqf, X, single, 3)  # type: ignore[arg-type]
    assert chosen == [0, 2, 3]
    assert np.all(np.isfinite(gains))
