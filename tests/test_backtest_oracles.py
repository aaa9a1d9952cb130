"""Oracles: pools validated like an import and averaged, the emulator's limits."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from formulate.backtest import Settings, load_pool, prepare
from formulate.errors import FormulateError
from formulate.testing import synthetic_yield


def test_pool_replicates_are_averaged_and_extra_columns_ignored(pool) -> None:
    csv, folder = pool
    campaign = load_campaign_toml(folder / "one.toml")
    rows = load_pool(campaign, csv)
    assert len(rows) == 45
    first = rows.iloc[0]
    assert first["replicates"] == 2
    assert first["yield_pct"] == pytest.approx(
        synthetic_yield(first["catalyst"], first["temperature"], first["ratio"]) + 1.0
    )


def load_campaign_toml(path: Path):
    from formulate.backtest import backtest_campaign

    return backtest_campaign(Settings(kind="pool", campaign=str(path)))


def test_bad_pool_row_is_named_and_nothing_runs(pool, tmp_path: Path) -> None:
    csv, folder = pool
    frame = pd.read_csv(csv)
    frame.loc[6, "catalyst"] = "Z"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    settings = Settings(kind="pool", campaign=str(folder / "one.toml"), pool=str(bad), seeds=1)
    with pytest.raises(FormulateError) as err:
        prepare(settings, tmp_path / "out")
    text = err.value.message()
    assert "bad.csv" in text and "catalyst" in text and "Z" in text
    assert not (tmp_path / "out").exists()


def test_emulator_refuses_a_space_it_has_no_mechanisms_for(pool, tmp_path: Path) -> None:
    _, folder = pool
    settings = Settings(kind="emulator", campaign=str(folder / "one.toml"), seeds=1)
    with pytest.raises(FormulateError) as err:
        prepare(settings, tmp_path / "emu")
    assert {p.where for p in err.value.problems} == {
        "variables.filler",
        "variables.polymer",
        "variables.solvent",
    }
    assert not (tmp_path / "emu").exists()


def test_a_pool_without_header_or_with_a_missing_column_is_one_message(
    pool, tmp_path: Path
) -> None:
    """Not one error per row (hundreds): the header is wrong, said once, nothing runs."""
    csv, folder = pool
    lines = csv.read_text(encoding="utf-8").splitlines()
    bare = tmp_path / "bare.csv"
    bare.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    settings = Settings(kind="pool", campaign=str(folder / "one.toml"), pool=str(bare), seeds=1)
    with pytest.raises(FormulateError) as err:
        prepare(settings, tmp_path / "out")
    assert len(err.value.problems) == 1
    assert "no header row: the first line holds values" in err.value.problems[0].what
    renamed = tmp_path / "renamed.csv"
    frame = pd.read_csv(csv).rename(columns={"catalyst": "Catalyst used"})
    frame.to_csv(renamed, index=False)
    settings = Settings(kind="pool", campaign=str(folder / "one.toml"), pool=str(renamed), seeds=1)
    with pytest.raises(FormulateError) as err:
        prepare(settings, tmp_path / "out")
    assert [p.what.split(" (")[0] for p in err.value.problems] == ["no column 'catalyst'"]
    assert "Catalyst used" in err.value.problems[0].what
    assert "map it under [columns]" in err.value.problems[0].fix
    assert not (tmp_path / "out").exists()


def test_stated_membranes_are_the_papers_in_canonical_units() -> None:
    """What ``--stated`` adds to every run: the paper's three membranes as seeding reads them
    (conductivity at 25 C in S/cm, the 1500 h Li|Li life censored: the cell still ran)."""
    from formulate.backtest.oracles import stated_rows
    from formulate.spec.campaign import load_campaign
    from formulate.testing import TEMPLATE

    rows = stated_rows(load_campaign(TEMPLATE)).set_index("membrane")
    assert sorted(rows.index) == ["CNCSE", "CPCSE", "PPSE"]
    assert set(rows["provenance"]) == {"stated"}
    best = rows.loc["CPCSE"]
    assert (best["filler"], best["solvent"], best["filler_wt_pct"]) == (
        "cluster_chain",
        "THF_DCM",
        2.5,
    )
    assert best["ionic_conductivity"] == pytest.approx(5.2e-4)
    assert best["transference_number"] == pytest.approx(0.62)
    assert best["li_symmetric_life"] == pytest.approx(1500.0)
    assert bool(best["li_symmetric_life_censored"])


def test_stated_is_refused_for_a_pool_and_for_a_campaign_that_states_nothing(
    pool, tmp_path: Path
) -> None:
    import shutil

    from formulate.testing import TEMPLATE, pool_settings

    with pytest.raises(FormulateError) as err:
        prepare(pool_settings(pool, stated=True, seeds=1), tmp_path / "out")
    assert [p.where for p in err.value.problems] == ["--stated"]
    assert not (tmp_path / "out").exists()
    folder = tmp_path / "bare"
    shutil.copytree(TEMPLATE, folder)
    toml = folder / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text[: text.index("[[seed_data]]")], encoding="utf-8")
    settings = Settings(kind="emulator", campaign=str(folder), seeds=1, stated=True)
    with pytest.raises(FormulateError) as err:
        prepare(settings, tmp_path / "emu")
    (problem,) = err.value.problems
    assert "states no membranes" in problem.what and "[[seed_data]]" in problem.fix
    assert not (tmp_path / "emu").exists()


def test_an_unknown_surrogate_is_refused_before_anything_is_written(pool, tmp_path: Path) -> None:
    from formulate.testing import pool_settings

    with pytest.raises(FormulateError) as err:
        prepare(pool_settings(pool, surrogate="gp-foo", seeds=1), tmp_path / "out")
    (problem,) = err.value.problems
    assert problem.where == "surrogate" and "gp-physics" in problem.fix
    assert not (tmp_path / "out").exists()
