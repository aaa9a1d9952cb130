"""The greedy batch: pick q candidates one at a time, each the best given the earlier picks.

BoTorch's ``optimize_acqf_discrete`` does this by scoring every choice again at each step.
The batch acquisitions used here (expected hypervolume improvement, expected improvement, each
weighted by the chance of feasibility) are monotone submodular set functions: what a candidate
adds to a batch can only shrink as the batch grows. So the lazy greedy of Minoux (1978) picks
the same batch while scoring few candidates per step: a candidate's last known gain bounds its
gain now; candidates are re-scored in the order of their bounds, and a step ends as soon as the
best fresh gain beats every remaining bound.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from botorch.acquisition import AcquisitionFunction
from linear_operator.utils.warnings import NumericalWarning

CHUNK = 16
"""Candidates re-scored at once in a greedy step."""
LAST_AMONG_WORTH = 0.1
"""A last pick asked for (``last_among``) must add at least this share of what the plain
greedy pick would add (a batch gives up at most 90% of one pick's gain for it)."""


def lazy_greedy(
    acqf: AcquisitionFunction,
    X: torch.Tensor,
    single: torch.Tensor,
    q: int,
    last_among: torch.Tensor | None = None,
) -> tuple[list[int], np.ndarray]:
    """A batch of ``q`` rows of ``X`` (``n x d``) by lazy greedy.

    Args:
        acqf: a log-scale batch acquisition (``b x k x d`` -> ``b``), e.g. qLogNEHVI.
        X: the candidates, ``n x d``.
        single: ``acqf`` of each candidate alone, ``n`` (log scale; -inf where it adds nothing).
        q: batch size (at most ``n``).
        last_among: rows (boolean, ``n``) the last pick of a batch of two or more comes from
            when none of the earlier picks does (the best of them given the earlier picks),
            as long as it adds at least :data:`LAST_AMONG_WORTH` of what the plain pick adds.

    Returns:
        The chosen rows, in order, and each pick's log gain given the earlier picks.
    """
    n = len(X)
    among = last_among.cpu() if last_among is not None else None
    bound = single.detach().double().cpu().clone()  # log of an upper bound on each gain
    free = torch.ones(n, dtype=torch.bool)
    first = int(bound.argmax())
    chosen, gains = [first], [float(bound[first])]
    free[first] = False
    while len(chosen) < min(q, n):
        base = _batch_value(acqf, X[chosen])
        best, best_gain = _step(acqf, X, chosen, base, bound, free)
        if among is not None and len(chosen) == min(q, n) - 1:
            wanted = free & among
            enough = best_gain + math.log(LAST_AMONG_WORTH)
            if wanted.any() and not among[chosen].any():
                alt = _step(acqf, X, chosen, base, bound, wanted, floor=enough)
                if alt[1] >= enough:
                    best, best_gain = alt
        chosen.append(best)
        gains.append(best_gain)
        free[best] = False
    return chosen, np.array(gains)


def _batch_value(acqf: AcquisitionFunction, batch: torch.Tensor) -> float:
    """The log acquisition of ``batch`` (``k x d``) scored at size ``k + 1``, with the samples
    a step's candidates are scored with: a Monte-Carlo acquisition draws its samples per batch
    size, and against the value of the smaller batch sampling noise alone can exceed what a
    candidate adds (every gain would read as nothing). Its last row counts twice: a copy adds
    nothing."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalWarning)  # the copy's covariance is singular
        return float(acqf(torch.cat([batch, batch[-1:]]).unsqueeze(0)).double().cpu()[0])


def _step(
    acqf: AcquisitionFunction,
    X: torch.Tensor,
    chosen: list[int],
    base: float,
    bound: torch.Tensor,
    free: torch.Tensor,
    floor: float = -np.inf,
) -> tuple[int, float]:
    """One greedy step: the free row whose addition makes the best batch, and its log gain
    against ``base`` (:func:`_batch_value` of the batch so far); -inf, and the row of the best
    bound, when no row's bound reaches ``floor``."""
    candidates = torch.nonzero(free).view(-1)
    order = candidates[torch.argsort(bound[candidates], descending=True)]
    batch = X[chosen]
    best, best_gain, best_total = int(order[0]), -np.inf, -np.inf
    for start in range(0, len(order), CHUNK):
        idx = order[start : start + CHUNK]
        if float(bound[idx[0]]) < floor or (best_gain > -np.inf and best_gain >= bound[idx[0]]):
            break  # no remaining candidate can beat the best fresh gain, or reach the floor
        joint = torch.cat([batch.expand(len(idx), -1, -1), X[idx].unsqueeze(-2)], dim=-2)
        with torch.no_grad():
            total = acqf(joint).double().cpu()
        gain = _log_gain(total, base)
        bound[idx] = torch.minimum(bound[idx], gain)
        k = int(total.argmax())
        if float(total[k]) > best_total:  # the best batch; no gain at all: still the best
            best, best_gain, best_total = int(idx[k]), float(gain[k]), float(total[k])
    return best, best_gain


def _log_gain(total: torch.Tensor, base: float) -> torch.Tensor:
    """log(exp(total) - exp(base)), -inf where the batch gains nothing."""
    diff = -torch.expm1(torch.as_tensor(base, dtype=total.dtype) - total)
    return torch.where(diff > 0, total + torch.log(diff.clamp_min(1e-300)), -torch.inf)
