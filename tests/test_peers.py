"""BayBE and Ax as strategies: proposals the campaign can make, on a pool rows of it, every
compromise said in the reason, a clear error when the extra is not installed."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from formulate.errors import FormulateError
from formulate.plan.baselines import pick
from formulate.plan.pool import candidate_pool
from formulate.spec.campaign import Campaign
from formulate.spec.strategies import STRATEGIES, strategies_for
from formulate.testing import Realistic, realistic_campaign


def test_peers_run_only_when_named() -> None:
    assert {"baybe", "ax"} <= set(STRATEGIES)
    assert not {"baybe", "ax"} & set(strategies_for(3))  # minutes per batch: never a default


@pytest.mark.parametrize("peer", ["baybe", "ax"])
def test_a_missing_peer_is_a_clear_error(
    campaign: Campaign, peer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, peer, None)  # as if not installed
    with pytest.raises(FormulateError, match=f"needs the {peer} package") as err:
        pick(peer, campaign, pd.DataFrame(), 2, seed=0)
    assert "formulate[peers]" in err.value.problems[0].fix


@pytest.mark.slow  # BayBE takes about a minute per batch here
@pytest.mark.parametrize("peer", ["baybe", "ax"])
def test_peer_proposals_are_allowed_formulations_and_pool_rows(
    campaign: Campaign, peer: str
) -> None:
    pytest.importorskip(peer)
    table = realistic_campaign(campaign, Realistic(membranes=14, seed=6))
    out = pick(peer, campaign, table, 3, seed=1)
    assert len(out) == 3 and out["reason"].str.startswith(("BayBE", "Ax")).all()
    for rec in out[campaign.space.names()].to_dict("records"):
        assert campaign.space.is_feasible(rec), rec  # forbidden combinations moved, said so
    pool = candidate_pool(campaign.space, 128, seed=2)
    rows = pick(peer, campaign, table, 3, seed=1, candidates=pool)
    assert rows.index.is_unique and set(rows.index) <= set(pool.index)
    assert rows["reason"].str.contains("pool row").all()
    if peer == "baybe":  # BayBE searches the pool's own rows: nothing is moved
        assert (rows["reason"] == "BayBE suggestion (a pool row)").all()
