"""The backtest report: curves from stored runs, the summary against an independent count, and
the files it writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from formulate.backtest import Report, prepare, run_backtest
from formulate.backtest.metrics import top_rows
from formulate.backtest.scoreboard import scoreboard, seed_scores
from formulate.backtest.suite import load_suite
from formulate.testing import pool_settings

SUITE = Path(__file__).parents[1] / "benchmarks"


def test_summary_matches_a_count_from_the_traces(pool, tmp_path: Path) -> None:
    settings = pool_settings(
        pool, strategies=("random", "ofat"), seeds=3, initial=3, batch_size=2, budget=11
    )
    bt = run_backtest(prepare(settings, tmp_path / "out"), workers=1)
    report = Report(bt)
    reference = bt.reference()
    top = set(top_rows(reference[["yield_pct"]].to_numpy(), 0.05).tolist())
    assert len(top) == 3  # ceil(5% of 45)
    traces = bt.traces()
    summary = report.summary().set_index("strategy")
    for strategy in ("random", "ofat"):
        found = []
        for _, run in traces[traces["strategy"] == strategy].groupby("seed"):
            hits = [i + 1 for i, row in enumerate(run["row"].astype(int)) if row in top]
            found.append(hits[0] if hits else np.inf)
        median = np.median(found)
        text = summary.loc[strategy, "n to top 5%"]
        assert text.split()[0] == (f"{median:.0f}" if np.isfinite(median) else ">11"), text
    curves = report.curves()
    assert set(curves.groupby(["strategy", "seed"]).size()) == {11}
    best = curves.groupby(["strategy", "seed"])["best yield_pct"]
    assert (best.diff().dropna() >= 0).all()  # best so far never falls
    paths = report.write()
    table = pd.read_csv(paths["summary.csv"])
    assert list(table["strategy"]) == ["random", "ofat"]
    assert paths["backtest.png"].stat().st_size > 10_000


def test_the_report_says_which_proposals_came_from_the_warm_up(pool, tmp_path: Path) -> None:
    """Two initial rows are too few for a model: the first proposal of every qlognei run is
    the warm-up's, marked in the run files and counted in the report."""
    settings = pool_settings(
        pool, strategies=("qlognei",), seeds=2, initial=2, batch_size=1, budget=5
    )
    bt = run_backtest(prepare(settings, tmp_path / "out"), workers=1)
    traces = bt.traces()
    first = traces[traces["step"] == 1]
    assert first["warm_up"].all() and first["reason"].str.startswith("warm-up (sobol)").all()
    assert not traces[traces["step"] > 1]["warm_up"].any()
    report = Report(bt)
    assert report.notes()[0] == (
        "qlognei: 1 of 3 proposals per seed (median; most 1) came from the warm-up rule "
        "(sobol until each objective is measured on 3 membranes) and are marked warm_up in "
        "the run files."
    )
    # warnings a library raised while proposing are counted, never printed
    run = bt.run_path("qlognei", 0)
    trace = pd.read_csv(run, dtype={"warnings": object})
    trace.loc[trace["step"] == 2, "warnings"] = '{"NumericalWarning: A not p.d., added jitter": 3}'
    trace.to_csv(run, index=False)
    notes = Report(bt).notes()
    assert notes[-1] == (
        "Library warnings while proposing, collected over 1 run(s) instead of printed: "
        "NumericalWarning: A not p.d., added jitter (x3)."
    )
    assert notes[-1] in Report(bt).markdown(Report(bt).summary())


def test_the_best_family_is_where_most_top_rows_are_and_each_seed_says_when_it_got_there(
    pool, tmp_path: Path
) -> None:
    """The family (here the catalyst) holding most of the pool's top 5%, counted from the
    reference set; a run reaches it at its first row of that catalyst, and the scoreboard
    counts the seeds that did within the budget."""
    settings = pool_settings(pool, strategies=("random",), seeds=4, initial=2, budget=4)
    bt = run_backtest(prepare(settings, tmp_path / "out"), workers=1)
    reference = bt.reference()
    top = top_rows(reference[["yield_pct"]].to_numpy(), 0.05)
    counts = reference["catalyst"].iloc[top].value_counts()
    assert len(counts) == 1 or counts.iloc[0] > counts.iloc[1]  # one family leads
    report = Report(bt)
    assert report.best_family == counts.index[0]
    scores = seed_scores(tmp_path / "out").set_index("seed")
    for seed, run in bt.traces().groupby("seed"):
        hits = np.nonzero(run.sort_values("experiment")["catalyst"] == report.best_family)[0]
        expected = hits[0] + 1 if len(hits) else np.inf
        assert scores.loc[seed, "n to best family"] == expected
    medians, _ = scoreboard(
        scores.reset_index().assign(member="p3ht", ours=False), load_suite(SUITE).members
    )
    reached = int(np.isfinite(scores["n to best family"]).sum())
    assert medians.loc[0, "best family found"] == f"{reached}/4"
