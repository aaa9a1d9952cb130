"""Film formation as a classifier: labels from statuses and logs, failures learned by region."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from formulate.lab.virtual import Noise, VirtualLab
from formulate.model.encoding import Encoder
from formulate.model.feasibility import (
    NOISE,
    TARGET,
    film_labels,
    fit_film_model,
    has_failures,
    needs_film_model,
    probability_of_forming,
)
from formulate.model.specs import load_spec
from formulate.plan.pool import candidate_pool
from formulate.spec.campaign import Campaign
from formulate.spec.film import FilmRisk
from formulate.testing import Realistic, formulation, realistic_campaign


def test_labels_come_from_the_log_else_the_status() -> None:
    table = pd.DataFrame(
        {
            "status": ["measured", "made", "failed", "pending", "measured"],
            "film_formed": [np.nan, np.nan, np.nan, np.nan, 0.0],
        }
    )
    assert film_labels(table).tolist()[:3] == [1.0, 1.0, 0.0]
    assert np.isnan(film_labels(table).iloc[3])  # not made yet
    assert film_labels(table).iloc[4] == 0.0  # logged: the film did not form
    assert has_failures(table) and not has_failures(table.iloc[:2])
    assert TARGET > 6 and 5 < NOISE < 6  # Dirichlet targets with alpha_eps = 0.01


def test_the_classifier_finds_where_films_fail(campaign: Campaign) -> None:
    table = realistic_campaign(campaign, Realistic(membranes=60, seed=5))
    assert (table["status"] == "failed").sum() >= 5
    model = fit_film_model(campaign, table, "gp-physics")
    pool = candidate_pool(campaign.space, 1024, seed=9)
    truth = VirtualLab(noise=Noise.off()).measure(pool.assign(membrane=range(len(pool))))
    p = probability_of_forming(model, pool)
    formed = truth["film_formed"].to_numpy() == 1
    assert np.all((p >= 0) & (p <= 1))
    assert p[formed].mean() > 0.8 and p[~formed].mean() < 0.45
    # the emulator's failure modes: far too much salt, nanowire at 14 wt% or more, PAN in ACN
    risky = pd.DataFrame(
        [
            formulation(eo_li_ratio=6.0),
            formulation(filler="nanowire", filler_wt_pct=15.0),
            formulation(polymer="PAN", solvent="ACN", thf_fraction=None),
        ]
    )
    safe = pd.DataFrame([formulation()])
    assert probability_of_forming(model, safe)[0] > probability_of_forming(model, risky).max()


def test_a_logged_failure_lowers_its_formulation_and_a_cluster_rules_a_region_out(
    campaign: Campaign,
) -> None:
    """One film a person marks failed lowers its own formulation below every formed film (it
    may be a fluke: a cracked film); a cluster of failures makes the region unlikely, while
    the formed films stay likely."""
    formed = pd.DataFrame(campaign.space.sample(14, seed=11)).assign(status="measured")
    failed = formulation(filler="cluster_chain", filler_wt_pct=3.0, eo_li_ratio=7.0)
    one = pd.concat([formed, pd.DataFrame([{**failed, "status": "failed"}])], ignore_index=True)
    p_failed = probability_of_forming(
        fit_film_model(campaign, one, "gp-physics"), pd.DataFrame([failed])
    )
    p_formed = probability_of_forming(fit_film_model(campaign, one, "gp-physics"), formed)
    assert p_failed[0] < p_formed.min()
    more = [(6.5, 2.5), (7.5, 4.0), (6.2, 3.0)]
    cluster = pd.concat(
        [
            one,
            pd.DataFrame(
                [
                    {**failed, "eo_li_ratio": e, "filler_wt_pct": w, "status": "failed"}
                    for e, w in more
                ]
            ),
        ],
        ignore_index=True,
    )
    model = fit_film_model(campaign, cluster, "gp-physics")
    near = {**failed, "eo_li_ratio": 7.6, "filler_wt_pct": 3.5}
    assert probability_of_forming(model, pd.DataFrame([failed, near])).max() < 0.1
    assert np.median(probability_of_forming(model, formed)) > 0.9


def _with_risks(campaign: Campaign, risks: list[dict]) -> Campaign:
    return campaign.model_copy(update={"film_risks": tuple(FilmRisk(**r) for r in risks)})


def test_a_stated_film_risk_is_the_prior_and_films_made_there_update_it(
    campaign: Campaign,
) -> None:
    """Before any film in the region was cast, the chance to form there is the stated one;
    films that formed there lift it, failures there pull it down; outside it stays high."""
    salty = _with_risks(campaign, [{"when": {"eo_li_ratio": [6.0, 8.0]}, "chance": 0.4}])
    made = pd.DataFrame(campaign.space.sample(30, seed=3)).assign(status="measured")
    made = made[made["eo_li_ratio"] > 9].reset_index(drop=True)
    probe = pd.DataFrame(campaign.space.sample(300, seed=5))
    inside = (probe["eo_li_ratio"] <= 8).to_numpy()
    p = probability_of_forming(fit_film_model(salty, made, "gp-physics"), probe)
    assert 0.33 < p[inside].mean() < 0.47 and p[~inside].min() > 0.9
    there = probe[inside].head(4)
    formed = pd.concat([made, there.assign(status="measured")], ignore_index=True)
    p_formed = probability_of_forming(fit_film_model(salty, formed, "gp-physics"), there)
    assert p_formed.min() > 0.7
    failed = pd.concat([made, there.head(2).assign(status="failed")], ignore_index=True)
    p_failed = probability_of_forming(fit_film_model(salty, failed, "gp-physics"), probe)
    assert p_failed[inside].mean() < 0.15 and np.median(p_failed[~inside]) > 0.9
    # the same data without the stated risk: nothing to learn before a failure
    assert not needs_film_model(campaign.model_copy(update={"film_risks": ()}), made)
    assert needs_film_model(salty, made)


@pytest.mark.parametrize("family", ["gp-onehot", "gp-mixed", "gp-physics"])
def test_encoded_regions_match_the_formulations_in_every_encoding(
    plain_polymer: Campaign, family: str
) -> None:
    """Region tests on model inputs agree with the same test on formulations (a numeric
    condition holds only where its variable is active), for levels encoded one-hot, by
    descriptors and as indices (the polymers have no descriptors here)."""
    campaign = plain_polymer
    risks = [
        FilmRisk(when={"filler": ("nanowire",), "filler_wt_pct": (12.0, 15.0)}, chance=0.5),
        FilmRisk(when={"polymer": ("PAN",), "solvent": ("ACN",)}, chance=0.2),
        FilmRisk(when={"filler_wt_pct": (0.5, 1.0)}, chance=0.5),
    ]
    rows = pd.DataFrame(campaign.space.sample(400, seed=1))
    encoder = Encoder(campaign, load_spec(family).encoding)
    X = encoder.encode(rows)
    for risk in risks:
        expected = [risk.matches(r, campaign.space) for r in rows.to_dict("records")]
        assert encoder.in_region(X, risk.when).tolist() == expected
        assert sum(expected) > 5
