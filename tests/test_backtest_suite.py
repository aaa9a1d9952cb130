"""The benchmark suite: every member loads (campaign and pinned table), the suite covers what
it must, and a small race writes a seed-paired scoreboard."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from formulate.backtest.oracles import load_pool
from formulate.backtest.scoreboard import read_scores, write_scoreboard
from formulate.backtest.sources import SourceUnavailable
from formulate.backtest.suite import Protocol, load_suite, ours, pool_file, run_suite
from formulate.errors import FormulateError
from formulate.spec.campaign import load_campaign

ROOT = Path(__file__).resolve().parents[1]
SUITE = load_suite(ROOT / "benchmarks")


def test_the_suite_covers_what_it_must() -> None:
    judges = [m for m in SUITE.members if m.judge]
    assert len(judges) >= 10
    count = {t: sum(t in m.tags for m in judges) for t in ("battery", "composition")}
    count |= {t: sum(t in m.tags for m in judges) for t in ("categorical", "multi")}
    count["compilation"] = sum("compilation" in m.tags for m in judges)
    assert count["battery"] >= 3 and count["composition"] >= 3
    assert count["categorical"] >= 2 and count["multi"] >= 2 and count["compilation"] >= 2
    emulated = {m.name for m in SUITE.members if not m.judge}
    assert emulated == {"cheng2023-emulator", "peo-salts-emulated"}
    assert set(SUITE.quick_members) <= {m.name for m in judges}


@pytest.mark.parametrize("member", [m.name for m in SUITE.members])
def test_every_member_campaign_loads_and_names_its_source(member: str) -> None:
    m = SUITE.member(member)
    campaign = load_campaign(m.campaign)
    assert campaign.objectives
    assert (m.folder / "README.md").is_file()
    readme = (m.folder / "README.md").read_text(encoding="utf-8")
    for word in ("Source", "Citation", "Licence", "Cleaning"):
        assert word in readme, f"{member}/README.md says nothing under {word}"
    if "multi" in m.tags:
        assert len(campaign.objectives) > 1 and ours(m) == "qlognehvi"
    elif m.kind == "pool":
        assert len(campaign.objectives) == 1 and ours(m) == "qlognei"


@pytest.mark.parametrize("member", [m.name for m in SUITE.members if m.kind == "pool"])
def test_every_member_table_loads_as_a_pool(member: str) -> None:
    """The pinned table is fetched (PyPI and this repository's files everywhere; GitHub where
    the network or $FORMULATE_MIRROR reaches it), hash-checked, cleaned and read like an
    import: 50 to 5,000 formulations with every objective finite."""
    m = SUITE.member(member)
    try:
        path = pool_file(m, ROOT)
    except SourceUnavailable as err:
        pytest.skip(f"{member}: {err.problems[0].what}")
    campaign = load_campaign(m.campaign)
    rows = load_pool(campaign, path)
    assert 50 <= len(rows) <= 5000
    for o in campaign.objectives:
        assert np.isfinite(rows[o.property].astype(float)).all()


def test_an_unknown_member_is_named_with_the_choices() -> None:
    with pytest.raises(FormulateError, match="no benchmark member 'nope'") as caught:
        SUITE.select(["nope"], quick=False)
    assert "obelix" in caught.value.message()


def test_quick_selection_caps_the_budget() -> None:
    quick = SUITE.select((), quick=True)
    assert [m.name for m in quick] == list(SUITE.quick_members)
    assert all(m.protocol.budget <= SUITE.quick_budget for m in quick)


def test_a_small_race_writes_a_paired_scoreboard(tmp_path: Path) -> None:
    member = replace(
        SUITE.member("peo-salts-emulated"), protocol=Protocol(initial=3, batch_size=1, budget=8)
    )
    folders = run_suite([member], ["ours", "random"], 3, tmp_path / "out", ROOT, workers=1)
    assert folders == [tmp_path / "out" / "peo-salts-emulated"]
    paths = write_scoreboard(tmp_path / "out", SUITE, tmp_path / "docs")
    assert all(p.is_file() for p in paths.values())
    pairs = pd.read_csv(paths["paired.csv"])
    assert pairs[["ours", "versus", "seeds"]].values.tolist() == [["qlognei", "random", 3]]
    assert pairs.loc[0, "wins"] + pairs.loc[0, "ties"] + pairs.loc[0, "losses"] == 3
    text = paths["scoreboard.md"].read_text(encoding="utf-8")
    assert "Emulated members (not judges)" in text and "peo-salts-emulated" in text
    scores = pd.read_csv(paths["scores.csv"])  # what 'formulate backtest compare' reads
    assert len(scores) == 6 and scores["ours"].sum() == 3
    medians = pd.read_csv(paths["scoreboard.csv"])
    assert set(medians["strategy"]) == {"qlognei", "random"}
    # the same command again finds every run done (resumable)
    again = run_suite([member], ["ours", "random"], 3, tmp_path / "out", ROOT, workers=1)
    assert again == folders
    assert not math.isnan(float(pairs.loc[0, "p"]))
    # ours alone (a planner change's run, for `compare`): a scoreboard with nothing to pair
    run_suite([member], ["ours"], 1, tmp_path / "solo", ROOT, workers=1)
    alone = write_scoreboard(tmp_path / "solo", SUITE)
    assert "scoreboard.png" not in alone and alone["scoreboard.md"].is_file()
    assert pd.read_csv(alone["scores.csv"])["ours"].all()


def test_stored_scores_are_not_run_again_and_the_scoreboard_counts_them(
    tmp_path: Path,
) -> None:
    """A suite grown from an earlier scoreboard's scores.csv runs only the seeds it lacks;
    the stored seeds are scored as stored (a run depends only on its seed)."""
    member = replace(
        SUITE.member("peo-salts-emulated"), protocol=Protocol(initial=3, batch_size=1, budget=6)
    )
    run_suite([member], ["ours", "random"], 2, tmp_path / "first", ROOT, workers=1)
    stored = read_scores(write_scoreboard(tmp_path / "first", SUITE)["scores.csv"])
    grown = tmp_path / "grown"
    run_suite([member], ["ours", "random"], 3, grown, ROOT, workers=1, stored=stored)
    runs = sorted(p.name for p in (grown / member.name / "runs").glob("*/*.csv"))
    assert runs == ["seed-002.csv", "seed-002.csv"]  # ours and random: only the new seed
    scores = read_scores(write_scoreboard(grown, SUITE, stored=stored)["scores.csv"])
    assert sorted(scores["seed"]) == [0, 0, 1, 1, 2, 2]
    key = ["strategy", "seed"]
    again = scores[scores["seed"] < 2].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(again, stored.sort_values(key).reset_index(drop=True))
    pairs = pd.read_csv(grown / "paired.csv")
    assert pairs["seeds"].tolist() == [3]


def test_the_cli_names_a_bad_member_or_comparison_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from formulate.cli import main

    suite = str(ROOT / "benchmarks")
    code = main(["backtest", "suite", "--suite", suite, "--member", "nope", "-o", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "no benchmark member 'nope'" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # nothing written
    code = main(["backtest", "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--suite", suite])
    err = capsys.readouterr().err
    assert code == 2 and "nothing to compare" in err


def test_a_folder_that_cannot_resume_stops_the_queue_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A race over several members where one folder holds more seeds than asked (a folder
    never shrinks) is refused whole, naming that folder: no member runs first, nothing is
    written."""
    from formulate.backtest import prepare
    from formulate.backtest.suite import settings_for
    from formulate.cli import main

    first, second = "peo-salts-emulated", "cheng2023-emulator"
    prepare(settings_for(SUITE.member(second), ("random",), 2, ROOT, None), tmp_path / second)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    args = ["backtest", "suite", "--suite", str(ROOT / "benchmarks"), "-o", str(tmp_path)]
    args += ["--member", first, "--member", second, "--strategy", "random", "--seeds", "1"]
    code = main(args)
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "holds a different backtest" in err and second in err
    assert "stored: " in err and "Traceback" not in err
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before  # the first member never ran
