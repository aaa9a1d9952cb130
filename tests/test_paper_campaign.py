"""The paper's campaign holds every number the paper states, as stated; assumptions marked."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from formulate.data import Store, campaign_table
from formulate.spec.campaign import Campaign
from formulate.testing import TEMPLATE

SHARED_FACTS = Path(__file__).resolve().parents[2] / "shared" / "paper" / "cheng2023_facts.csv"
"""The paper's stated numbers (beside the repository; absent in a bare clone)."""
REPO_CAMPAIGN = Path(__file__).resolve().parents[1] / "campaigns" / "cheng2023"
SAMPLE = {"cluster_chain_GdOOH": "cluster_chain", "nanowire_GdOOH": "nanowire", "none": "none"}


def facts() -> list[dict[str, str]]:
    path = SHARED_FACTS if SHARED_FACTS.is_file() else TEMPLATE / "paper_measurements.csv"
    return list(csv.DictReader(path.open()))


def test_every_stated_number_is_in_the_store_as_stated(store: Store) -> None:
    meas = store.measurements("cheng2023")
    assert set(meas["provenance"]) == {"stated"}
    rows = facts()
    assert len(meas) == len(rows)
    for fact in rows:
        membrane = fact.get("sample") or fact["membrane"]
        hit = meas[(meas["membrane"] == membrane) & (meas["property"] == fact["property"])]
        temp = fact["temperature_C"]
        if temp:
            hit = hit[hit["temperature_C"] == float(temp)]
        assert len(hit) == 1, fact
        assert math.isclose(hit.iloc[0]["value"], float(fact["value"])), fact
        assert bool(hit.iloc[0]["censored"]) == (fact["censored"] == "true"), fact


def test_paper_membranes_and_their_assumptions(campaign: Campaign, store: Store) -> None:
    table = campaign_table(campaign, store).set_index("membrane")
    assert table.loc["CPCSE", "filler"] == "cluster_chain"
    assert table.loc["CPCSE", "filler_wt_pct"] == 2.5
    assert table.loc["CNCSE", "filler_wt_pct"] == 10
    assert table.loc["PPSE", "filler"] == "none"
    assert set(table["assumed"]) == {"thf_fraction;eo_li_ratio"}  # the text gives no value
    assert table.loc["CPCSE", "ionic_conductivity"] == pytest.approx(5.2e-4)
    assert table.loc["CPCSE", "ionic_conductivity@60C"] == pytest.approx(1.6e-3)
    assert table.loc["CPCSE", "li_symmetric_life"] == 1500
    assert table.loc["CPCSE", "li_symmetric_life_censored"]
    assert not table.loc["PPSE", "li_symmetric_life_censored"]
    assert table.loc["CPCSE", "glass_transition"] == pytest.approx(-50.51)


def test_paper_formulations_match_the_facts_file() -> None:
    if not SHARED_FACTS.is_file():
        pytest.skip("shared/paper not beside the checkout")
    membranes = {
        r["membrane"]: r for r in csv.DictReader((TEMPLATE / "paper_membranes.csv").open())
    }
    for fact in csv.DictReader(SHARED_FACTS.open()):
        row = membranes[fact["sample"]]
        assert row["filler"] == SAMPLE[fact["filler"]]
        assert float(row["filler_wt_pct"] or 0) == float(fact["filler_wt_pct"])
        assert row["polymer"] == fact["polymer"]


def test_the_repository_campaign_is_a_real_copy_of_the_template() -> None:
    """campaigns/cheng2023 is a folder of its own (running the CLI there writes nothing under
    src/) and holds exactly the shipped template's files."""
    assert REPO_CAMPAIGN.is_dir() and not REPO_CAMPAIGN.is_symlink()
    shipped = {p.name: p.read_bytes() for p in TEMPLATE.iterdir() if p.is_file()}
    copied = {
        p.name: p.read_bytes()
        for p in REPO_CAMPAIGN.iterdir()
        if p.is_file() and not p.name.endswith((".db", ".db-wal", ".db-shm"))
    }
    assert copied == shipped
