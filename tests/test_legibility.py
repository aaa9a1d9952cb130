"""Numbers and tables as a battery scientist reads them: mS/cm, three significant digits, tables
that fit 80 columns, lab notation read (and said back), proposals at a lab's precision."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from formulate.cli import main
from formulate.data import open_store, plan_import
from formulate.errors import FormulateError
from formulate.plan.pool import candidate_pool, resolution
from formulate.report.display import csv_text
from formulate.report.summary import membrane_view, objective_view
from formulate.spec.campaign import Campaign, campaign_from_dict, init_campaign, load_campaign
from formulate.units import lab_notation, parse_value, round_significant, significant


@pytest.mark.parametrize(
    "value, text",
    [(0.52, "0.52"), (1500.0, "1500"), (0.000123456, "0.000123"), (8.8936, "8.89"),
     (4.4999999999999996e-05, "4.5e-05"), (1234567.0, "1.23e+06"), (None, ""), (np.nan, "")],
)  # fmt: skip
def test_three_significant_digits_without_float_noise(value: float, text: str) -> None:
    assert significant(value) == text


def test_round_significant_keeps_numbers_and_missing_values() -> None:
    out = round_significant([0.50250001, 8.8936, np.nan, 0.0, 1500.4])
    assert np.allclose(out[[0, 1, 3, 4]], [0.503, 8.89, 0.0, 1500.0]) and np.isnan(out[2])


@pytest.mark.parametrize(
    "cell, canonical, value",
    [
        ("0.31 mS cm-1", "S/cm", 3.1e-4),
        ("3.8×10^-4 S/cm", "S/cm", 3.8e-4),
        ("3.8x10^-4 S/cm", "S/cm", 3.8e-4),
        ("3.8 × 10⁻⁴ S cm⁻¹", "S/cm", 3.8e-4),
        ("0.52 mS·cm−1", "S/cm", 5.2e-4),
        ("1.2 S cm^-1", "S/cm", 1.2),
        ("0.045 mS/cm", "S/cm", 4.5e-5),
    ],
)
def test_lab_notation_for_values(cell: str, canonical: str, value: float) -> None:
    parsed = parse_value(cell, canonical)
    assert parsed.value == value  # exactly: no 0.0005200000000000001 stored
    assert not parsed.censored


def test_lab_notation_leaves_plain_cells_alone() -> None:
    assert lab_notation(">1500 h") == ">1500 h" and lab_notation("5.2e-4") == "5.2e-4"
    with pytest.raises(ValueError, match="not a number"):
        parse_value("about 3", "S/cm")


def test_conductivity_shown_in_mS_per_cm_by_default_and_campaign_can_choose(
    campaign: Campaign,
) -> None:
    assert campaign.display_unit("ionic_conductivity") == "mS/cm"
    assert campaign.to_display("ionic_conductivity", [5.2e-4])[0] == pytest.approx(0.52)
    assert campaign.label("transference_number") == "t+"
    raw = _raw(campaign.folder)
    raw["display_units"] = {"ionic_conductivity": "S/cm", "li_symmetric_life": "day"}
    other = campaign_from_dict(raw, campaign.folder)
    assert other.to_display("ionic_conductivity", [5.2e-4])[0] == pytest.approx(5.2e-4)
    assert other.to_display("li_symmetric_life", [48.0])[0] == pytest.approx(2.0)
    raw["display_units"] = {"ionic_conductivity": "h", "nosuch": "V"}
    with pytest.raises(FormulateError) as err:
        campaign_from_dict(raw, campaign.folder)
    wheres = {p.where for p in err.value.problems}
    assert any("display_units.ionic_conductivity" in w for w in wheres)
    assert any("display_units.nosuch" in w for w in wheres)


def _raw(folder: Path) -> dict:
    import tomllib

    return tomllib.loads((folder / "campaign.toml").read_text())


def test_views_of_the_paper_campaign(campaign: Campaign, tmp_path: Path) -> None:
    spec = init_campaign("v", "cheng2023", tmp_path)
    from formulate.data import campaign_table

    table = campaign_table(spec, open_store(spec))
    objectives = objective_view(spec, table).set_index("objective")
    assert objectives.loc["conductivity", ["unit", "best", "membrane"]].tolist() == [
        "mS/cm",
        "0.52",
        "CPCSE",
    ]
    assert objectives.loc["Li|Li life", "best"] == ">=1500"
    view = membrane_view(spec, table).set_index("membrane")
    assert view.loc["CPCSE", "conductivity [mS/cm]"] == "0.52"
    assert view.loc["PPSE", "awaiting"] == "conductivity, t+"
    assert "filler" not in view and "filler" in membrane_view(spec, table, wide=True)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


@pytest.fixture
def paper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    from formulate.cli.common import out

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(out, "width", 80)  # a terminal of 80 columns
    init_campaign("paper", "cheng2023", tmp_path / "campaigns")
    return "paper"


def test_status_and_propose_read_at_80_columns(
    paper: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = _cli(capsys, "status", paper)
    assert max(len(line) for line in status.splitlines()) <= 80
    assert "…" not in status  # nothing cut off
    assert "0.52" in status and "mS/cm" in status and ">=1500" in status
    proposed = _cli(capsys, "propose", paper, "--batch", "2", "--dry-run")
    assert max(len(line) for line in proposed.splitlines()) <= 80
    assert "…" not in proposed and proposed.count("why: warm-up") == 2


def test_status_and_propose_as_csv_and_json(
    paper: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    frame = pd.read_csv(io.StringIO(_cli(capsys, "status", paper, "--format", "csv")))
    assert "conductivity [mS/cm]" in frame and "filler" in frame
    assert frame.set_index("membrane").loc["CPCSE", "conductivity [mS/cm]"] == 0.52
    out = tmp_path / "batch.csv"
    printed = _cli(capsys, "propose", paper, "--batch", "2", "-o", str(out), "--format", "json")
    assert [r["membrane"] for r in json.loads(printed)] == ["B1-1", "B1-2"]
    written = pd.read_csv(out)
    assert written["membrane"].tolist() == ["B1-1", "B1-2"] and (written["batch"] == 1).all()
    assert out.read_text().splitlines()[1].split(",")[:2] == ["B1-1", "1"]  # not "1.0"


LAB_CSV = """Membrane ID,Filler,filler_wt_pct,Polymer,Solvent,thf_fraction,EO:Li,Conductivity (mS/cm),t+,Li|Li life [h]
M1,cluster chain,8 wt%,peo,THF/DCM,0.5,16,0.31,0.55,>900
M2,None,0,PEO,thf-dcm,0.5 v/v,12,3.8×10^-4 S/cm,0.4,300
"""  # noqa: E501


def test_lab_notation_import_is_read_and_said_back(campaign: Campaign) -> None:
    frame = pd.read_csv(io.StringIO(LAB_CSV), dtype=str, keep_default_na=False)
    plan = plan_import(campaign, None, frame, source="lab.csv")
    assert plan.problems == []
    lines = plan.readings.lines()
    assert "column 't+' read as transference_number" in lines
    assert "column 'Conductivity (mS/cm)' read as ionic_conductivity [mS/cm]" in lines
    assert "'THF/DCM' in solvent read as THF_DCM" in lines
    assert "filler_wt_pct 0 read as absent (inactive for these levels)" in lines
    made = {m.membrane: m.formulation for m in plan.membranes}
    assert made["M1"]["filler"] == "cluster_chain" and made["M1"]["filler_wt_pct"] == 8.0
    assert made["M2"]["filler_wt_pct"] is None and made["M2"]["thf_fraction"] == 0.5
    values = {(m.membrane, m.property): m.value for m in plan.measurements}
    assert values[("M1", "ionic_conductivity")] == 3.1e-4
    assert values[("M2", "ionic_conductivity")] == 3.8e-4


def test_lab_notation_does_not_guess(campaign: Campaign) -> None:
    text = LAB_CSV.replace("cluster chain", "cluster").replace("Polymer", "Polymr")
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    plan = plan_import(campaign, None, frame, source="lab.csv")
    wheres = [p.where for p in plan.problems]
    assert "lab.csv, column Polymr" in wheres  # unknown column, named as written
    assert "lab.csv row 2, column filler" in wheres  # 'cluster' is no level
    fixes = " ".join(p.fix for p in plan.problems)
    assert fixes.count("ionic_conductivity") <= 1  # no 28-name list per problem


def test_proposals_at_a_labs_precision(campaign: Campaign) -> None:
    assert resolution(0.0, 1.0) == 0.01 and resolution(6.0, 30.0) == 0.1
    pool = candidate_pool(campaign.space, 256, seed=1)
    for name, step in (("thf_fraction", 0.01), ("eo_li_ratio", 0.1)):
        x = pool[name].dropna().to_numpy()
        assert np.allclose(np.round(x / step) * step, x, atol=1e-12), name
        assert all(len(repr(float(v)).split(".")[-1]) <= 2 for v in x), name  # no 8.8936 or 0.5025


def test_a_new_campaign_starts_blank(tmp_path: Path) -> None:
    spec = init_campaign("mylab", folder=tmp_path)
    assert spec.title == "mylab" and spec.seed_data == ()
    assert load_campaign(tmp_path / "mylab").display_unit("ionic_conductivity") == "mS/cm"
    assert open_store(spec).membranes("mylab").empty


def test_csv_text_drops_float_noise() -> None:
    frame = pd.DataFrame({"x": [4.4999999999999996e-05, 0.1 + 0.2]})
    assert csv_text(frame).splitlines()[1:] == ["4.5e-05", "0.3"]


def test_a_campaign_maps_its_own_column_names(campaign: Campaign) -> None:
    raw = _raw(campaign.folder)
    raw["columns"] = {
        "ionic_conductivity": "Conductivity (measured) (mS/cm)",
        "transference_number": "Bruce-Vincent t+ (measured)",
        "eo_li_ratio": "Salt ratio [EO/Li]",
    }
    mapped = campaign_from_dict(raw, campaign.folder)
    text = (
        "membrane,filler,filler_wt_pct,polymer,solvent,thf_fraction,Salt ratio [EO/Li],"
        "Conductivity (measured) (mS/cm),Bruce-Vincent t+ (measured)\n"
        "M1,cluster_chain,2.5,PEO,THF_DCM,0.5,16,0.52,0.62\n"
    )
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    plan = plan_import(mapped, None, frame, source="past.csv")
    assert plan.problems == []
    values = {m.property: m.value for m in plan.measurements}
    assert values == {"ionic_conductivity": 5.2e-4, "transference_number": 0.62}  # mS/cm read
    assert plan.membranes[0].formulation["eo_li_ratio"] == 16.0
    assert any("the campaign's [columns]" in line for line in plan.readings.lines())
    raw["columns"] = {"nosuch": "X"}
    with pytest.raises(FormulateError, match="has errors"):
        campaign_from_dict(raw, campaign.folder)


def test_a_pool_with_mapped_columns_backtests(campaign: Campaign, tmp_path: Path) -> None:
    from formulate.backtest.oracles import load_pool
    from formulate.lab.plugins import measure_formulations

    raw = _raw(campaign.folder)
    raw["columns"] = {"ionic_conductivity": "Conductivity (measured) (S/cm)"}
    raw["objectives"] = [o for o in raw["objectives"] if o["property"] == "ionic_conductivity"]
    raw["strategy"].pop("acquisition")  # one objective: qlognei, not the template's qlognehvi
    raw.pop("seed_data")
    mapped = campaign_from_dict(raw, campaign.folder)
    rows = pd.DataFrame(campaign.space.sample(12, seed=5))
    rows.insert(0, "membrane", [f"P{i}" for i in range(12)])
    sigma = measure_formulations(campaign, rows, seed=1, noise=False)["ionic_conductivity [S/cm]"]
    rows["Conductivity (measured) (S/cm)"] = sigma.to_numpy()
    rows.to_csv(tmp_path / "past.csv", index=False)
    pool = load_pool(mapped, tmp_path / "past.csv")
    formed = sigma.dropna()  # rows whose film failed have no conductivity
    assert len(pool) == len(formed) > 5
    assert np.allclose(np.sort(pool["ionic_conductivity"]), np.sort(formed))
