"""Baselines and peers: one factor at a time, Sobol, random, Optuna through ask-and-tell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from formulate.plan.baselines import (
    optuna_distributions,
    pick,
    scalar_score,
    study_from_history,
)
from formulate.spec.campaign import Campaign
from formulate.testing import Realistic, realistic_campaign


def test_ofat_changes_one_factor_of_the_best_membrane(campaign) -> None:

    table = pd.DataFrame(
        [
            {
                "membrane": "a",
                "status": "measured",
                "filler": "cluster_chain",
                "filler_wt_pct": 5.0,
                "polymer": "PEO",
                "solvent": "THF_DCM",
                "thf_fraction": 0.5,
                "eo_li_ratio": 16.0,
                "ionic_conductivity": 4e-4,
                "transference_number": 0.5,
                "li_symmetric_life": 900.0,
            },
            {
                "membrane": "b",
                "status": "measured",
                "filler": "none",
                "filler_wt_pct": None,
                "polymer": "PEO",
                "solvent": "ACN",
                "thf_fraction": None,
                "eo_li_ratio": 12.0,
                "ionic_conductivity": 1e-5,
                "transference_number": 0.2,
                "li_symmetric_life": 100.0,
            },
        ]
    )
    out = pick("ofat", campaign, table, 6, seed=0)
    names = campaign.space.names()
    best = table.iloc[0]
    for rec in out.to_dict("records"):
        changed = [
            n
            for n in names
            if not (pd.isna(rec[n]) and pd.isna(best[n]))
            and rec[n] != best[n]
            and campaign.space.is_active(n, rec)
        ]
        assert len(changed) == 1, rec
        assert campaign.space.is_feasible(rec)


@pytest.mark.parametrize("strategy", ["sobol", "optuna-tpe", "optuna-nsga2"])
def test_baselines_propose_only_allowed_formulations(campaign, strategy: str) -> None:

    table = pd.DataFrame(campaign.space.sample(8, seed=1)).assign(
        membrane=[f"m{i}" for i in range(8)],
        status="measured",
        ionic_conductivity=1e-4,
        transference_number=0.3,
        li_symmetric_life=300.0,
    )
    out = pick(strategy, campaign, table, 12, seed=2)
    assert len(out) == 12
    for rec in out[campaign.space.names()].to_dict("records"):
        assert campaign.space.is_feasible(rec), rec


def test_random_and_sobol_are_reproducible_and_distinct(campaign: Campaign) -> None:
    table = realistic_campaign(campaign, Realistic(membranes=12, seed=2))
    names = campaign.space.names()
    for strategy in ("random", "sobol"):
        a = pick(strategy, campaign, table, 6, seed=5)
        b = pick(strategy, campaign, table, 6, seed=5)
        pd.testing.assert_frame_equal(a, b)
        assert not a[names].astype(str).duplicated().any()
        assert a["reason"].str.contains("baseline").all() and a["acquisition"].isna().all()
    # Sobol continues its sequence after the membranes already made: a new batch, not a repeat
    more = pick("sobol", campaign, pd.concat([table, table.iloc[:6]]), 6, seed=5)
    first = pick("sobol", campaign, table, 6, seed=5)
    assert not more[names].astype(str).equals(first[names].astype(str))


def test_scalar_score_ranks_by_every_objective(campaign: Campaign) -> None:
    table = pd.DataFrame(
        {
            "ionic_conductivity": [1e-5, 5e-4, 5e-4],
            "transference_number": [0.2, 0.6, 0.3],
            "li_symmetric_life": [100.0, 1500.0, 1500.0],
        }
    )
    score = scalar_score(campaign, table)
    assert list(score.sort_values().index) == [0, 2, 1]


def test_optuna_study_holds_failed_films_as_failed_trials(campaign: Campaign) -> None:
    table = realistic_campaign(campaign, Realistic(membranes=20, seed=4))
    dists = optuna_distributions(campaign.space, table, None)
    study = study_from_history("optuna-tpe", campaign, table, dists, seed=0, batch_size=4)
    states = pd.Series([t.state.name for t in study.trials]).value_counts()
    done = table[table["status"].isin(["measured", "failed"])]
    complete = done.dropna(subset=[o.property for o in campaign.objectives])
    assert states.get("COMPLETE", 0) == len(complete)
    assert states.get("FAIL", 0) == len(done) - len(complete)
    assert states.get("FAIL", 0) >= (table["status"] == "failed").sum() > 0
    # values are sign-adjusted model-scale objectives (log10 conductivity first), all maximized
    best = max(t.values[0] for t in study.trials if t.values)
    assert best == pytest.approx(np.log10(complete["ionic_conductivity"].max()))


def _scattered_pool(campaign: Campaign) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A pool whose rows are scattered (no two differ in one factor only), and what has been
    revealed of it: its first 6 rows, measured by the realistic generator."""
    from formulate.plan.pool import candidate_pool

    pool = candidate_pool(campaign.space, 64, seed=4).sample(frac=1.0, random_state=1)
    pool = pool.reset_index(drop=True)
    seen = realistic_campaign(campaign, Realistic(membranes=14, seed=2)).query(
        "status == 'measured'"
    )
    return pool, seen


def test_sobol_on_a_pool_fills_it_from_its_own_rows(campaign: Campaign) -> None:
    from formulate.plan.pool import unit_matrix

    pool, seen = _scattered_pool(campaign)
    picked = pick("sobol", campaign, seen, 8, seed=0, candidates=pool)
    assert picked.index.is_unique and set(picked.index) <= set(pool.index)  # never a row twice
    again = pick("sobol", campaign, seen.iloc[:-1], 8, seed=0, candidates=pool)
    assert not again.index.equals(picked.index)  # the sequence goes on as rows are revealed
    rand = pick("random", campaign, seen, 8, seed=0, candidates=pool)
    P, R = unit_matrix(campaign.space, picked), unit_matrix(campaign.space, rand)
    gap = lambda M: np.min(np.linalg.norm(M[:, None] - M[None], axis=2) + 9 * np.eye(len(M)))  # noqa: E731
    assert gap(P) > gap(R)  # spread out, not clumped


def test_ofat_on_a_scattered_pool_moves_one_factor_or_says_it_cannot(campaign: Campaign) -> None:
    pool, seen = _scattered_pool(campaign)
    runs = [pick("ofat", campaign, seen, 4, seed=s, candidates=pool) for s in (0, 1)]
    for out in runs:
        assert out["reason"].str.contains("from the best so far").all(), out["reason"].tolist()
        assert out.index.is_unique
    assert runs[0].index.tolist() == runs[1].index.tolist()  # no random choice while moves last
    assert (
        runs[0].index.tolist()
        != pick("random", campaign, seen, 4, seed=0, candidates=pool).index.tolist()
    )
