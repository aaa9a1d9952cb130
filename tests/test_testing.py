"""The realistic campaign generator keeps its promises: failed films, every intermediate, late
and censored lives, a pending batch; lab notation imports back to the same values; typos are
rejected with their row and column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from formulate.data import Store, campaign_table, import_table
from formulate.errors import FormulateError
from formulate.spec.campaign import Campaign
from formulate.testing import RUNNING_AT_H, Realistic, lab_notation, realistic_campaign, with_typos


def test_a_realistic_campaign_is_messy_as_promised(campaign: Campaign) -> None:
    table = realistic_campaign(campaign, Realistic(membranes=60, seed=1))
    made = table[table["status"] != "pending"]
    assert len(made) == 60 and (table["status"] == "pending").sum() == 4
    assert set(table.loc[table["status"] == "pending", "batch"]) == {table["batch"].max()}
    failed = table[table["status"] == "failed"]
    assert len(failed) >= 3 and (failed["film_formed"] == 0).all()
    assert failed["ionic_conductivity"].isna().all()
    measured = table[table["status"] == "measured"]
    for prop in ("activation_energy", "glass_transition", "mobile_li_fraction", "crystallinity"):
        assert measured[prop].notna().all(), prop
    last = table.loc[table["status"] != "pending", "batch"].max()
    assert measured.loc[measured["batch"] == last, "li_symmetric_life"].isna().all()
    running = measured[(measured["batch"] == last - 1) & measured["li_symmetric_life_censored"]]
    assert len(running) and (running["li_symmetric_life"] == RUNNING_AT_H).all()
    assert all(
        campaign.space.is_feasible(r) for r in table[campaign.space.names()].to_dict("records")
    )
    again = realistic_campaign(campaign, Realistic(membranes=60, seed=1))
    pd.testing.assert_frame_equal(table, again)


def test_lab_notation_imports_back_to_the_same_values(campaign: Campaign, store: Store) -> None:
    table = realistic_campaign(campaign, Realistic(membranes=16, seed=2))
    typed = lab_notation(campaign, table)
    assert typed["ionic_conductivity"].str.endswith("mS/cm").any()
    import_table(campaign, store, typed, provenance="imported")
    back = campaign_table(campaign, store).set_index("membrane").loc[table["membrane"]]
    for prop in ("ionic_conductivity", "transference_number", "li_symmetric_life"):
        np.testing.assert_allclose(
            back[prop].to_numpy(dtype=float), table[prop].to_numpy(dtype=float), rtol=1e-5
        )
    assert (
        back["li_symmetric_life_censored"].to_numpy()
        == table["li_symmetric_life_censored"].to_numpy()
    ).all()


def test_typos_are_named_and_nothing_is_written(campaign: Campaign, store: Store) -> None:
    typed = lab_notation(campaign, realistic_campaign(campaign, Realistic(membranes=24, seed=3)))
    spoiled, typos = with_typos(typed, seed=1)
    before = store.membranes("cheng2023")
    with pytest.raises(FormulateError, match="nothing was imported") as err:
        import_table(campaign, store, spoiled)
    problems = [str(p) for p in err.value.problems]
    for typo in typos:
        where = f"row {typo.row}, column {typo.column}"
        assert any(where in p and typo.says in p for p in problems), (typo, problems)
    assert len(problems) == len(typos)
    pd.testing.assert_frame_equal(store.membranes("cheng2023"), before)
