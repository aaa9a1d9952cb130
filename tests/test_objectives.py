"""Objectives own their arithmetic: sign, transform to the model scale, the best value."""

from __future__ import annotations

import numpy as np
import pytest

from formulate.spec.campaign import Campaign
from formulate.spec.objectives import Objective, OutcomeConstraint, from_model_scale, to_model_scale


def test_transforms_round_trip() -> None:
    v = np.array([1e-5, 5.2e-4])
    assert to_model_scale(v, "log10") == pytest.approx([-5, np.log10(5.2e-4)])
    assert from_model_scale(to_model_scale(v, "log10"), "log10") == pytest.approx(v)
    t = np.array([0.27, 0.62])
    assert from_model_scale(to_model_scale(t, "logit"), "logit") == pytest.approx(t)
    # t+ of exactly 0 or 1 stays finite on the logit scale (clipped at 1e-4)
    assert np.all(np.isfinite(to_model_scale([0.0, 1.0], "logit")))


@pytest.mark.parametrize(
    ("direction", "values", "best", "score_order"),
    [
        pytest.param("maximize", [1e-4, 5.2e-4, 2e-5], 5.2e-4, [2, 0, 1], id="maximize"),
        pytest.param("minimize", [1e-4, 5.2e-4, 2e-5], 2e-5, [1, 0, 2], id="minimize"),
    ],
)
def test_sign_score_and_best_follow_the_direction(
    direction: str, values: list[float], best: float, score_order: list[int]
) -> None:
    o = Objective(property="ionic_conductivity", direction=direction, transform="log10")
    assert o.sign == (1.0 if direction == "maximize" else -1.0)
    assert o.best([*values, np.nan]) == best
    # larger score is better, whatever the direction: order from worst to best
    assert list(np.argsort(o.score(values))) == score_order
    assert o.score([1e-3])[0] == pytest.approx(o.sign * -3.0)
    assert np.isnan(o.best([]))


def test_paper_objectives_and_constraint(campaign: Campaign) -> None:
    by_name = {o.property: o for o in campaign.objectives}
    assert by_name["transference_number"].from_model_scale([0.0])[0] == pytest.approx(0.5)
    window = OutcomeConstraint(property="stability_window", op=">=", value=4.5, unit="V")
    assert window.sign == 1.0 and window.describe() == "stability_window >= 4.5 V"
    assert OutcomeConstraint(property="x", op="<=", value=1).sign == -1.0
