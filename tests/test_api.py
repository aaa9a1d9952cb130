"""The Python API a notebook uses: open, propose, accept, log, pareto, status, schedule,
diagnose; the same rules and messages as the CLI, on both stores."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import formulate
from formulate.data.cells import canonical_headers
from formulate.testing import TEMPLATE, emulated


@pytest.fixture
def lab(tmp_path: Path, db_url: str) -> formulate.OpenCampaign:
    shutil.copytree(TEMPLATE, tmp_path / "campaigns" / "cheng2023")
    return formulate.open(tmp_path / "campaigns" / "cheng2023", db=db_url)


def test_the_names_a_notebook_uses_are_exported() -> None:
    assert {"open", "OpenCampaign", "FormulateError", "Problem", "Campaign"} <= set(
        formulate.__all__
    )
    assert all(hasattr(formulate, name) for name in formulate.__all__)


def test_a_campaign_from_its_first_batch_to_its_results(lab: formulate.OpenCampaign) -> None:
    assert lab.status()["membranes"] == 3  # the paper's, seeded
    batch = lab.propose(3, seed=1)
    assert len(batch) == 3 and batch["reason"].str.len().gt(0).all()
    assert lab.status()["membranes"] == 3  # proposing stores nothing
    stored = lab.accept(batch)
    ids = stored["membrane"].tolist()
    assert ids == ["B1-1", "B1-2", "B1-3"] and (stored["batch"] == 1).all()
    results = pd.DataFrame(
        {"Membrane": ids, "Conductivity": [0.3, 0.41, ""], "t+": [0.5, 0.55, ""]}
    ).assign(Status=["", "", "failed"], Notes=["", "", "cracked"])
    plan = lab.log(results)
    assert plan.readings["conductivity without a unit read in mS/cm"] == 2
    table = lab.table().set_index("membrane")
    assert table.loc["B1-1", "ionic_conductivity"] == pytest.approx(3e-4)  # 0.3 mS/cm
    assert table.loc["B1-3", "status"] == "failed"
    assert lab.status()["status"]["failed"] == 1
    shown = lab.table(view=True).set_index("membrane")
    assert shown.loc["B1-2", "conductivity [mS/cm]"] == "0.41"


def test_a_bad_row_raises_with_its_fix_and_writes_nothing(lab: formulate.OpenCampaign) -> None:
    before = lab.store.measurements(lab.name, history=True)
    bad = pd.DataFrame({"membrane": ["CPCSE"], "transference_number": ["1.4"]})
    with pytest.raises(formulate.FormulateError) as err:
        lab.log(bad)
    assert err.value.problems[0].where == "DataFrame row 2, column transference_number"
    assert "physical range 0 to 1" in err.value.problems[0].what
    with pytest.raises(formulate.FormulateError, match="nothing was logged"):
        lab.log_value("CPCSE", "ionic_conductivity", "fast")
    with pytest.raises(formulate.FormulateError, match="nothing was accepted"):
        lab.accept(pd.DataFrame({"filler": ["none"]}))
    assert lab.store.measurements(lab.name, history=True).equals(before)


def test_one_value_and_a_failed_film(lab: formulate.OpenCampaign) -> None:
    made = lab.log_value("CNCSE", "ionic_conductivity", 0.2, by="ana", method="EIS")
    assert made.value == pytest.approx(2e-4) and made.unit == "S/cm"
    lab.accept(lab.propose(1, seed=2))
    lab.failed("B1-1", "did not peel")
    assert lab.table().set_index("membrane").loc["B1-1", "status"] == "failed"


def test_retract_and_abandon_keep_the_history(lab: formulate.OpenCampaign) -> None:
    lab.log_value("CNCSE", "ionic_conductivity", 0.2)
    assert lab.retract("CNCSE", "ionic_conductivity", by="ana", reason="wrong cell") == 2e-4
    table = lab.table().set_index("membrane")
    assert pd.isna(table.loc["CNCSE", "ionic_conductivity"])  # the paper states none for it
    history = lab.store.measurements(lab.name, history=True)
    gone = history[history["retracted"] & (history["membrane"] == "CNCSE")]
    assert gone["note"].tolist() == ["wrong cell"] and gone["recorded_by"].tolist() == ["ana"]
    ids = lab.accept(lab.propose(2, seed=3), source="notebook")["membrane"].tolist()
    assert lab.abandon([ids[0]], note="no PEO left") == [ids[0]]
    assert lab.table().set_index("membrane").loc[ids, "status"].tolist() == ["abandoned", "pending"]
    with pytest.raises(formulate.FormulateError):
        lab.abandon(["CPCSE"])  # measured: not open
    assert lab.table().set_index("membrane").loc[ids[1], "status"] == "pending"


def test_pareto_schedule_and_diagnose_on_a_measured_campaign(
    lab: formulate.OpenCampaign,
) -> None:
    made = emulated(lab.campaign, 12, seed=41).drop(columns=["film_formed"])
    lab.log(canonical_headers(lab.campaign, made), provenance="emulated")
    front = lab.pareto()
    assert len(front) >= 1 and front["transference_number"].notna().all()
    scores = lab.diagnose()
    assert set(scores["objective"]) == {o.property for o in lab.campaign.objectives}
    ranked = lab.schedule("li_symmetric_life", 2)
    if ranked.empty:  # every life known: the reason says so
        assert "No membrane to test" in ranked.attrs["why"]
    else:
        assert ranked["reason"].str.len().gt(0).all()


def test_an_unknown_campaign_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(formulate.FormulateError, match="no campaign"):
        formulate.open(tmp_path / "nowhere")


def test_a_backtest_of_past_experiments_from_python(
    lab: formulate.OpenCampaign, tmp_path: Path
) -> None:
    summary = lab.backtest(
        lab.campaign.folder / "filler_ratio.csv",
        strategies=("qlognei", "random"),
        objectives=("ionic_conductivity",),
        seeds=2,
        initial=2,
        budget=5,
        folder=tmp_path / "bt",
        workers=1,
    )
    assert list(summary["strategy"]) == ["qlognei", "random"]
    assert (summary["seeds"] == 2).all()
    assert (tmp_path / "bt" / "backtest.json").is_file()
    with pytest.raises(formulate.FormulateError):
        lab.backtest(tmp_path / "no.csv", seeds=1, folder=tmp_path / "bad", workers=1)
