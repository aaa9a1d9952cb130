"""BayBE and Ax as strategies: proposals the campaign can make, on a pool rows of it, every
compromise said in the reason, a clear error when the extra is not installed."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from formulate.errors import FormulateError
from formulate.plan.baselines import pick
from formulate.plan.peers import Mixture, _ax_constraints, _ax_point, ax_suggestions, mixture
from formulate.plan.pool import candidate_pool
from formulate.spec.campaign import Campaign, campaign_from_dict
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


def _corner(folder: Path, constraints: list[dict[str, object]]) -> Campaign:
    """Three fractions a, b, c in [0, 1] (c at most 0.8) and a temperature, one objective."""
    variables: dict[str, object] = {
        v: {"kind": "continuous", "low": 0.0, "high": 0.8 if v == "c" else 1.0} for v in "abc"
    }
    variables["temp"] = {"kind": "continuous", "low": 20.0, "high": 60.0}
    raw = {
        "name": "corner",
        "variables": variables,
        "linear_constraints": constraints,
        "objectives": [{"property": "ionic_conductivity", "transform": "log10"}],
    }
    return campaign_from_dict(raw, folder)


def _simplex_pool(n: int, total: float, seed: int) -> pd.DataFrame:
    """Rows whose a, b, c sum to ``total`` (printed to 3 decimals, as tables round)."""
    rng = np.random.default_rng(seed)
    abc = rng.dirichlet([2.0, 2.0, 2.0], n) * total
    abc = abc[abc[:, 2] <= 0.8 * total]
    pool = pd.DataFrame(abc.round(3), columns=list("abc"))
    pool["temp"] = rng.uniform(20, 60, len(pool)).round(1)
    return pool


def test_a_pools_composition_is_read_as_a_mixture(tmp_path: Path) -> None:
    space = _corner(tmp_path, []).space
    pool = _simplex_pool(60, 1.0, seed=0)
    mix = mixture(space, pool)
    assert mix is not None and mix.parts == ("a", "b", "c")  # not temp: it varies alone
    assert mix.total == pytest.approx(1.0, abs=0.01)
    assert mixture(space, None) is None  # off a pool: only the campaign's constraints
    loose = pool.assign(c=pool["c"] * 1.5)  # sums from 1 to 1.4: not one total
    assert mixture(space, loose) is None


def test_ax_is_told_a_mixture_and_the_campaigns_constraints(tmp_path: Path) -> None:
    """The last part derived (total - the others), the others' sum bounded by the derived
    part's range, and a campaign constraint on the derived part rewritten over the others."""
    rule = {"coefficients": {"a": 1.0, "c": 2.0}, "op": "<=", "rhs": 1.5}
    space = _corner(tmp_path, [rule]).space
    mix = Mixture(("a", "b", "c"), 1.0)
    rewritten, upper, lower = _ax_constraints(space, mix)
    assert rewritten == "-1*a + -2*b <= -0.5"  # a + 2(1 - a - b) <= 1.5
    assert upper == "1*a + 1*b <= 1" and lower == "1*a + 1*b >= 0.2"  # 0 <= c <= 0.8
    point = _ax_point(space, {"a": 0.2, "b": 0.3, "c": 0.49, "temp": 30.0}, mix)
    assert point["c"] == pytest.approx(0.5)  # the row's rounding absorbed by the derived part
    assert _ax_constraints(space, None) == ["1*a + 2*c <= 1.5"]
    rounded = Mixture(("a", "b", "c"), 1.0, spread=0.01)  # rows sum to 0.99-1.00: all allowed
    assert _ax_constraints(space, rounded)[1:] == ["1*a + 1*b <= 1.01", "1*a + 1*b >= 0.19"]


@pytest.mark.slow  # BayBE takes about a minute per batch here
@pytest.mark.parametrize("peer", ["baybe", "ax"])
def test_peers_propose_inside_the_campaigns_linear_constraints(tmp_path: Path, peer: str) -> None:
    """Told the constraint, neither peer needs its proposals moved: each satisfies it as asked
    (a sixth of the box does; untold, most proposals would be moved)."""
    pytest.importorskip(peer)
    corner = {"coefficients": {"a": 1.0, "b": 1.0, "c": 1.0}, "op": "<=", "rhs": 1.0}
    campaign = _corner(tmp_path, [corner])
    table = _simplex_pool(8, 0.9, seed=1).assign(ionic_conductivity=np.logspace(-5, -3, 8))
    table = table.assign(membrane=[f"M{i}" for i in range(len(table))], status="measured")
    out = pick(peer, campaign, table, 4, seed=0)
    assert (out["reason"] == f"{'BayBE' if peer == 'baybe' else 'Ax'} suggestion").all()
    assert (out[list("abc")].sum(axis=1) <= 1.0 + 1e-6).all()


@pytest.mark.slow
def test_ax_on_a_composition_pool_asks_for_rows_on_its_simplex(tmp_path: Path) -> None:
    """Told the mixture, Ax asks for compositions that sum to the pool's total (untold, it
    asks anywhere in the box, and every suggestion is moved far to a pool row)."""
    pytest.importorskip("ax")
    campaign = _corner(tmp_path, [])
    pool = _simplex_pool(200, 1.0, seed=2)
    seen = pool.iloc[:6].assign(ionic_conductivity=np.logspace(-5, -3, 6))
    seen = seen.assign(membrane=[f"M{i}" for i in range(6)], status="measured")
    asked = ax_suggestions(campaign, seen, 3, seed=0, candidates=pool.iloc[6:])
    assert len(asked) == 3
    assert asked[list("abc")].sum(axis=1).to_numpy() == pytest.approx(1.0, abs=1e-6)
    slack = 0.01  # the bounds widen by the rows' rounding (at most 0.003 at 3 decimals)
    assert (asked["c"] >= -slack).all() and (asked["c"] <= 0.8 + slack).all()


def test_baybes_pool_space_is_what_from_dataframe_builds(campaign: Campaign) -> None:
    """BayBE's search space over a pool is built without BayBE's quadratic value check, and is
    the space its own ``SearchSpace.from_dataframe`` builds from the same rows and parameters:
    the same parameters, experimental and computational representations."""
    pytest.importorskip("baybe")
    from baybe.searchspace import SearchSpace

    from formulate.plan.peers import _baybe_space, _finished, _mid_range

    table = realistic_campaign(campaign, Realistic(membranes=14, seed=6))
    done, _ = _finished(campaign, table)
    pool = candidate_pool(campaign.space, 64, seed=2)
    ours = _baybe_space(campaign, pool, done)
    names = campaign.space.names()
    rows = pd.concat([_mid_range(campaign.space, pool)[names], done[names]]).drop_duplicates()
    order = [*campaign.space.categorical_names(), *campaign.space.numeric_names()]  # as given
    params = sorted(ours.discrete.parameters, key=lambda p: order.index(p.name))
    theirs = SearchSpace.from_dataframe(rows.reset_index(drop=True), parameters=params)
    assert ours == theirs
    assert list(ours.discrete.exp_rep.columns) == order
    assert len(ours.discrete.exp_rep) == len(rows) > len(pool)
