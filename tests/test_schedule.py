"""Which made membranes go on the cycler: candidates, value per instrument-day, greedy slots,
the first-come fallback, the CLI; the lab simulated day by day."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from formulate.backtest.cycler import LabWeeks, membranes, simulate
from formulate.cli import main
from formulate.plan.schedule import candidates, schedule
from formulate.spec.campaign import Campaign
from formulate.testing import Realistic, formulation, realistic_campaign
from formulate.units import significant

LIFE = "li_symmetric_life"
NO_TESTS = pd.DataFrame({"membrane": [], "property": [], "state": []})


@pytest.fixture(scope="module")
def table(request: pytest.FixtureRequest) -> pd.DataFrame:
    from formulate.spec.campaign import load_campaign
    from formulate.testing import TEMPLATE

    spec = load_campaign(TEMPLATE)
    out = realistic_campaign(spec, Realistic(membranes=30, seed=3))
    return out[out["status"] != "pending"].reset_index(drop=True)


def untested(table: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """``table`` with the lives of ``ids`` unknown (made, not yet on the cycler)."""
    out = table.copy()
    out.loc[out["membrane"].isin(ids), [LIFE, f"{LIFE}_censored"]] = [np.nan, False]
    return out


def test_candidates_lack_the_property_and_are_not_on_test(
    campaign: Campaign, table: pd.DataFrame
) -> None:
    measured = table[(table["status"] == "measured") & table[LIFE].notna()]["membrane"]
    ids = measured.head(4).tolist()
    lab = untested(table, ids)
    before = set(candidates(campaign, table, NO_TESTS, LIFE)["membrane"])  # late arrivals
    running = pd.DataFrame({"membrane": [ids[0]], "property": [LIFE], "state": ["running"]})
    assert set(candidates(campaign, lab, running, LIFE)["membrane"]) == before | set(ids[1:])
    assert set(candidates(campaign, lab, NO_TESTS, LIFE)["membrane"]) == before | set(ids)


def test_the_membrane_that_can_move_the_front_goes_first(
    campaign: Campaign, table: pd.DataFrame
) -> None:
    """A membrane with the campaign's best conductivity and t+ whose life is unknown is worth
    a cycler channel; one far behind on both is worth nothing whatever its life."""
    table = table[table[LIFE].notna() | (table["status"] == "failed")]  # every life known
    scored = table.dropna(subset=["ionic_conductivity", "transference_number"])
    scored = scored[scored["status"] == "measured"]
    z = np.log10(scored["ionic_conductivity"]) + 4 * scored["transference_number"]
    good, poor = scored.loc[z.idxmax(), "membrane"], scored.loc[z.idxmin(), "membrane"]
    lab = untested(table, [good, poor])
    ranked = schedule(campaign, lab, NO_TESTS, LIFE, 2, disk_cache=False)
    assert ranked["membrane"].tolist() == [good, poor]
    assert ranked["gain"].iloc[0] > 0 and ranked["gain"].iloc[1] == pytest.approx(0, abs=1e-9)
    first = ranked.iloc[0]  # the words say the numbers: a gain in percent, per day
    assert first["reason"].startswith(f"expected to add {significant(first['gain'])}% ")
    assert f"over about {significant(first['days'])} instrument-day(s)" in first["reason"]
    assert first["value_per_day"] == pytest.approx(first["gain"] / first["days"])
    assert f"chance to beat the best so far {first['chance']:.0%}" in first["reason"]
    assert "Li|Li life predicted" in ranked["reason"].iloc[0]
    assert ranked["reason"].iloc[1].startswith("no gain expected")
    assert (ranked["days"] <= campaign.measurement(LIFE).duration_days + 1e-9).all()


def test_too_little_data_ranks_first_come_first_served(campaign: Campaign) -> None:
    table = realistic_campaign(campaign, Realistic(membranes=8, seed=4))
    table = table[table["status"] == "measured"].reset_index(drop=True)
    table[LIFE], table[f"{LIFE}_censored"] = np.nan, False
    ranked = schedule(campaign, table, NO_TESTS, LIFE, 3, disk_cache=False)
    assert ranked["membrane"].tolist() == table["membrane"].head(3).tolist()
    assert ranked["reason"].iloc[0].startswith("first come, first served: li_symmetric_life")


def test_the_cli_records_tests_and_schedules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["init", "c1", "--template", "cheng2023"]) == 0
    rows = pd.DataFrame([{"membrane": "N1", **formulation(eo_li_ratio=12.0)}])
    rows.assign(**{"ionic_conductivity [mS/cm]": 0.3}).to_csv("new.csv", index=False)
    assert main(["import", "c1", "new.csv"]) == 0
    capsys.readouterr()
    assert main(["test", "start", "c1", "N1", "--channel", "4", "--at", "2026-11-01"]) == 0
    assert main(["test", "list", "c1"]) == 0
    listed = capsys.readouterr().out
    assert "N1" in listed and "running" in listed
    assert main(["test", "start", "c1", "PPSE", "--at", "yesterday"]) == 2
    assert "cannot read the time 'yesterday'" in capsys.readouterr().err
    assert main(["test", "stop", "c1", "N1", "--at", "2026-11-11"]) == 0
    assert "after 240 h" in capsys.readouterr().out
    assert main(["schedule", "c1", "--slots", "2", "--format", "csv"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("membrane,hypervolume gain [%/day],days on test,Li|Li life [h]")


def test_the_lab_day_by_day(campaign: Campaign) -> None:
    lab = LabWeeks(weeks=3, per_week=3, channels=2)
    made = membranes(campaign, lab, seed=1)
    assert made["made_day"].tolist() == [0, 0, 0, 7, 7, 7, 14, 14, 14]
    runs = {p: simulate(campaign, lab, p, seed=1) for p in ("fcfs", "random", "schedule")}
    for trace in runs.values():
        assert (trace["running"] <= 2).all() and trace["cycler_days"].is_monotonic_increasing
        assert trace["fraction"].between(0, 1 + 1e-9).all()
        assert trace["fraction"].iloc[-1] == pytest.approx(1.0)  # all that matters is known
    # the same films, each tested once to its end: the same cycler time; the schedule skips
    # films that cannot move the front, so it never uses more
    assert runs["random"]["cycler_days"].iloc[-1] == runs["fcfs"]["cycler_days"].iloc[-1]
    assert runs["schedule"]["cycler_days"].iloc[-1] <= runs["fcfs"]["cycler_days"].iloc[-1]
