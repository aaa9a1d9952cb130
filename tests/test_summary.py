"""Summaries for people: counts, best values with their membrane, proposals and membranes."""

from __future__ import annotations

import pandas as pd
import pytest

from formulate.report.summary import (
    frame_table,
    membrane_view,
    objective_summary,
    proposal_view,
    status_counts,
)
from formulate.spec.campaign import Campaign
from formulate.testing import Realistic, realistic_campaign


def test_counts_and_best_values_on_a_realistic_campaign(campaign: Campaign) -> None:
    table = realistic_campaign(campaign, Realistic(membranes=20, seed=3))
    counts = status_counts(table)
    assert list(counts) == ["pending", "made", "measured", "failed"]
    assert counts["pending"] == 4 and sum(counts.values()) == len(table)
    summary = objective_summary(campaign, table).set_index("objective")
    sigma = table["ionic_conductivity"]
    assert summary.loc["ionic_conductivity", "best"] == pytest.approx(sigma.max())
    best_row = table.loc[sigma.idxmax(), "membrane"]
    assert summary.loc["ionic_conductivity", "best_membrane"] == best_row
    assert summary.loc["li_symmetric_life", "measured"] == table["li_symmetric_life"].notna().sum()
    assert summary.loc["transference_number", "unit"] == "-"


def test_membrane_view_marks_lower_bounds(campaign: Campaign) -> None:
    table = pd.DataFrame(
        {
            "membrane": ["a", "b"],
            "status": ["measured", "pending"],
            "batch": [1, 2],
            "provenance": ["measured", "measured"],
            **{n: [None, None] for n in campaign.space.names()},
            "li_symmetric_life": [600.0, None],
            "li_symmetric_life_censored": [True, False],
        }
    )
    view = membrane_view(campaign, table)
    assert view["Li|Li life [h]"].tolist() == [">=600", ""]
    assert view["awaiting"].tolist() == ["conductivity, t+", "conductivity, t+, Li|Li life"]


def test_proposal_view_and_markup_safe_tables(campaign: Campaign) -> None:
    proposals = pd.DataFrame(
        {
            "membrane": ["B1-1"],
            "batch": [1],
            **{n: [None] for n in campaign.space.names()},
            "ionic_conductivity_mean": [5.2e-4],
            "ionic_conductivity_lower": [3e-4],
            "ionic_conductivity_upper": [9e-4],
            "reason": ["explores [filler]"],
        }
    )
    view = proposal_view(campaign, proposals)
    assert view["conductivity [mS/cm] (95%)"].tolist() == ["0.52 [0.3, 0.9]"]
    table = frame_table(view, "proposals [batch 1]")
    assert table.row_count == 1 and "[batch 1]" in str(table.title)
