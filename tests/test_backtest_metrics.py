"""Backtest metric definitions, computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from formulate.backtest.metrics import (
    acceleration_factor,
    enhancement_factor,
    experiments_to,
    hv_curve,
    hypervolume,
    random_experiments_to,
    random_median_experiments_to,
    random_top_percent,
    top_percent,
    top_rows,
)


def test_top_percent_ef_af_on_ten_rows_by_hand() -> None:
    y = np.array([3.0, 9.0, 1.0, 4.0, 2.0, 7.0, 5.0, 10.0, 0.0, 6.0])
    top = top_rows(y[:, None], 0.2)  # ceil(0.2 * 10) = 2 best: rows 7 (10.0) and 1 (9.0)
    assert top.tolist() == [1, 7]
    found = [3, 7, 0, 1, 2, 4, 5, 6, 8, 9]  # a strategy's order of experiments
    curve = top_percent(found, top)
    assert curve.tolist() == [0.0, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert random_top_percent(np.array([2, 4]), 10).tolist() == [0.2, 0.4]
    ef = enhancement_factor(curve, 10)
    assert ef[1] == pytest.approx(0.5 / 0.2) and ef[3] == pytest.approx(1.0 / 0.4)
    assert ef[-1] == pytest.approx(1.0)  # everything revealed: no better than random
    # random needs j (N + 1) / (M + 1) experiments for j of M top rows: 11/3 and 22/3
    assert random_experiments_to(0.5, 10, 2) == pytest.approx(11 / 3)
    assert random_experiments_to(1.0, 10, 2) == pytest.approx(22 / 3)
    assert experiments_to(curve, 0.5) == 2 and experiments_to(curve, 1.0) == 4
    assert acceleration_factor(22 / 3, 4) == pytest.approx(22 / 12)
    assert acceleration_factor(22 / 3, math.inf) == 0.0


def test_top_rows_of_several_objectives_follow_pareto_layers() -> None:
    Y = np.array([[1.0, 1.0], [3.0, 0.0], [0.0, 3.0], [2.0, 2.0], [0.5, 0.5]])
    # front: rows 1, 2, 3; among them row 3 has the best mean z-score
    assert top_rows(Y, 0.2).tolist() == [3]
    assert set(top_rows(Y, 0.6).tolist()) == {1, 2, 3}
    assert 4 not in top_rows(Y, 0.8)


def test_hypervolume_of_a_staircase_by_hand() -> None:
    Y = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [1.0, 1.0], [np.nan, 5.0]])
    ref = np.array([0.0, 0.0])
    # the union of three rectangles: 1*3 + 1*2 + 1*1 = 6; the dominated row and NaN add nothing
    assert hypervolume(Y, ref) == pytest.approx(6.0)
    assert hv_curve(Y, ref).tolist() == pytest.approx([3.0, 5.0, 6.0, 6.0, 6.0])
    assert hypervolume(Y, np.array([5.0, 5.0])) == 0.0


@pytest.mark.parametrize(
    "rows, top, share", [(11, 1, 1.0), (45, 3, 1 / 3), (45, 3, 1.0), (200, 10, 0.5)]
)
def test_median_experiments_of_random_sampling_match_a_simulation(
    rows: int, top: int, share: float
) -> None:
    rng = np.random.default_rng(0)
    need = math.ceil(share * top - 1e-12)
    draws = [
        int(np.nonzero(np.cumsum(rng.permutation(rows) < top) >= need)[0][0]) + 1
        for _ in range(4000)
    ]
    simulated = float(np.quantile(draws, 0.5, method="inverted_cdf"))
    assert random_median_experiments_to(share, rows, top) == pytest.approx(simulated, abs=1)
    assert random_median_experiments_to(1.0, 11, 1) == 6  # uniform on 1..11
