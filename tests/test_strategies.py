"""One table of strategies: every name has exactly one builder, and every reader uses it."""

from __future__ import annotations

import pytest

from formulate.errors import FormulateError
from formulate.plan import acquisition, baselines
from formulate.plan.planner import Request
from formulate.spec.campaign import Campaign, campaign_from_dict
from formulate.spec.strategies import (
    STRATEGIES,
    WARM_UP_STRATEGY,
    baseline_strategies,
    model_strategies,
    strategies_for,
)


def test_every_strategy_has_exactly_one_builder() -> None:
    built = [*acquisition.BUILDERS, "active", *baselines.PICKERS]
    assert sorted(built) == sorted(STRATEGIES)
    assert set(model_strategies()) == {*acquisition.BUILDERS, "active"}
    assert set(baseline_strategies()) == set(baselines.PICKERS)
    assert not STRATEGIES[WARM_UP_STRATEGY].model


def test_lists_by_number_of_objectives() -> None:
    several, one = strategies_for(3), strategies_for(1)
    assert "qlognei" not in several and "qlognehvi" in several and "optuna-nsga2" in several
    assert "qlognei" in one and "qlognehvi" not in one and "parego" not in one
    assert {"random", "sobol", "ofat", "active"} <= set(one) & set(several)


def test_campaign_file_and_request_refuse_an_unknown_strategy(campaign: Campaign) -> None:
    raw = {
        "name": "x",
        "variables": {"a": {"kind": "continuous", "low": 0, "high": 1}},
        "objectives": [{"property": "ionic_conductivity"}],
        "strategy": {"acquisition": "bayes-magic"},
    }
    with pytest.raises(FormulateError, match="unknown strategy 'bayes-magic'") as err:
        campaign_from_dict(raw, campaign.folder)
    assert err.value.problems[0].where.endswith("strategy.acquisition")
    with pytest.raises(FormulateError, match="cannot propose") as err:
        Request(strategy="bayes-magic", batch_size=0)
    assert [p.where for p in err.value.problems] == ["strategy", "batch size"]


def test_request_takes_the_campaign_defaults_and_parses_weights(campaign: Campaign) -> None:
    request = Request.for_campaign(campaign, ["transference_number=2"], strategy="parego")
    assert request.batch_size == campaign.strategy.batch_size
    assert request.strategy == "parego" and request.weights == {"transference_number": 2.0}
    with pytest.raises(FormulateError, match="bad weight 'transference_number:2'"):
        Request.for_campaign(campaign, ["transference_number:2"])
    with pytest.raises(FormulateError, match="unknown objective") as err:
        Request.for_campaign(campaign, ["yield=1"])
    assert "use one of ['ionic_conductivity'" in err.value.problems[0].fix
