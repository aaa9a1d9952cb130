"""A membrane's life after it is proposed, on both stores: proposed -> measured provenance,
a wrong value retracted (the value before it is current again), pending membranes abandoned,
what each membrane still awaits, and a v1 store whose racing writers left two first values."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from formulate.cli import main
from formulate.data import (
    NewMeasurement,
    NewMembrane,
    Store,
    abandon,
    campaign_table,
    export_table,
    import_table,
    open_store,
)
from formulate.errors import FormulateError
from formulate.plan.planner import store_proposals
from formulate.report.summary import awaiting
from formulate.spec.campaign import Campaign
from formulate.testing import formulation

ASSETS = Path(__file__).parent / "assets"


@pytest.fixture
def both(campaign: Campaign, db_url: str) -> Store:
    """The paper's campaign on each store."""
    return open_store(campaign, db_url)


def proposals() -> pd.DataFrame:
    rows = [formulation(filler_wt_pct=w) for w in (5.0, 7.5, 10.0)]
    return pd.DataFrame(rows).assign(strategy="qlognehvi", reason="test")


def test_a_proposal_is_proposed_until_its_first_outcome(campaign: Campaign, both: Store) -> None:
    stored = store_proposals(campaign, both, proposals())
    first = stored["membrane"].iloc[0]
    members = both.membranes(campaign.name).set_index("membrane")
    assert set(members.loc[stored["membrane"], "provenance"]) == {"proposed"}
    exported = export_table(campaign, both).set_index("membrane")
    assert exported.loc[first, "provenance"] == "proposed"  # never "measured" while pending
    value = NewMeasurement(first, "ionic_conductivity", 2e-4, "S/cm", "emulated", temperature_C=25)
    both.add(campaign.name, [], [value])
    members = both.membranes(campaign.name).set_index("membrane")
    assert members.loc[first, "provenance"] == "emulated"
    assert members.loc[first, "status"] == "measured"
    assert members.loc[stored["membrane"].iloc[1], "provenance"] == "proposed"


def test_retracting_a_wrong_value_restores_the_one_before(campaign: Campaign, both: Store) -> None:
    """CPCSE's stated 5.2e-4 S/cm, a typo logged over it, the typo retracted: 5.2e-4 again;
    the history keeps all three rows."""

    def conductivity() -> list[float]:
        table = campaign_table(campaign, both).set_index("membrane")
        return [table.loc["CPCSE", "ionic_conductivity"]]

    assert conductivity() == [5.2e-4]
    typo = NewMeasurement("CPCSE", "ionic_conductivity", 0.52, "S/cm", "measured", temperature_C=25)
    both.add(campaign.name, [], [typo])
    assert conductivity() == [0.52]
    assert both.retract(campaign.name, "CPCSE", "ionic_conductivity", 25.0, "ana", "mS/cm") == 0.52
    assert conductivity() == [5.2e-4]
    history = both.measurements(campaign.name, history=True)
    rows = history[
        (history["membrane"] == "CPCSE")
        & (history["property"] == "ionic_conductivity")
        & (history["temperature_C"] == 25)
    ]
    assert rows["value"].tolist() == [5.2e-4, 0.52, 0.52]
    assert rows["retracted"].tolist() == [False, False, True]
    assert rows["current"].tolist() == [True, False, False]
    assert both.retract(campaign.name, "CPCSE", "ionic_conductivity", 25.0) == 5.2e-4
    current = both.measurements(campaign.name)
    at_25 = current[
        (current["property"] == "ionic_conductivity") & (current["temperature_C"] == 25)
    ]
    assert "CPCSE" not in set(at_25["membrane"])  # both values withdrawn: none current
    with pytest.raises(FormulateError, match="no current ionic_conductivity"):
        both.retract(campaign.name, "CPCSE", "ionic_conductivity", 25.0)
    both.add(campaign.name, [], [typo])  # a new value after retractions is current
    assert conductivity() == [0.52]


def test_abandoned_membranes_leave_the_pending_set(campaign: Campaign, both: Store) -> None:
    stored = store_proposals(campaign, both, proposals())
    batch = int(stored["batch"].iloc[0])
    gone = abandon(campaign, both, batch=batch, note="salt batch wet")
    assert sorted(gone) == sorted(stored["membrane"])
    members = both.membranes(campaign.name).set_index("membrane")
    assert set(members.loc[gone, "status"]) == {"abandoned"}
    assert all(n.endswith("salt batch wet") for n in members.loc[gone, "notes"])
    table = campaign_table(campaign, both)
    assert not table["status"].isin(["pending", "made"]).any()
    with pytest.raises(FormulateError, match=f"batch {batch} has no pending or made membrane"):
        abandon(campaign, both, batch=batch)


def test_each_membrane_says_what_it_still_awaits(campaign: Campaign, both: Store) -> None:
    both.add(
        campaign.name,
        [
            NewMembrane("M1", formulation(), "imported", "made"),
            NewMembrane("M2", formulation(filler_wt_pct=5.0), "imported"),
        ],
        [NewMeasurement("M1", "ionic_conductivity", 3e-4, "S/cm", "measured", temperature_C=25)],
    )
    table = campaign_table(campaign, both).set_index("membrane", drop=False)
    left = awaiting(campaign, table)
    assert left["M1"] == "t+, Li|Li life"  # "measured", yet not done
    assert left["M2"] == "conductivity, t+, Li|Li life"
    assert left["CPCSE"] == ""


def test_the_cli_retracts_and_abandons(
    campaign_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = str(campaign_dir)
    assert main(["log", folder, "CNCSE", "ionic_conductivity", "0.9"]) == 0
    assert main(["retract", folder, "CNCSE", "ionic_conductivity", "--reason", "typo"]) == 0
    assert "Retracted CNCSE conductivity = 0.9 mS/cm." in capsys.readouterr().out
    import_table(
        campaign_from(campaign_dir),
        open_store(campaign_from(campaign_dir)),
        pd.DataFrame([{"membrane": "Q1", **formulation(), "batch": "7"}]),
    )
    assert main(["abandon", folder, "--batch", "7", "--note", "no salt"]) == 0
    assert "Abandoned 1 membrane(s): Q1." in capsys.readouterr().out


def campaign_from(folder: Path) -> Campaign:
    from formulate.spec.campaign import load_campaign

    return load_campaign(folder)


def test_a_v1_store_with_two_first_values_is_chained_on_upgrade(tmp_path: Path) -> None:
    """Version 1 let racing writers save two first values of one series; opening it with
    version 2 chains the later after the earlier, so one is current."""
    path = tmp_path / "old.db"
    shutil.copy(ASSETS / "store-v1.db", path)
    with sqlite3.connect(path) as conn:
        membrane = conn.execute("SELECT id FROM membranes WHERE membrane = 'CNCSE'").fetchone()[0]
        for value in (0.31, 0.33):
            conn.execute(
                "INSERT INTO measurements (membrane_id, property, value, unit, censored, "
                "method, recorded_by, recorded_at, provenance, source, note) VALUES "
                "(?, 'crystallinity', ?, '', 0, '', 'racer', '2026-01-01', 'measured', '', '')",
                (membrane, value),
            )
    store = Store(f"sqlite:///{path}")
    history = store.measurements("cheng2023", history=True)
    rows = history[history["property"] == "crystallinity"]
    assert rows["value"].tolist() == [0.31, 0.33]
    assert rows["current"].tolist() == [False, True]
    assert rows["supersedes"].isna().sum() == 1
