"""Lab plug-ins: virtual, Python callable, external command; failures lose nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from formulate.data import Store, campaign_table, import_table
from formulate.errors import FormulateError
from formulate.lab.plugins import measure_formulations, record_results, resolve_lab
from formulate.spec.campaign import Campaign
from formulate.testing import formulation

BATCH = pd.DataFrame(
    [
        {"membrane": "P1", **formulation(filler_wt_pct=5.0)},
        {"membrane": "P2", **formulation(polymer="PAN", solvent="DMF", thf_fraction=None)},
    ]
)

SENT = {"P1", "P2"}


@pytest.fixture
def pending(campaign: Campaign, store: Store) -> Store:
    import_table(campaign, store, BATCH)
    return store


def partial_lab(batch: pd.DataFrame) -> pd.DataFrame:
    """A plug-in that has conductivity now and life later (still running)."""
    return pd.DataFrame(
        {
            "membrane": batch["membrane"],
            "ionic_conductivity [mS/cm]": [0.4, 0.05],
            "li_symmetric_life": [">300 h", ""],
        }
    )


def broken_lab(batch: pd.DataFrame) -> pd.DataFrame:
    raise RuntimeError("potentiostat offline")


def test_virtual_lab_results_are_recorded_as_emulated(campaign: Campaign, pending: Store) -> None:
    lab = resolve_lab("virtual", campaign, seed=0, noise=False)
    results = lab.measure(BATCH)
    n = record_results(campaign, pending, results, lab.provenance, "virtual", SENT)
    values = results.drop(columns=["membrane", "li_symmetric_life_censored"])
    assert n == int(values.notna().sum().sum())  # every outcome the lab returned, once
    logged = pending.measurements("cheng2023")
    assert len(logged[logged["membrane"].isin(BATCH["membrane"])]) == n
    table = campaign_table(campaign, pending).set_index("membrane")
    assert table.loc["P1", "status"] == "measured" and table.loc["P1", "ionic_conductivity"] > 0
    meas = pending.measurements("cheng2023")
    assert set(meas.loc[meas["membrane"].isin(["P1", "P2"]), "provenance"]) == {"emulated"}


def test_python_callable_with_partial_and_censored_results(
    campaign: Campaign, pending: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mylab", sys.modules[__name__])
    lab = resolve_lab("mylab:partial_lab")
    record_results(campaign, pending, lab.measure(BATCH), lab.provenance, "mylab", SENT)
    table = campaign_table(campaign, pending).set_index("membrane")
    assert table.loc["P1", "ionic_conductivity"] == pytest.approx(4e-4)
    assert table.loc["P1", "li_symmetric_life"] == 300
    assert table.loc["P1", "li_symmetric_life_censored"]
    assert pd.isna(table.loc["P2", "li_symmetric_life"])


def test_failing_callable_records_nothing(
    campaign: Campaign, pending: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mylab", sys.modules[__name__])
    with pytest.raises(FormulateError, match="potentiostat offline"):
        resolve_lab("mylab:broken_lab").measure(BATCH)
    with pytest.raises(FormulateError, match="cannot load lab plug-in"):
        resolve_lab("mylab:missing_function")


def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "robot.py"
    path.write_text(body)
    return f"cmd:{sys.executable} {path}"


def test_external_command(campaign: Campaign, pending: Store, tmp_path: Path) -> None:
    spec = script(
        tmp_path,
        """
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
with open(sys.argv[2], "w") as f:
    f.write("membrane,ionic_conductivity,film_formed\\n")
    for r in rows:
        failed = r["polymer"] == "PAN"
        f.write(f"{r['membrane']},{'' if failed else '0.2'},{0 if failed else 1}\\n")
""",
    )
    lab = resolve_lab(spec)
    record_results(campaign, pending, lab.measure(BATCH), lab.provenance, "robot", SENT)
    table = campaign_table(campaign, pending).set_index("membrane")
    assert table.loc["P1", "ionic_conductivity"] == 2e-4
    assert table.loc["P2", "status"] == "failed"


def test_failing_command_and_bad_rows_record_nothing(
    campaign: Campaign, pending: Store, tmp_path: Path
) -> None:
    before = len(pending.measurements("cheng2023"))
    jam = "import sys; sys.stderr.write('arm jammed'); sys.exit(3)"
    crash = resolve_lab(script(tmp_path, jam))
    with pytest.raises(FormulateError, match=r"(?s)exited with code 3.*arm jammed"):
        crash.measure(BATCH)
    silent = resolve_lab(script(tmp_path, "pass"))
    with pytest.raises(FormulateError, match="wrote no results"):
        silent.measure(BATCH)
    bad = pd.DataFrame({"membrane": ["P1", "P9"], "ionic_conductivity": ["-1", "2e-4"]})
    with pytest.raises(FormulateError) as info:
        record_results(campaign, pending, bad, "measured", "robot.csv", SENT)
    text = info.value.message()
    assert "unknown membrane 'P9'" in text and "physical range >= 0" in text
    assert len(pending.measurements("cheng2023")) == before


def test_measure_formulations_validates_everything_first(campaign: Campaign) -> None:
    bad = pd.DataFrame([formulation(filler="none"), formulation(polymer="PAN")])
    with pytest.raises(FormulateError) as info:
        measure_formulations(campaign, bad, source="f.csv")
    assert len(info.value.problems) == 2
    good = measure_formulations(campaign, pd.DataFrame([formulation()]), noise=False)
    assert list(good["membrane"]) == ["F1"]
    assert good.loc[0, "ionic_conductivity [S/cm]"] == pytest.approx(5.2e-4, rel=0.1)


def test_unknown_lab_spec() -> None:
    with pytest.raises(FormulateError, match="unknown lab"):
        resolve_lab("robot")


def test_results_for_membranes_not_sent_are_refused_and_change_nothing(
    campaign: Campaign, pending: Store
) -> None:
    """A plug-in that answers for the paper's CPCSE (not in the batch) must not supersede its
    stated 5.2e-4 S/cm."""
    before = pending.measurements("cheng2023", history=True)
    rogue = pd.DataFrame({"membrane": ["P1", "CPCSE"], "ionic_conductivity": ["2e-4", "1e-7"]})
    with pytest.raises(FormulateError) as info:
        record_results(campaign, pending, rogue, "measured", "robot.csv", SENT)
    assert "robot.csv row 3, column membrane: 'CPCSE' was not sent to the lab" in str(info.value)
    after = pending.measurements("cheng2023", history=True)
    pd.testing.assert_frame_equal(before, after)
    cpcse = after[
        (after["membrane"] == "CPCSE")
        & (after["property"] == "ionic_conductivity")
        & (after["temperature_C"] == 25)
    ]
    assert cpcse["value"].tolist() == [5.2e-4]
