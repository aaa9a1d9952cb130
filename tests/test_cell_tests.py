"""Cells on instruments: started, stopped, finished; a running life as a growing lower bound;
refusals that change nothing; both stores; the upgrade from schema version 2."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from formulate.data import campaign_table, import_table
from formulate.data.cell_tests import cell_tests, start_test, stop_test
from formulate.data.cells import canonical_headers
from formulate.data.records import NewMeasurement
from formulate.data.schema import SCHEMA_VERSION
from formulate.data.store import Store
from formulate.errors import FormulateError
from formulate.spec.campaign import Campaign
from formulate.testing import emulated

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
LIFE = "li_symmetric_life"
ASSETS = Path(__file__).parent / "assets"


@pytest.fixture
def lab(campaign: Campaign, db_url: str) -> Store:
    """The paper's campaign with six emulated membranes measured except for their life."""
    store = Store(db_url)
    made = emulated(campaign, 8, seed=5)
    made = made[made["film_formed"] == 1].head(6)
    made = made.drop(columns=["film_formed", LIFE, f"{LIFE}_censored"])
    made["membrane"] = [f"M{i}" for i in range(len(made))]
    import_table(campaign, store, canonical_headers(campaign, made.assign(provenance="emulated")))
    return store


def test_a_running_cell_is_a_growing_lower_bound(campaign: Campaign, lab: Store) -> None:
    start_test(campaign, lab, "M0", LIFE, channel="1", at=T0, by="ana")
    day3 = campaign_table(campaign, lab, now=T0 + timedelta(days=3)).set_index("membrane")
    assert day3.loc["M0", LIFE] == pytest.approx(72.0) and day3.loc["M0", f"{LIFE}_censored"]
    week = campaign_table(campaign, lab, now=T0 + timedelta(days=7)).set_index("membrane")
    assert week.loc["M0", LIFE] == pytest.approx(168.0)
    tests = cell_tests(campaign, lab, now=T0 + timedelta(days=7))
    assert tests[["membrane", "channel", "state"]].values.tolist() == [["M0", "1", "running"]]
    assert tests["hours"].iloc[0] == pytest.approx(168.0)


def test_a_stopped_cell_keeps_its_hours_and_a_logged_life_finishes_it(
    campaign: Campaign, lab: Store
) -> None:
    start_test(campaign, lab, "M0", LIFE, at=T0)
    assert stop_test(campaign, lab, "M0", LIFE, at=T0 + timedelta(hours=300)) == 300.0
    later = campaign_table(campaign, lab, now=T0 + timedelta(days=60)).set_index("membrane")
    assert later.loc["M0", LIFE] == pytest.approx(300.0) and later.loc["M0", f"{LIFE}_censored"]
    start_test(campaign, lab, "M2", LIFE, at=T0)  # taken off at once: no bound (0 h is none)
    stop_test(campaign, lab, "M2", LIFE, at=T0 + timedelta(minutes=20))
    assert pd.isna(campaign_table(campaign, lab).set_index("membrane").loc["M2", LIFE])
    start_test(campaign, lab, "M1", LIFE, at=T0)
    lab.add(campaign.name, measurements=[NewMeasurement("M1", LIFE, 820.0, "h", "measured")])
    tests = cell_tests(campaign, lab).set_index("membrane")
    assert tests.loc["M0", "state"] == "stopped" and tests.loc["M1", "state"] == "finished"
    table = campaign_table(campaign, lab).set_index("membrane")
    assert table.loc["M1", LIFE] == 820.0 and not table.loc["M1", f"{LIFE}_censored"]


def test_refusals_name_the_problem_and_write_nothing(campaign: Campaign, lab: Store) -> None:
    limited = campaign.model_copy(
        update={
            "measurements": {LIFE: campaign.measurement(LIFE).model_copy(update={"instruments": 2})}
        }
    )
    start_test(limited, lab, "M0", LIFE, channel="1", at=T0)
    before = lab.data_version(campaign.name)
    cases = [
        (("M0", LIFE, "2"), "on test for li_symmetric_life since 2026-11-01 09:00"),
        (("M1", LIFE, "1"), "channel 1: runs M0"),
        (("M1", "melting_point", ""), "unknown property 'melting_point'"),
        (("X9", LIFE, ""), "no membrane 'X9'"),
    ]
    for (membrane, prop, channel), message in cases:
        with pytest.raises(FormulateError, match=message):
            start_test(limited, lab, membrane, prop, channel=channel, at=T0)
    start_test(limited, lab, "M1", LIFE, channel="2", at=T0)
    with pytest.raises(FormulateError, match="all 2 instrument"):
        start_test(limited, lab, "M2", LIFE, channel="3", at=T0)
    with pytest.raises(FormulateError, match="no li_symmetric_life test of M3 is running"):
        stop_test(limited, lab, "M3", LIFE)
    with pytest.raises(FormulateError, match="before it started"):
        stop_test(limited, lab, "M0", LIFE, at=T0 - timedelta(hours=1))
    with pytest.raises(FormulateError, match="is in the future"):
        start_test(limited, lab, "M3", LIFE, at=datetime.now(UTC) + timedelta(days=2))
    lab.set_status(campaign.name, "M4", "failed")
    with pytest.raises(FormulateError, match="M4 is failed"):
        start_test(campaign, lab, "M4", LIFE, at=T0)
    assert len(cell_tests(campaign, lab)) == 2  # M0 and M1 only
    assert lab.data_version(campaign.name) != before  # M1 started, M4 failed


def test_a_version_2_store_is_upgraded(tmp_path: Path, campaign: Campaign) -> None:
    path = tmp_path / "old.db"
    shutil.copy(ASSETS / "store-v2.db", path)
    store = Store(f"sqlite:///{path}")
    assert store.schema_version() == SCHEMA_VERSION == 4
    lab2 = campaign.model_copy(update={"name": "lab2"})
    start_test(lab2, store, "CNCSE", LIFE, at=T0)
    table = campaign_table(lab2, store, now=T0 + timedelta(hours=500)).set_index("membrane")
    assert table.loc["CNCSE", LIFE] == pytest.approx(500.0)  # the logged >300 h is exceeded
