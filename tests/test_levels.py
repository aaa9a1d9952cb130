"""Level tables: a categorical's levels and descriptors read from a CSV (shipped or the lab's),
validated like an import, and used by the encoder for any categorical."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from formulate.errors import FormulateError
from formulate.model.encoding import Encoder
from formulate.model.physics import LITFSI_MOLAR_MASS
from formulate.report.summary import describe
from formulate.spec.campaign import load_campaign
from formulate.spec.levels import read_level_table, shipped_tables, table_path

CAMPAIGN = """
name = "salts"
[variables.salt]
kind = "categorical"
{salt}
[variables.molality]
kind = "continuous"
unit = "mol/kg"
low = 0.05
high = 3.0
[[objectives]]
property = "ionic_conductivity"
direction = "maximize"
transform = "log10"
"""


def write(folder: Path, salt: str, table: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "campaign.toml").write_text(CAMPAIGN.format(salt=salt), encoding="utf-8")
    if table is not None:
        (folder / "salts.csv").write_text(table, encoding="utf-8")
    return folder


def problems(folder: Path) -> list[str]:
    with pytest.raises(FormulateError) as err:
        load_campaign(folder)
    return [str(p) for p in err.value.problems]


def test_the_shipped_salt_table_is_complete_and_sourced() -> None:
    assert "lithium_salts" in shipped_tables()
    path = table_path("formulate:lithium_salts", Path("."))
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    names = [r["level"] for r in rows]
    assert len(names) >= 15 and len(set(names)) == len(names)
    for wanted in ("LiTFSI", "LiFSI", "LiClO4", "LiPF6", "LiBF4", "LiBOB", "LiDFOB", "LiAsF6"):
        assert wanted in names
    assert all(r["source"].startswith("computed from the anion SMILES with RDKit") for r in rows)
    levels, found = read_level_table(path, "test")
    assert not found
    # a hand check: LiTFSI's molar mass as the physics features use it (C2F6LiNO4S2)
    assert levels["LiTFSI"]["salt_molar_mass_g_mol"] == pytest.approx(LITFSI_MOLAR_MASS, abs=0.01)
    assert levels["LiTFSI"]["anion_fluorine_count"] == 6
    # bigger anions are bigger: TFSI > FSI > BF4 > Cl
    volume = {k: v["anion_volume_A3"] for k, v in levels.items()}
    assert volume["LiTFSI"] > volume["LiFSI"] > volume["LiBF4"] > volume["LiCl"]


def test_a_campaign_takes_levels_and_descriptors_from_a_shipped_table(tmp_path: Path) -> None:
    spec = load_campaign(write(tmp_path, 'levels_file = "formulate:lithium_salts"'))
    salt = spec.space.levels("salt")
    assert len(salt) == 24 and set(salt["LiPF6"]) == {
        "salt_molar_mass_g_mol",
        "anion_volume_A3",
        "anion_fluorine_count",
        "anion_heavy_atoms",
    }
    assert "(24 levels; from formulate:lithium_salts; descriptors" in "\n".join(describe(spec))
    # the encoder reads the descriptors instead of 24 one-hot columns
    encoder = Encoder(spec, "physics")
    assert encoder.columns == ["molality"] + [f"salt.{k}" for k in salt["LiPF6"]]


def test_a_subset_of_rows_and_columns(tmp_path: Path) -> None:
    spec = load_campaign(
        write(
            tmp_path,
            'levels_file = "formulate:lithium_salts"\nlevels = ["LiFSI", "LiTFSI"]\n'
            'descriptors = ["anion_volume_A3"]',
        )
    )
    assert list(spec.space.levels("salt")) == ["LiFSI", "LiTFSI"]
    assert list(spec.space.levels("salt")["LiFSI"]) == ["anion_volume_A3"]


def test_descriptors_left_out_mean_one_hot(tmp_path: Path) -> None:
    spec = load_campaign(
        write(tmp_path, 'levels_file = "formulate:lithium_salts"\ndescriptors = []')
    )
    columns = Encoder(spec, "onehot").columns
    assert len(columns) == 1 + 24 and "salt=LiB(CN)4" in columns  # names as written
    physics = Encoder(spec, "physics")  # beside a number: the categorical kernel
    assert physics.columns[-1] == "salt" and physics.cat_dims == [1]
    assert "no descriptors (told apart by name)" in "\n".join(describe(spec))


def test_the_labs_own_table_beside_the_campaign(tmp_path: Path) -> None:
    table = (
        "level,donor_number,source\nLi[TFSI],5.4,lab notebook p. 3\nLiClO4,8.4,lab notebook p. 3\n"
    )
    spec = load_campaign(write(tmp_path, 'levels_file = "salts.csv"', table))
    assert spec.space.levels("salt") == {
        "Li[TFSI]": {"donor_number": 5.4},
        "LiClO4": {"donor_number": 8.4},
    }


def test_a_bad_table_is_refused_with_file_row_column_and_fix(tmp_path: Path) -> None:
    table = (
        "level,donor_number,anion_volume_A3\n"
        "LiTFSI,5.4,159\n"
        "LiClO4,n/a,63\n"
        ",1,2\n"
        "LiTFSI,5.4,159\n"
        "LiBF4,6.0,\n"
    )
    found = problems(write(tmp_path, 'levels_file = "salts.csv"', table))
    assert any(
        "salts.csv row 3, column donor_number: 'n/a' is not a number (fix: give a number, or "
        "leave the column out with descriptors = [...])" in p
        for p in found
    )
    assert any("salts.csv row 4, column level: empty" in p for p in found)
    assert any("salts.csv row 5: level 'LiTFSI' is listed twice" in p for p in found)
    assert any("salts.csv row 6, column anion_volume_A3: empty" in p for p in found)


def test_unknown_rows_files_and_tables_are_named(tmp_path: Path) -> None:
    found = problems(
        write(tmp_path / "a", 'levels_file = "formulate:lithium_salts"\nlevels = ["LiTFS"]')
    )
    assert any("'LiTFS' is not a row of lithium_salts.csv" in p and "'LiTFSI'" in p for p in found)
    found = problems(write(tmp_path / "b", 'levels_file = "missing.csv"'))
    assert any("missing.csv: no such file" in p for p in found)
    found = problems(write(tmp_path / "c", 'levels_file = "formulate:sodium_salts"'))
    assert any("no such table (fix: use one of ['formulate:lithium_salts'" in p for p in found)
    found = problems(write(tmp_path / "d", 'levels_file = "salts.csv"', "LiTFSI,5.4\nLiFSI,3\n"))
    assert any("row 1: no 'level' column in the header (LiTFSI, 5.4)" in p for p in found)
    found = problems(
        write(
            tmp_path / "e",
            'levels_file = "salts.csv"\ndescriptors = ["dn"]',
            ("level,donor_number\nLiTFSI,5.4\n"),
        )
    )
    assert any("no column 'dn'" in p for p in found)
