"""Backtest metrics: curves, experiments to a target, Top%, EF and AF, on plain arrays.

Definitions (Liang et al., npj Comput. Mater. 7, 188 (2021), for Top%, EF and AF):

* **best so far** per objective, in the property's unit, of the *true* values (the pool's
  values; the noise-free emulator); **simple regret** on the model scale against the best of
  the reference set (the pool; 4096 noise-free emulator points), so it can go below 0 on the
  emulator when a strategy beats every reference point.
* **hypervolume** (several objectives) of the true values on the model scale, sign-adjusted,
  above the campaign's reference point (from the reference set where the campaign has none),
  as a fraction of the reference set's hypervolume.
* **top rows** (a pool): the ceil(p * N) best rows, ranked by value (one objective) or by
  Pareto layer and then mean z-score (several). **Top%(n)**: the share of them found in the
  first n experiments. The random baseline is the exact expectation of uniform sampling
  without replacement: Top%(n) = n / N, and it needs on average j (N + 1) / (M + 1)
  experiments to find j of M top rows.
* **EF(n)** = Top%(n) / Top%_random(n) (means over seeds on both sides); **AF** = experiments
  random needs to reach a target / experiments the strategy needs (medians over seeds on both
  sides). One estimator on both sides, so the ``random`` strategy's own EF and AF are 1: the
  random side is the backtest's own ``random`` runs when it has them, else the exact law of
  uniform sampling without replacement (mean n / N for Top%, the median of the negative
  hypergeometric for AF). Pools use the target "one top-5% row"; the emulator, which has no
  finite set of rows, uses "80% of the reference hypervolume" (one objective: the reference
  set's top 5%) and needs the ``random`` strategy's runs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from botorch.utils.multi_objective.hypervolume import Hypervolume
from botorch.utils.multi_objective.pareto import is_non_dominated

from formulate.spec.campaign import Campaign

TOP = (0.01, 0.05)
HV_TARGETS = (0.8, 0.95)
"""Hypervolume fractions whose experiments-to-reach are reported; AF uses the first."""


# --- definitions on plain arrays -------------------------------------------------------------


def pareto_layers(Y: np.ndarray) -> np.ndarray:
    """Non-dominated sorting rank of each row of ``Y`` (n x m, larger is better), 0 = front."""
    rank = np.full(len(Y), -1)
    left = np.arange(len(Y))
    layer = 0
    while len(left):
        front = is_non_dominated(torch.as_tensor(Y[left]), deduplicate=False).numpy()
        rank[left[front]] = layer
        left = left[~front]
        layer += 1
    return rank


def top_rows(Y: np.ndarray, fraction: float) -> np.ndarray:
    """Indices of the ceil(fraction * n) best rows of ``Y`` (n x m, larger is better): by
    value for one column, by Pareto layer then mean z-score for several."""
    Y = np.asarray(Y, dtype=float).reshape(len(Y), -1)
    m = max(1, math.ceil(fraction * len(Y)))
    z = ((Y - Y.mean(0)) / np.where(Y.std(0) > 0, Y.std(0), 1.0)).mean(1)
    layer = pareto_layers(Y) if Y.shape[1] > 1 else np.zeros(len(Y))
    order = np.lexsort((-z, layer))
    return np.sort(order[:m])


def top_percent(found: list[int] | np.ndarray, top: set[int] | np.ndarray) -> np.ndarray:
    """Top%(n) for n = 1..len(found): share of the ``top`` rows among the first n found."""
    top = set(int(t) for t in top)
    hits = np.cumsum([int(r) in top for r in found])
    return hits / len(top)


def random_top_percent(n: np.ndarray | int, rows: int) -> np.ndarray:
    """Expected Top%(n) of uniform random sampling without replacement from ``rows``."""
    return np.minimum(np.asarray(n, dtype=float) / rows, 1.0)


def enhancement_factor(curve: np.ndarray, rows: int) -> np.ndarray:
    """EF(n) = Top%(n) / Top%_random(n), n = 1..len(curve)."""
    n = np.arange(1, len(curve) + 1)
    return np.asarray(curve) / random_top_percent(n, rows)


def experiments_to(curve: np.ndarray, target: float) -> float:
    """First n (1-based) where ``curve`` reaches ``target``; inf if never."""
    hit = np.nonzero(np.asarray(curve) >= target - 1e-12)[0]
    return float(hit[0] + 1) if len(hit) else math.inf


def median_runs(values: list[float] | np.ndarray) -> float:
    """Median over runs that keeps 'never' (inf) as a value: the lower middle value, no
    averaging across the middle."""
    return float(np.quantile(np.array(values, dtype=float), 0.5, method="inverted_cdf"))


def random_experiments_to(share: float, rows: int, top: int) -> float:
    """Expected experiments uniform random sampling needs to find ceil(share * top) of the
    ``top`` rows among ``rows`` (the negative hypergeometric mean j (N + 1) / (M + 1))."""
    j = max(1, math.ceil(share * top - 1e-12))
    return j * (rows + 1) / (top + 1)


def random_median_experiments_to(share: float, rows: int, top: int) -> float:
    """The median number of experiments uniform random sampling without replacement needs to
    find ceil(share * top) of the ``top`` rows among ``rows``: the smallest n with
    P(X_n >= j) >= 1/2, X_n hypergeometric (what the median over seeds of ``random`` runs
    estimates)."""
    j = max(1, math.ceil(share * top - 1e-12))
    total = math.comb(rows, 0)
    for n in range(j, rows + 1):
        total = math.comb(rows, n)
        below = sum(math.comb(top, k) * math.comb(rows - top, n - k) for k in range(j))
        if 2 * (total - below) >= total:
            return float(n)
    return math.inf


def acceleration_factor(n_random: float, n_strategy: float) -> float:
    """AF = experiments random needs / experiments the strategy needs (inf-safe)."""
    if math.isinf(n_strategy):
        return 0.0
    return n_random / n_strategy


# --- scores of a campaign -------------------------------------------------------------------


def score_matrix(campaign: Campaign, frame: pd.DataFrame, prefix: str = "") -> np.ndarray:
    """Sign-adjusted model-scale objectives (n x m, larger is better; NaN where missing)."""
    cols = []
    for o in campaign.objectives:
        x = pd.to_numeric(frame[prefix + o.property], errors="coerce").to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            cols.append(o.score(x))
    return np.stack(cols, axis=1)


def hypervolume(Y: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of the finite rows of ``Y`` (n x m, larger is better) above ``ref`` (m)."""
    Y = Y[np.isfinite(Y).all(1)]
    Y = Y[(ref < Y).all(1)]
    if not len(Y):
        return 0.0
    Yt = torch.as_tensor(Y)
    return float(Hypervolume(torch.as_tensor(ref)).compute(Yt[is_non_dominated(Yt)]))


def hv_curve(Y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Hypervolume after each of the n experiments (rows of ``Y`` in order)."""
    return np.array([hypervolume(Y[: i + 1], ref) for i in range(len(Y))])
