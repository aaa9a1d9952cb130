"""A campaign inferred from a table of past experiments: kinds, grids, levels, objectives and
column names, checked by reading the same table back."""

from __future__ import annotations

from pathlib import Path

import pytest

from formulate.cli import main
from formulate.data import campaign_table, import_table, open_store
from formulate.errors import FormulateError
from formulate.spec.variables import Categorical, Continuous, Discrete

PAST = """Sample,Salt,Salt conc (mol/kg),Temperature (C),Filler wt%,Conductivity (mS/cm),t+,Note
S1,LiTFSI,0.5,25,0,0.12,0.31,first
S2,LiFSI,1.0,25,5,0.45,0.40,
S3,LiTFSI,2.0,40,10,1.1,0.28,
S4,LiClO4,0.25,60,5,0.03,0.22,dried twice
S5,LiFSI,1.5,40,10,0.9,0.35,
"""


def test_a_campaign_inferred_from_a_table_imports_that_table(tmp_path: Path) -> None:
    from formulate.data.infer import infer_campaign

    csv = tmp_path / "past.csv"
    csv.write_text(PAST.replace(",Note", "").replace(",first", "").replace(",dried twice", "")
                   .replace(",\n", "\n"))  # fmt: skip
    spec = infer_campaign("past", csv, ["Conductivity (mS/cm)", "t+"], [], tmp_path)
    space = spec.space.variables
    assert isinstance(space["Salt"], Categorical)
    assert set(space["Salt"].levels) == {"LiTFSI", "LiFSI", "LiClO4"}
    assert isinstance(space["salt_conc_mol_kg"], Continuous)
    assert (
        space["salt_conc_mol_kg"].bounds == (0.25, 2.0)
        and space["salt_conc_mol_kg"].unit == "mol/kg"
    )
    grid = space["filler_wt"]
    assert isinstance(grid, Discrete) and grid.grid == (0.0, 5.0, 10.0)
    assert [(o.property, o.transform) for o in spec.objectives] == [
        ("ionic_conductivity", "log10"),
        ("transference_number", "logit"),
    ]
    assert spec.columns["filler_wt"] == "Filler wt%"
    store = open_store(spec)
    import_table(spec, store, csv)  # the same table, as it is, imports into it
    table = campaign_table(spec, store).set_index("membrane")
    assert table.loc["S3", "ionic_conductivity"] == pytest.approx(1.1e-3)  # mS/cm read
    assert table.loc["S4", "salt_conc_mol_kg"] == 0.25


def test_inference_refuses_what_it_cannot_do_and_writes_nothing(tmp_path: Path) -> None:
    from formulate.data.infer import infer_campaign

    csv = tmp_path / "past.csv"
    csv.write_text(PAST)
    with pytest.raises(FormulateError) as err:
        infer_campaign("c", csv, ["Conductivity"], [], tmp_path)
    assert "past.csv, column Conductivity" in err.value.problems[0].where
    with pytest.raises(FormulateError, match="no campaign inferred"):
        infer_campaign("c", csv, [], [], tmp_path)
    assert not (tmp_path / "c").exists()


def test_the_cli_infers_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "past.csv").write_text(PAST)
    args = ["init", "past", "--from-csv", "past.csv", "--objective", "Conductivity (mS/cm)"]
    assert main([*args, "--minimize", "t+"]) == 0
    out = capsys.readouterr().out
    assert "Inferred campaign past" in out and "minimize t+ (transference_number)" in out
    assert "Note" not in out.split("Objectives")[0]  # a notes column is no variable
    assert "reads as free text: left out" in (tmp_path / "campaigns/past/campaign.toml").read_text()
    assert main(args) == 2  # the folder exists now


def test_a_positive_range_spanning_decades_is_inferred_on_a_log_scale(tmp_path: Path) -> None:
    from formulate.data.infer import infer_campaign
    from formulate.lab.salt_lab import pool

    csv = tmp_path / "salts.csv"
    pool().rename(columns={"molality [mol/kg]": "Molality (mol/kg)"}).to_csv(csv, index=False)
    spec = infer_campaign("salts", csv, ["ionic_conductivity [S/cm]"], [], tmp_path)
    molality = spec.space.variables["molality_mol_kg"]
    assert isinstance(molality, Continuous) and molality.scale == "log"
    salt = spec.space.variables["salt"]
    assert isinstance(salt, Categorical) and salt.levels_file == "formulate:lithium_salts"
    assert len(salt.levels) == 24 and "anion_volume_A3" in salt.levels["LiTFSI"]  # descriptors
    temperature = spec.space.variables["temperature_c"]
    assert temperature.scale == "linear"  # 25-80 C: not decades
