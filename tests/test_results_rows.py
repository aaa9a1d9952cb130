"""The everyday path, on both stores: a number without a unit is read in the unit people are
shown (mS/cm for conductivity) and said back; a results table for the pending batch carries
status, film_formed and notes into the records, all or nothing, with lab spellings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from formulate.cli import main
from formulate.data import NewMembrane, Store, import_table, open_store, plan_import
from formulate.errors import FormulateError
from formulate.model.feasibility import film_labels
from formulate.spec.campaign import Campaign
from formulate.testing import formulation


@pytest.fixture
def batch(campaign: Campaign, db_url: str) -> Store:
    """The paper's campaign with a pending batch B1, B2, B3 on each store."""
    store = open_store(campaign, db_url)
    pending = [
        NewMembrane(f"B{i}", formulation(filler_wt_pct=w), "proposed", batch=1)
        for i, w in ((1, 5.0), (2, 7.5), (3, 10.0))
    ]
    store.add(campaign.name, pending)
    return store


def rows(store: Store, campaign: Campaign) -> pd.DataFrame:
    return store.membranes(campaign.name).set_index("membrane")


def current(store: Store, campaign: Campaign, prop: str) -> pd.Series:
    values = store.measurements(campaign.name)
    return values[values["property"] == prop].set_index("membrane")["value"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "results.csv"
    path.write_text(text, encoding="utf-8")
    return path


# --- the bare-number rule ----------------------------------------------------------------


def test_a_bare_number_from_the_cli_is_read_in_mS_per_cm_and_said(
    campaign: Campaign, batch: Store, capsys
) -> None:
    code = main(
        ["log", "--db", batch.url, str(campaign.folder), "B1", "ionic_conductivity", "0.45"]
    )
    said = capsys.readouterr().out
    assert code == 0
    assert "Logged B1 conductivity = 0.45 mS/cm (0.45 without a unit read as mS/cm)." in said
    assert current(batch, campaign, "ionic_conductivity")["B1"] == pytest.approx(4.5e-4)
    assert main(["status", "--db", batch.url, str(campaign.folder)]) == 0
    status = capsys.readouterr().out
    b1 = next(line for line in status.splitlines() if line.strip().startswith("B1"))
    assert "0.45" in b1 and "450" not in status


def test_a_header_without_a_unit_reads_mS_per_cm_and_says_so(
    campaign: Campaign, batch: Store, tmp_path: Path
) -> None:
    plan = import_table(
        campaign, batch, write(tmp_path, "membrane,Conductivity\nB1,0.31\nB2,0.02 S/cm\n")
    )
    assert "conductivity without a unit read in mS/cm" in plan.readings.lines()
    values = current(batch, campaign, "ionic_conductivity")
    assert values["B1"] == pytest.approx(3.1e-4) and values["B2"] == pytest.approx(0.02)


def test_an_s_per_cm_value_typed_as_a_bare_number_is_refused_as_implausible(
    campaign: Campaign, batch: Store, capsys
) -> None:
    """0.45 meant as S/cm but typed bare is 0.45 mS/cm; 450 meant as mS/cm but written in S/cm
    (450 S/cm) or 450 mS/cm itself (beyond 100 mS/cm) is refused unless confirmed real."""
    before = batch.measurements(campaign.name, history=True)
    code = main(["log", "--db", batch.url, str(campaign.folder), "B1", "ionic_conductivity", "450"])
    said = capsys.readouterr().err
    assert code == 2 and "450 mS/cm is outside what a lab measures (0 to 100 mS/cm)" in said
    assert batch.measurements(campaign.name, history=True).equals(before)


def test_a_huge_confirmed_value_is_still_refused(campaign: Campaign, batch: Store, capsys) -> None:
    args = ["log", "--db", batch.url, str(campaign.folder), "B1", "ionic_conductivity"]
    assert main([*args, "1e300 S/cm", "--surprising"]) == 2
    assert "too large to be a measurement" in capsys.readouterr().err
    assert current(batch, campaign, "ionic_conductivity").get("B1") is None


# --- status, film_formed and notes of existing membranes ----------------------------------


def test_a_results_table_marks_a_failed_film_and_keeps_the_notes(
    campaign: Campaign, batch: Store, tmp_path: Path
) -> None:
    table = (
        "Membrane,Conductivity,t+,Status,Notes\n"
        "B1,0.31,0.4,,cast fine\n"
        "B2,,,Failed,cracked on drying\n"
        "B3,0.12,,made,\n"
    )
    plan = import_table(campaign, batch, write(tmp_path, table))
    assert "B2 failed" in plan.said("results.csv")
    members = rows(batch, campaign)
    assert members.loc[["B1", "B2", "B3"], "status"].tolist() == ["measured", "failed", "measured"]
    assert "cracked on drying" in members.loc["B2", "notes"]
    assert "cast fine" in members.loc["B1", "notes"]
    assert current(batch, campaign, "film_formed")["B2"] == 0.0  # the film model learns it
    labels = film_labels(members.reset_index().assign(film_formed=[None] * len(members)))
    assert labels[members.index.get_loc("B2")] == 0.0


def test_film_formed_zero_alone_makes_the_membrane_failed(
    campaign: Campaign, batch: Store, tmp_path: Path
) -> None:
    import_table(campaign, batch, write(tmp_path, "membrane,film_formed\nB3,0\n"))
    assert rows(batch, campaign).loc["B3", "status"] == "failed"


@pytest.mark.parametrize(
    "table, message",
    [
        ("membrane,status\nB1,broken\n", "row 2, column status: unknown status 'broken'"),
        (
            "membrane,film_formed,status\nB1,0,measured\n",
            "status 'measured' but film_formed 0: a film that did not form is failed",
        ),
        (
            "membrane,film_formed,status\nB1,1,failed\n",
            "status 'failed' but film_formed 1",
        ),
        ("membrane,status\nCPCSE,pending\n", "the membrane is measured; it cannot become pending"),
        (
            "membrane,status\nB1,abandoned\nB2,failed\nB2,made\n",
            "duplicate membrane id 'B2' in the file",
        ),
        (
            "membrane,ionic_conductivity,status\nB1,0.3,pending\nB2,,abandoned\nCPCSE,0.5,made\n",
            "row 4, column status: the membrane is measured; it cannot become made",
        ),
    ],
)
def test_a_status_that_contradicts_the_history_is_refused(
    campaign: Campaign, batch: Store, tmp_path: Path, table: str, message: str
) -> None:
    before = (rows(batch, campaign), batch.measurements(campaign.name, history=True))
    with pytest.raises(FormulateError, match="nothing was imported") as err:
        import_table(campaign, batch, write(tmp_path, table))
    assert message in err.value.message()
    assert rows(batch, campaign).equals(before[0])
    assert batch.measurements(campaign.name, history=True).equals(before[1])


def test_the_lab_plugin_path_reads_status_and_notes_the_same(
    campaign: Campaign, batch: Store
) -> None:
    frame = pd.DataFrame(
        {"membrane": ["B1", "B2"], "Status": ["", "failed"], "Notes": ["ok", "no film"]}
    )
    plan = plan_import(campaign, batch, frame, source="robot")
    assert plan.problems == []
    assert plan.status_updates == {"B2": "failed"} and plan.notes == {"B1": "ok", "B2": "no film"}


# --- the cycler: only films that formed and lack the result --------------------------------


def test_schedule_never_offers_a_failed_film_and_says_why_when_empty(
    campaign: Campaign, batch: Store, tmp_path: Path
) -> None:
    from formulate.data import campaign_table
    from formulate.data.cell_tests import cell_tests
    from formulate.plan.schedule import candidates, nothing_to_schedule

    batch.add(campaign.name, status_updates={"B1": "made", "B2": "made"})
    import_table(campaign, batch, write(tmp_path, "membrane,film_formed\nB2,0\n"))
    table, tests = campaign_table(campaign, batch), cell_tests(campaign, batch)
    assert candidates(campaign, table, tests, "li_symmetric_life")["membrane"].tolist() == ["B1"]
    batch.add(campaign.name, status_updates={"B1": "failed"})
    table = campaign_table(campaign, batch)
    assert candidates(campaign, table, tests, "li_symmetric_life").empty
    why = nothing_to_schedule(campaign, table, tests, "li_symmetric_life")
    assert "No membrane to test for Li|Li life" in why
    assert "2 failed film(s)" in why and "1 pending (not made yet)" in why


def test_a_cell_started_in_year_1_is_refused(campaign: Campaign, batch: Store) -> None:
    from datetime import UTC, datetime

    from formulate.data.cell_tests import cell_tests, start_test

    with pytest.raises(FormulateError, match="more than a year before the campaign"):
        start_test(campaign, batch, "B1", "li_symmetric_life", at=datetime(1, 1, 2, tzinfo=UTC))
    assert cell_tests(campaign, batch).empty


# --- accepted wrongly before ------------------------------------------------------------------


def test_ids_are_compared_after_unicode_normalisation(
    campaign: Campaign, batch: Store, tmp_path: Path
) -> None:
    nfc, nfd = "Caf\u00e9", "Cafe\u0301"
    row = "cluster_chain,5,PEO,THF_DCM,0.5,16"
    head = "membrane,filler,filler_wt_pct,polymer,solvent,thf_fraction,eo_li_ratio"
    import_table(campaign, batch, write(tmp_path, f"{head}\n{nfc},{row}\n"))
    with pytest.raises(FormulateError, match="duplicate membrane id"):
        import_table(
            campaign, batch, write(tmp_path, f"{head}\n{nfd},{row.replace('5', '6', 1)}\n")
        )
    import_table(campaign, batch, write(tmp_path, f"membrane,ionic_conductivity\n{nfd},0.3\n"))
    assert (rows(batch, campaign).index == nfc).sum() == 1
    assert current(batch, campaign, "ionic_conductivity")[nfc] == pytest.approx(3e-4)


@pytest.mark.parametrize("hidden", ["\u200b", "\u202e", "\ufeff", "\u2066"])
def test_invisible_and_bidi_characters_in_ids_are_refused(
    campaign: Campaign, batch: Store, tmp_path: Path, hidden: str
) -> None:
    head = "membrane,filler,filler_wt_pct,polymer,solvent,thf_fraction,eo_li_ratio"
    path = write(tmp_path, f"{head}\nM{hidden}1,cluster_chain,5,PEO,THF_DCM,0.5,16\n")
    with pytest.raises(FormulateError) as err:
        import_table(campaign, batch, path)
    assert f"invisible or text-direction character (U+{ord(hidden):04X})" in err.value.message()
    assert "M1" not in "".join(rows(batch, campaign).index)


def test_a_long_file_with_one_key_twice_names_both_rows(
    campaign: Campaign, batch: Store, tmp_path: Path
) -> None:
    table = "membrane,property,value\nB1,ionic_conductivity,0.3\nB2,t+,0.4\nB1,conductivity,0.5\n"
    with pytest.raises(FormulateError) as err:
        import_table(campaign, batch, write(tmp_path, table))
    said = err.value.message()
    assert (
        "results.csv row 4, column value" in said and "another value in results.csv row 2" in said
    )
    assert current(batch, campaign, "ionic_conductivity").get("B1") is None


def test_import_takes_surprising_values_when_confirmed(
    campaign: Campaign, batch: Store, tmp_path: Path, capsys
) -> None:
    path = write(tmp_path, "membrane,ionic_conductivity\nB1,250\n")
    args = ["import", "--db", batch.url, str(campaign.folder), str(path)]
    assert main(args) == 2
    assert "--surprising" in capsys.readouterr().err
    assert main([*args, "--surprising"]) == 0
    assert current(batch, campaign, "ionic_conductivity")["B1"] == pytest.approx(0.25)


# --- numbers and words a person reads -------------------------------------------------------


def test_the_history_shows_display_units_and_what_became_of_each_value(
    campaign: Campaign, batch: Store
) -> None:
    from formulate.report.display import history_view

    for value in ("0.45", "0.5"):
        code = main(
            ["log", "--db", batch.url, str(campaign.folder), "B1", "ionic_conductivity", value]
        )
        assert code == 0
    view = history_view(campaign, batch.measurements(campaign.name, history=True))
    b1 = view[view["membrane"] == "B1"]
    assert b1["value"].tolist() == ["0.45", "0.5"] and set(b1["unit"]) == {"mS/cm"}
    assert b1["state"].tolist() == ["superseded", "current"]
    assert b1["property"].tolist() == ["conductivity", "conductivity"]
    cpcse = view[(view["membrane"] == "CPCSE") & (view["property"] == "Li|Li life")]
    assert cpcse["value"].iloc[0] == ">= 1500" and cpcse["unit"].iloc[0] == "h"


def test_a_row_provenance_is_that_of_its_current_values(
    campaign: Campaign, batch: Store, tmp_path: Path
) -> None:
    from formulate.data import campaign_table
    from formulate.report.summary import membrane_view

    import_table(
        campaign,
        batch,
        write(tmp_path, "membrane,t+,Conductivity\nB1,0.4,0.3\nB2,0.5,\n"),
        provenance="emulated",
    )
    main(["log", "--db", batch.url, str(campaign.folder), "B1", "ionic_conductivity", "0.35"])
    main(["log", "--db", batch.url, str(campaign.folder), "B2", "transference_number", "0.45"])
    view = membrane_view(campaign, campaign_table(campaign, batch), wide=True).set_index("membrane")
    assert view.loc["B1", "provenance"] == "mixed: emulated, measured"
    assert view.loc["B2", "provenance"] == "measured"  # its one value was logged by hand
    assert view.loc["B3", "provenance"] == "proposed"  # no value yet
    assert view.loc["CPCSE", "provenance"] == "stated"


def test_status_shows_the_newest_rows_and_says_how_many_it_left_out(
    campaign: Campaign, batch: Store, capsys
) -> None:
    assert main(["status", "--db", batch.url, str(campaign.folder), "--rows", "2"]) == 0
    said = capsys.readouterr().out
    assert "the newest 2 of 6 (--rows 0: all)" in " ".join(said.split())
    assert " B3 " in said and " B2 " in said and " PPSE " not in said


def test_show_gives_reference_values_in_display_units(campaign: Campaign, capsys) -> None:
    assert main(["show", str(campaign.folder)]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "maximize conductivity (ionic_conductivity) [mS/cm]" in said
    assert "reference 0.01 mS/cm (1e-05 S/cm in the file)" in said


def test_no_chance_to_beat_a_best_at_its_physical_bound(campaign: Campaign) -> None:
    from formulate.plan.explain import at_bound

    assert at_bound(campaign, "transference_number", 1, 1.0)  # t+ = 1 cannot be beaten
    assert not at_bound(campaign, "transference_number", 1, 0.998)
    assert not at_bound(campaign, "ionic_conductivity", 1, 0.1)  # no upper bound


def test_a_reason_that_balances_says_nothing_is_predicted_to_beat_its_best(
    campaign: Campaign,
) -> None:
    import numpy as np

    from formulate.plan.explain import _reason

    gains = {  # (improvement, uncertainty) in spreads: every mean below its best, sure of it
        "ionic_conductivity": (np.array([-2.0]), np.array([0.1])),
        "transference_number": (np.array([-0.5]), np.array([0.1])),
    }
    best = {"ionic_conductivity": 5.2e-4, "transference_number": 0.62}
    rec = {
        "ionic_conductivity_mean": 1.14e-4, "ionic_conductivity_chance": 0.01,
        "transference_number_mean": 0.55, "transference_number_chance": 0.2,
    }  # fmt: skip
    text = _reason(campaign, gains, best, rec, 0)
    assert text.startswith("balances the objectives (none is predicted to beat its best so far)")
    assert "close to" not in text
    assert "conductivity 1% (0.114 vs 0.52 mS/cm)" in text and "t+ 20% (0.55 vs 0.62)" in text

    alone = {"ionic_conductivity": gains["ionic_conductivity"]}  # one objective: no balance
    text = _reason(campaign, alone, best, rec, 0)
    assert text.startswith("the largest expected gain on the best conductivity so far, though")
    assert "balances" not in text and text.endswith("(0.114 vs 0.52 mS/cm)")


def test_the_virtual_lab_results_keep_their_s_per_cm(campaign: Campaign, db_url: str) -> None:
    """The virtual lab says its bare numbers are canonical (``canonical_units``): a closed
    loop stores them as S/cm, not as a thousand times less."""
    from formulate.lab.run import run_campaign
    from formulate.lab.virtual import VirtualLab
    from formulate.plan.planner import Request

    store = open_store(campaign, db_url)
    result = run_campaign(campaign, store, VirtualLab(seed=2), 1, Request(batch_size=4), rid="u")
    made = result.table[result.table["batch"] == 1]["ionic_conductivity"].dropna()
    assert len(made) >= 2 and made.min() > 1e-6  # S/cm: the virtual lab gives 0.001-1 mS/cm
