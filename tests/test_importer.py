# ruff: noqa: E501  (CSV fixtures are kept one row per line)
"""Import is all or nothing with every problem named; export reproduces the data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from formulate.data import (
    Store,
    campaign_table,
    export_measurements,
    export_table,
    import_table,
    open_store,
)
from formulate.errors import FormulateError
from formulate.report.display import csv_text
from formulate.spec.campaign import Campaign

GOOD = """membrane,filler,filler_wt_pct,polymer,solvent,thf_fraction,eo_li_ratio,ionic_conductivity,li_symmetric_life,li_symmetric_life_censored
N1,cluster_chain,5,PEO,THF_DCM,0.4,14,0.31 mS/cm,>900 h,
N2,nanowire,7.5,PEO,ACN,,18,1.1e-4,250,false
N3,none,,PEO,DMF,,20,2e-5 S/cm,600,true
"""

BAD = """membrane,filler,filler_wt_pct,polymer,solvent,thf_fraction,eo_li_ratio,ionic_conductivity,transference_number,colour
B1,cluster_chain,5,PEO,THF_DCM,0.4,14,1e-4,0.5,
B2,nanorod,5,PEO,THF_DCM,0.4,14,1e-4,0.5,
B3,cluster_chain,25,PEO,THF_DCM,0.4,14,1e-4,0.5,
B4,none,5,PEO,THF_DCM,0.4,14,1e-4,0.5,
B5,nanowire,,PEO,THF_DCM,0.4,14,1e-4,0.5,
B1,cluster_chain,5,PEO,THF_DCM,0.4,14,1e-4,0.5,
B7,cluster_chain,5,PEO,THF_DCM,0.4,14,fast,0.5,
B8,cluster_chain,5,PEO,THF_DCM,0.4,14,1e-4,1.3,
B9,cluster_chain,5,PEO,THF_DCM,0.4,14,-1e-4,0.5,
B10,cluster_chain,5,PAN,THF_DCM,0.4,14,1e-4,0.5,
"""


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


def test_import_parses_units_and_censoring(
    campaign: Campaign, store: Store, tmp_path: Path
) -> None:
    plan = import_table(campaign, store, write(tmp_path, "runs.csv", GOOD))
    assert len(plan.membranes) == 3 and len(plan.measurements) == 6
    table = campaign_table(campaign, store).set_index("membrane")
    assert table.loc["N1", "ionic_conductivity"] == pytest.approx(3.1e-4)
    assert table.loc["N1", "li_symmetric_life"] == 900
    assert table.loc["N1", "li_symmetric_life_censored"]
    assert not table.loc["N2", "li_symmetric_life_censored"]
    assert table.loc["N3", "li_symmetric_life_censored"]
    assert pd.isna(table.loc["N2", "thf_fraction"]) and pd.isna(table.loc["N3", "filler_wt_pct"])
    meas = store.measurements("cheng2023")
    assert set(meas.loc[meas["source"] == "runs.csv", "provenance"]) == {"imported"}


def test_bad_import_lists_every_row_and_column_and_writes_nothing(
    campaign: Campaign, store: Store, tmp_path: Path
) -> None:
    before = (len(store.membranes("cheng2023")), len(store.measurements("cheng2023")))
    with pytest.raises(FormulateError) as info:
        import_table(campaign, store, write(tmp_path, "bad.csv", BAD))
    text = info.value.message()
    expected = [
        "bad.csv, column colour: unknown column",
        "bad.csv row 3, column filler: unknown level 'nanorod'",
        "bad.csv row 4, column filler_wt_pct: 25 is above the upper bound",
        "bad.csv row 5, column filler_wt_pct: set to '5' but only exists when filler is",
        "bad.csv row 6, column filler_wt_pct: missing",
        "bad.csv row 2, column membrane: duplicate membrane id 'B1' in the file",
        "bad.csv row 7, column membrane: duplicate membrane id 'B1' in the file",
        "bad.csv row 8, column ionic_conductivity: 'fast' is not a number",
        "bad.csv row 9, column transference_number: transference_number 1.3 is outside its physical range 0 to 1",
        "bad.csv row 10, column ionic_conductivity: ionic_conductivity -0.0001 mS/cm is outside its physical range >= 0 mS/cm",
        "bad.csv row 11: forbidden combination: polymer PVDF_HFP/PAN with solvent THF_DCM",
    ]
    for line in expected:
        assert line in text, line
    assert "fix:" in text
    after = (len(store.membranes("cheng2023")), len(store.measurements("cheng2023")))
    assert after == before


def test_existing_membrane_rows_add_outcomes_but_not_a_new_formulation(
    campaign: Campaign, store: Store, tmp_path: Path
) -> None:
    import_table(campaign, store, write(tmp_path, "a.csv", GOOD))
    later = "membrane,transference_number,li_symmetric_life\nN1,0.41,1200 h\n"
    import_table(campaign, store, write(tmp_path, "later.csv", later))
    table = campaign_table(campaign, store).set_index("membrane")
    assert table.loc["N1", "transference_number"] == 0.41
    assert table.loc["N1", "li_symmetric_life"] == 1200
    assert not table.loc["N1", "li_symmetric_life_censored"]  # the cell has now failed
    clash = (
        "membrane,filler,filler_wt_pct,polymer,solvent,thf_fraction,eo_li_ratio\n"
        "N1,nanowire,5,PEO,THF_DCM,0.4,14\n"
    )
    with pytest.raises(FormulateError, match="duplicate membrane id 'N1': already in the campaign"):
        import_table(campaign, store, write(tmp_path, "clash.csv", clash))


def test_long_format_for_existing_membranes(campaign: Campaign, store: Store) -> None:
    long = pd.DataFrame(
        {
            "membrane": ["CPCSE", "CNCSE"],
            "property": ["crystallinity"] * 2,
            "value": ["0.21", "0.35"],
            "method": ["XRD", "XRD"],
        }
    )
    import_table(campaign, store, long, provenance="measured")
    table = campaign_table(campaign, store).set_index("membrane")
    assert table.loc["CPCSE", "crystallinity"] == 0.21
    bad = pd.DataFrame({"membrane": ["nobody"], "property": ["crystallinity"], "value": ["0.2"]})
    with pytest.raises(FormulateError, match="unknown membrane 'nobody'"):
        import_table(campaign, store, bad)


def test_export_then_import_reproduces_the_data(
    campaign: Campaign, store: Store, tmp_path: Path
) -> None:
    import_table(campaign, store, write(tmp_path, "runs.csv", GOOD))
    exported = tmp_path / "export.csv"
    exported.write_text(csv_text(export_table(campaign, store)))
    header, *rows = exported.read_text().splitlines()
    assert "ionic_conductivity [mS/cm]" in header  # as a lab reads it; the import converts
    assert not any("000000" in row or ".0," in row for row in rows)  # no float noise, batch 1
    fresh = Store(f"sqlite:///{tmp_path / 'fresh.db'}")  # no seed: import everything
    import_table(campaign, fresh, exported)
    old = campaign_table(campaign, store).set_index("membrane").sort_index()
    new = campaign_table(campaign, fresh).set_index("membrane").sort_index()
    pd.testing.assert_frame_equal(
        old.drop(columns="status"), new.drop(columns="status"), check_dtype=False
    )
    assert set(new.loc[["PPSE", "CPCSE"], "provenance"]) == {"stated"}


def test_export_measurements_keeps_provenance_and_history(campaign: Campaign, store: Store) -> None:
    frame = export_measurements(campaign, store)
    assert set(frame["provenance"]) == {"stated"}
    assert {"superseded", "source", "note", "recorded_at"} <= set(frame.columns)


def test_unreadable_file_is_a_clear_error(campaign: Campaign, store: Store, tmp_path: Path) -> None:
    with pytest.raises(FormulateError, match="no file"):
        import_table(campaign, store, tmp_path / "missing.csv")
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(FormulateError, match="not a UTF-8 CSV"):
        import_table(campaign, store, binary)


def test_seed_failure_writes_nothing(campaign_dir: Path, tmp_path: Path) -> None:
    from formulate.spec.campaign import load_campaign

    (campaign_dir / "paper_measurements.csv").write_text(
        "membrane,property,value\nCPCSE,ionic_conductivity,-1\n"
    )
    spec = load_campaign(campaign_dir)
    with pytest.raises(FormulateError, match="nothing was imported") as err:
        open_store(spec, f"sqlite:///{tmp_path / 's.db'}")
    assert err.value.problems[0].where == "paper_measurements.csv row 2, column value"
    assert "ionic_conductivity -1 mS/cm is outside its physical range" in err.value.problems[0].what
    assert Store(f"sqlite:///{tmp_path / 's.db'}").membranes("cheng2023").empty


def test_a_column_the_file_lacks_is_one_problem_not_one_per_row(
    campaign: Campaign, store: Store, tmp_path: Path
) -> None:
    """New membranes without a ``solvent`` column: one problem naming the file's columns,
    no "missing" per row; the rows' other problems are still listed."""
    body = BAD.replace(",solvent,", ",").replace(",THF_DCM,", ",")
    before = len(store.membranes("cheng2023"))
    with pytest.raises(FormulateError) as info:
        import_table(campaign, store, write(tmp_path, "nosolvent.csv", body))
    wheres = [(p.where, p.what) for p in info.value.problems]
    lacking = [w for w in wheres if "no column 'solvent'" in w[1]]
    assert len(lacking) == 1 and lacking[0][0] == "nosolvent.csv"
    assert "the file's columns: membrane, filler" in lacking[0][1]
    assert not [w for w in wheres if w[0].endswith("column solvent")]
    assert ("nosolvent.csv row 3, column filler", "unknown level 'nanorod'") in wheres
    assert len(store.membranes("cheng2023")) == before
