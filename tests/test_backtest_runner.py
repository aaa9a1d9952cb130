"""Backtest runs: identical starts, finding the top, resumption, processes, Ray, the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from formulate.backtest import Report, Settings, prepare, run_backtest, run_one
from formulate.backtest.metrics import random_experiments_to
from formulate.cli import main
from formulate.errors import FormulateError
from formulate.testing import pool_settings


def test_every_strategy_of_a_seed_starts_from_the_same_rows(pool) -> None:
    settings = pool_settings(pool, initial=4, budget=6, batch_size=2)
    starts = {
        s: run_one(settings, s, seed=3).query("step == 0")["row"].tolist()
        for s in ("random", "ofat", "optuna-tpe", "qlognei")
    }
    assert len({tuple(v) for v in starts.values()}) == 1
    other = run_one(settings, "random", seed=4).query("step == 0")["row"].tolist()
    assert other != starts["random"]


def test_pool_backtest_finds_the_top_faster_than_random(pool, tmp_path: Path) -> None:
    settings = pool_settings(
        pool, strategies=("qlognei", "random"), seeds=4, initial=4, batch_size=2, budget=16
    )
    bt = run_backtest(prepare(settings, tmp_path / "out"), workers=1)
    traces = bt.traces()
    for _, run in traces.groupby(["strategy", "seed"]):
        assert run["row"].is_unique and len(run) == 16  # no row revealed twice
    report = Report(bt)
    table = report.summary().set_index("strategy")
    n_model = float(table.loc["qlognei", "n to top 5%"].split()[0].lstrip(">"))
    expected_random = random_experiments_to(1 / 3, 45, 3)  # (45 + 1) / (3 + 1) = 11.5
    assert n_model < expected_random
    paths = report.write()
    assert all(p.is_file() for p in paths.values())
    assert "| qlognei |" in paths["summary.md"].read_text()


def test_random_is_its_own_yardstick_af_and_ef_are_one(pool, tmp_path: Path) -> None:
    """AF and EF use one estimator on both sides (medians for AF, means for EF), and the random
    side is the backtest's own random runs: random's AF and EF are 1 by construction, and a
    strategy's AF is measured against what random did in the same backtest."""
    settings = pool_settings(
        pool, strategies=("random", "sobol"), seeds=20, initial=4, batch_size=2, budget=16
    )
    table = Report(run_backtest(prepare(settings, tmp_path / "out"), workers=1)).summary()
    table = table.set_index("strategy")
    assert table.loc["random", "AF (top 5%)"] == "1.00"
    assert table.loc["random", "EF at 16"] == "1.00"
    for col in ("n to 50% of top 5%", "n to 80% of top 1%", "Top1% found at 16"):
        assert col in table  # shares of the top rows, quartiles of the share found
    median, most = (float(v) for v in table.loc["sobol", "s per proposal (median, max)"].split(","))
    assert 0 < median <= most
    n_random = float(table.loc["random", "n to top 5%"].split()[0])
    sobol = table.loc["sobol", "n to top 5%"]
    expected = (  # a median that never reached the target gives a bound
        f"<{n_random / 16:.2f}"
        if sobol.startswith(">")
        else f"{n_random / float(sobol.split()[0]):.2f}"
    )
    assert table.loc["sobol", "AF (top 5%)"] == expected


def test_two_objective_pool_reaches_full_hypervolume_when_all_rows_are_revealed(
    pool, tmp_path: Path
) -> None:
    settings = pool_settings(
        pool,
        "two.toml",
        strategies=("qlognehvi", "sobol"),
        seeds=1,
        initial=5,
        batch_size=10,
        budget=45,
    )
    bt = run_backtest(prepare(settings, tmp_path / "out"), workers=1)
    curves = Report(bt).curves()
    for _, c in curves.groupby("strategy"):
        hv = c["hypervolume fraction"].to_numpy()
        assert np.all(np.diff(hv) >= -1e-12) and hv[-1] == pytest.approx(1.0)
        assert c["top5% found"].iloc[-1] == 1.0


def test_interrupted_backtest_resumes_only_missing_runs(pool, tmp_path: Path) -> None:
    settings = pool_settings(
        pool, strategies=("random", "ofat"), seeds=2, initial=3, batch_size=2, budget=9
    )
    bt = run_backtest(prepare(settings, tmp_path / "out"), workers=1)
    lost = bt.run_path("ofat", 1)
    before = pd.read_csv(lost).drop(columns="wall_s")
    lost.unlink()  # as if killed before this run finished
    kept = {p: p.stat().st_mtime_ns for p in (tmp_path / "out" / "runs").glob("*/*.csv")}
    bt = prepare(settings, tmp_path / "out")
    assert bt.missing() == [("ofat", 1)]
    run_backtest(bt, workers=1)
    pd.testing.assert_frame_equal(pd.read_csv(lost).drop(columns="wall_s"), before)
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())
    with pytest.raises(FormulateError, match="holds a different backtest"):
        prepare(Settings(**{**settings.__dict__, "budget": 8}), tmp_path / "out")
    with pytest.raises(FormulateError, match="holds a different backtest"):
        prepare(Settings(**{**settings.__dict__, "seeds": 1}), tmp_path / "out")  # no shrinking


def test_a_finished_backtest_grows_by_seeds_and_strategies(pool, tmp_path: Path) -> None:
    _, folder = pool
    first = pool_settings(pool, strategies=("random",), seeds=2, initial=3, batch_size=2, budget=7)
    run_backtest(prepare(first, tmp_path / "out"), workers=1)
    kept = {p: p.read_bytes() for p in (tmp_path / "out" / "runs").glob("*/*.csv")}
    grown = prepare(
        Settings(**{**first.__dict__, "seeds": 3, "strategies": ("sobol",)}), tmp_path / "out"
    )
    assert grown.settings.strategies == ("random", "sobol") and grown.settings.seeds == 3
    assert sorted(grown.missing()) == [("sobol", 0), ("sobol", 1), ("sobol", 2)]  # as named
    run_backtest(grown, workers=1)
    assert all(p.read_bytes() == b for p, b in kept.items())  # the old runs stay as they were
    # naming some of the folder's strategies runs only those; the settings keep them all
    some = prepare(Settings(**{**first.__dict__, "seeds": 3}), tmp_path / "out")
    assert some.settings.strategies == ("random", "sobol") and some.missing() == [("random", 2)]
    again = prepare(Settings(**{**first.__dict__, "seeds": 3, "strategies": ()}), tmp_path / "out")
    assert again.settings.strategies == ("random", "sobol") and again.missing() == [("random", 2)]
    run_backtest(again, workers=1)
    assert again.missing() == [] and len(again.traces().groupby(["strategy", "seed"])) == 6
    assert main(["show", str(folder / "one.toml")]) == 0  # any campaign TOML, as --spec takes


def test_ray_executor_on_a_local_instance(pool, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    settings = pool_settings(
        pool, strategies=("random",), seeds=2, initial=3, batch_size=2, budget=7
    )
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        bt = run_backtest(prepare(settings, tmp_path / "ray"), executor="ray")
    finally:
        ray.shutdown()
    local = run_backtest(prepare(settings, tmp_path / "local"), workers=1)
    pd.testing.assert_frame_equal(
        bt.traces().drop(columns="wall_s"), local.traces().drop(columns="wall_s")
    )


def test_cli_backtest_pool_and_report(pool, tmp_path: Path, capsys) -> None:
    csv, folder = pool
    out = tmp_path / "cli"
    args = [
        "backtest",
        "pool",
        str(csv),
        "--spec",
        str(folder / "one.toml"),
        "--strategy",
        "random",
        "--strategy",
        "sobol",
        "--seeds",
        "2",
        "--budget",
        "6",
        "--workers",
        "1",
        "-o",
        str(out),
    ]
    assert main(args) == 0
    assert (out / "summary.md").is_file() and (out / "backtest.png").is_file()
    log = capsys.readouterr().err  # not a terminal (a log file): a line per finished run
    assert "runs done: 1 of 4" in log and "runs done: 4 of 4" in log
    (out / "summary.md").unlink()
    assert main(["backtest", "report", str(out)]) == 0
    assert (out / "summary.md").is_file()
    assert main(["backtest", "report", str(tmp_path / "nothing")]) == 2
    assert "no backtest in" in capsys.readouterr().err


def test_parallel_processes_give_the_runs_of_one_process(pool, tmp_path: Path) -> None:
    settings = pool_settings(
        pool, strategies=("sobol", "ofat"), seeds=2, initial=3, batch_size=2, budget=7
    )
    events: list[tuple[str, int, int, int]] = []
    two = run_backtest(
        prepare(settings, tmp_path / "two"), workers=2, progress=lambda *e: events.append(e)
    )
    one = run_backtest(prepare(settings, tmp_path / "one"), workers=1)
    pd.testing.assert_frame_equal(
        two.traces().drop(columns="wall_s"), one.traces().drop(columns="wall_s")
    )
    assert events[-1][1:3] == (4, 4)  # runs done of runs wanted
    assert max(e[3] for e in events) == 4 * 2  # steps reported: 2 per run


def test_library_warnings_are_counted_by_kind_not_printed(recwarn) -> None:
    import warnings

    from formulate.errors import collected_warnings, warnings_line

    with collected_warnings() as caught:
        for jitter in ("1.0e-08", "1.0e-07"):
            warnings.warn(f"A not p.d., added jitter of {jitter}", RuntimeWarning, stacklevel=1)
        warnings.warn("something else", UserWarning, stacklevel=1)
    assert dict(caught) == {
        "RuntimeWarning: A not p.d., added jitter of #.#e-#": 2,
        "UserWarning: something else": 1,
    }
    assert len(recwarn) == 0  # none reached the terminal
    assert warnings_line(caught) == (  # what the CLI prints once, at the end
        "note: 3 library warning(s) while working, not shown: RuntimeWarning: A not p.d., "
        "added jitter of #.#e-# (x2); UserWarning: something else (x1)"
    )


def test_a_run_that_knows_the_papers_membranes_goes_to_the_cluster_chains() -> None:
    """Seed 8's random start holds no cluster chain cast from THF/DCM, and the plain run's
    first batch tries none. Knowing the paper's stated CPCSE (0.52 mS/cm, t+ 0.62), the first
    batch goes there; the stated membranes are neither experiments nor scored."""
    from formulate.testing import TEMPLATE

    settings = Settings(
        kind="emulator", campaign=str(TEMPLATE), seeds=1, initial=6, budget=10, stated=True
    )

    def chains(trace: pd.DataFrame, step: int) -> int:
        batch = trace[trace["step"] == step]
        return int(((batch["filler"] == "cluster_chain") & (batch["solvent"] == "THF_DCM")).sum())

    knowing = run_one(settings, "qlognehvi", seed=8)
    plain = run_one(Settings(**{**settings.__dict__, "stated": False}), "qlognehvi", seed=8)
    assert len(knowing) == 10 and knowing["experiment"].tolist() == list(range(1, 11))
    assert not set(knowing["membrane"]) & {"PPSE", "CNCSE", "CPCSE"}
    assert chains(knowing, 0) == chains(plain, 0) == 0  # the same random start
    assert chains(knowing, 1) >= 2 > chains(plain, 1)


def _session(sid: int) -> dict[int, str]:
    """The processes of session ``sid`` (pid -> command line), from /proc."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile
            continue
        if int(fields[3]) == sid:  # after "pid (comm)": state, ppid, pgrp, session
            found[int(stat.parent.name)] = cmd
    return found


def _until(condition: Callable[[], bool], seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.mark.parametrize("how", ["parent killed", "Ctrl-C"])
def test_a_stopped_backtest_leaves_no_worker_computing(pool, tmp_path: Path, how: str) -> None:
    """Killed (SIGKILL: no handler runs) or interrupted (SIGINT to its process group, as a
    terminal's Ctrl-C, here while the workers still import), a backtest on 2 worker processes
    leaves none of them behind and prints no worker's traceback: each watches its parent, and
    an interrupted parent ends its workers' runs."""
    csv, folder = pool
    command = ["backtest", "pool", str(csv), "--spec", str(folder / "one.toml")]
    command += ["--strategy", "qlognei", "--seeds", "6", "--budget", "40", "--workers", "2"]
    command += ["-o", str(tmp_path / "out")]
    code = f"import sys; from formulate.cli import main; sys.exit(main({command!r}))"
    parent = subprocess.Popen(
        [sys.executable, "-c", code], start_new_session=True, stderr=subprocess.PIPE, text=True
    )

    def workers() -> int:
        return sum("spawn_main" in c for c in _session(parent.pid).values())

    try:
        assert _until(lambda: workers() >= 2, 120), "the workers never started"
        if how == "parent killed":
            parent.kill()
        else:
            os.killpg(parent.pid, signal.SIGINT)
        returned = parent.wait(timeout=30)
        assert _until(lambda: not _session(parent.pid), 30), _session(parent.pid)
    finally:
        for pid in _session(parent.pid):
            os.kill(pid, signal.SIGKILL)
    if how == "Ctrl-C":
        assert returned == 130
        assert "Traceback" not in parent.stderr.read()  # type: ignore[union-attr]
