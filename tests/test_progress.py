"""Campaign progress: scores, Pareto front, hypervolume and history, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from formulate.plan.progress import history, hypervolume, pareto_front, reference_point, scores
from formulate.spec.campaign import Campaign

ROWS = pd.DataFrame(
    {
        "membrane": ["a", "b", "c", "d", "p"],
        "batch": [0, 0, 1, 2, 3],
        "ionic_conductivity": [1e-4, 1e-3, 1e-5, 1e-4, np.nan],
        "transference_number": [0.5, 0.2, 0.9, 0.4, np.nan],
        "li_symmetric_life": [100.0, 1000.0, 10.0, 10.0, np.nan],
    }
)


def test_scores_are_sign_adjusted_model_scale(campaign: Campaign) -> None:
    s = scores(campaign, ROWS)
    assert list(s["membrane"]) == ["a", "b", "c", "d"]  # the pending row has no outcomes
    assert s["ionic_conductivity"].tolist() == pytest.approx([-4, -3, -5, -4])
    assert s["li_symmetric_life"].tolist() == pytest.approx([2, 3, 1, 1])


def test_pareto_front_leaves_out_the_dominated(campaign: Campaign) -> None:
    front = pareto_front(campaign, ROWS)
    assert sorted(front["membrane"]) == ["a", "b", "c"]  # d is dominated by a


def test_hypervolume_and_history_by_hand(campaign: Campaign) -> None:
    two = campaign.model_copy(update={"objectives": campaign.objectives[::2]})  # sigma, life
    ref = np.array([-6.0, 0.0])
    # front in (log10 sigma, log10 life): a (-4, 2), b (-3, 3), c (-5, 1) -> b dominates a and c
    assert hypervolume(two, ROWS, ref) == pytest.approx(3.0 * 3.0)
    observed = {"ionic_conductivity": np.array([-4.0, -3.0]), "li_symmetric_life": np.array([2.0])}
    free = two.model_copy(
        update={
            "objectives": tuple(o.model_copy(update={"reference": None}) for o in two.objectives)
        }
    )
    assert reference_point(free, observed).tolist() == pytest.approx([-4.1, 2.0 - 0.1 * 1e-9])
    hist = history(campaign, ROWS)
    assert hist["batch"].tolist() == [0, 1, 2, 3]
    assert hist["membranes"].tolist() == [2, 3, 4, 4]
    assert np.all(np.diff(hist["hypervolume"]) >= 0)
    assert hist["best ionic_conductivity"].tolist() == pytest.approx([1e-3] * 4)
    assert hist["best transference_number"].tolist() == pytest.approx([0.5, 0.9, 0.9, 0.9])
