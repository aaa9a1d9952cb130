"""Backtests: metric definitions by hand, identical starts, resumption, pools never seen."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from formulate.backtest import Settings, load_pool, prepare, run_backtest, run_one
from formulate.backtest_report import (
    Report,
    acceleration_factor,
    enhancement_factor,
    experiments_to,
    random_experiments_to,
    random_top_percent,
    top_percent,
    top_rows,
)
from formulate.baselines import pick
from formulate.cli import main
from formulate.errors import FormulateError

SPEC = """
name = "synthetic"
[variables.catalyst]
kind = "categorical"
levels = { A = {}, B = {}, C = {} }
[variables.temperature]
kind = "continuous"
low = 20.0
high = 80.0
[variables.ratio]
kind = "discrete"
low = 1.0
high = 5.0
step = 1.0
[properties.yield_pct]
unit = "%"
low = 0.0
[properties.cost]
low = 0.0
[[objectives]]
property = "yield_pct"
direction = "maximize"
{second}
"""
COST = '[[objectives]]\nproperty = "cost"\ndirection = "minimize"\n'


def _yield(catalyst: str, temperature: float, ratio: float) -> float:
    """Best at catalyst B, 60 C, ratio 4."""
    bonus = {"A": 0.0, "B": 25.0, "C": 10.0}[catalyst]
    return bonus + 60 * math.exp(-(((temperature - 60) / 15) ** 2)) - 4 * (ratio - 4) ** 2 + 40


@pytest.fixture
def pool(tmp_path: Path) -> tuple[Path, Path]:
    """A 45-formulation table with categorical, continuous and discrete inputs, an extra
    column, and replicates of the first five rows."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(45):
        c, t, r = "ABC"[i % 3], float(rng.uniform(20, 80)).__round__(1), float(rng.integers(1, 6))
        rows.append(
            {
                "catalyst": c,
                "temperature": t,
                "ratio": r,
                "yield_pct": _yield(c, t, r),
                "cost": 1 + t / 80 + (c == "B"),
                "operator": "ana",
            }
        )
    for rec in rows[:5]:
        rows.append({**rec, "yield_pct": rec["yield_pct"] + 2.0})
    csv = tmp_path / "past.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    (tmp_path / "one.toml").write_text(SPEC.replace("{second}", ""))
    (tmp_path / "two.toml").write_text(SPEC.replace("{second}", COST))
    return csv, tmp_path


# --- metric definitions, computed by hand on a 10-row pool ------------------------------------


def test_top_percent_ef_af_on_ten_rows_by_hand() -> None:
    y = np.array([3.0, 9.0, 1.0, 4.0, 2.0, 7.0, 5.0, 10.0, 0.0, 6.0])
    top = top_rows(y[:, None], 0.2)  # ceil(0.2 * 10) = 2 best: rows 7 (10.0) and 1 (9.0)
    assert top.tolist() == [1, 7]
    found = [3, 7, 0, 1, 2, 4, 5, 6, 8, 9]  # a strategy's order of experiments
    curve = top_percent(found, top)
    assert curve.tolist() == [0.0, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert random_top_percent(np.array([2, 4]), 10).tolist() == [0.2, 0.4]
    ef = enhancement_factor(curve, 10)
    assert ef[1] == pytest.approx(0.5 / 0.2) and ef[3] == pytest.approx(1.0 / 0.4)
    assert ef[-1] == pytest.approx(1.0)  # everything revealed: no better than random
    # random needs j (N + 1) / (M + 1) experiments for j of M top rows: 11/3 and 22/3
    assert random_experiments_to(0.5, 10, 2) == pytest.approx(11 / 3)
    assert random_experiments_to(1.0, 10, 2) == pytest.approx(22 / 3)
    assert experiments_to(curve, 0.5) == 2 and experiments_to(curve, 1.0) == 4
    assert acceleration_factor(22 / 3, 4) == pytest.approx(22 / 12)
    assert acceleration_factor(22 / 3, math.inf) == 0.0


def test_top_rows_of_several_objectives_follow_pareto_layers() -> None:
    Y = np.array([[1.0, 1.0], [3.0, 0.0], [0.0, 3.0], [2.0, 2.0], [0.5, 0.5]])
    # front: rows 1, 2, 3; among them row 3 has the best mean z-score
    assert top_rows(Y, 0.2).tolist() == [3]
    assert set(top_rows(Y, 0.6).tolist()) == {1, 2, 3}
    assert 4 not in top_rows(Y, 0.8)


# --- pools ----------------------------------------------------------------------------------


def test_pool_replicates_are_averaged_and_extra_columns_ignored(pool) -> None:
    csv, folder = pool
    campaign = load_campaign_toml(folder / "one.toml")
    rows = load_pool(campaign, csv)
    assert len(rows) == 45
    first = rows.iloc[0]
    assert first["replicates"] == 2
    assert first["yield_pct"] == pytest.approx(
        _yield(first["catalyst"], first["temperature"], first["ratio"]) + 1.0
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


def test_every_strategy_of_a_seed_starts_from_the_same_rows(pool) -> None:
    csv, folder = pool
    settings = Settings(
        kind="pool",
        campaign=str(folder / "one.toml"),
        pool=str(csv),
        initial=4,
        budget=6,
        batch_size=2,
    )
    starts = {
        s: run_one(settings, s, seed=3).query("step == 0")["row"].tolist()
        for s in ("random", "ofat", "optuna-tpe", "qlognei")
    }
    assert len({tuple(v) for v in starts.values()}) == 1
    other = run_one(settings, "random", seed=4).query("step == 0")["row"].tolist()
    assert other != starts["random"]


def test_pool_backtest_finds_the_top_faster_than_random(pool, tmp_path: Path) -> None:
    csv, folder = pool
    settings = Settings(
        kind="pool",
        campaign=str(folder / "one.toml"),
        pool=str(csv),
        strategies=("qlognei", "random"),
        seeds=4,
        initial=4,
        batch_size=2,
        budget=16,
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


def test_two_objective_pool_reaches_full_hypervolume_when_all_rows_are_revealed(
    pool, tmp_path: Path
) -> None:
    csv, folder = pool
    settings = Settings(
        kind="pool",
        campaign=str(folder / "two.toml"),
        pool=str(csv),
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
    csv, folder = pool
    settings = Settings(
        kind="pool",
        campaign=str(folder / "one.toml"),
        pool=str(csv),
        strategies=("random", "ofat"),
        seeds=2,
        initial=3,
        batch_size=2,
        budget=9,
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
        prepare(Settings(**{**settings.__dict__, "seeds": 3}), tmp_path / "out")


def test_ray_executor_on_a_local_instance(pool, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    csv, folder = pool
    settings = Settings(
        kind="pool",
        campaign=str(folder / "one.toml"),
        pool=str(csv),
        strategies=("random",),
        seeds=2,
        initial=3,
        batch_size=2,
        budget=7,
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


# --- baselines ------------------------------------------------------------------------------


def test_ofat_changes_one_factor_of_the_best_membrane(campaign) -> None:

    table = pd.DataFrame(
        [
            {
                "membrane": "a",
                "status": "measured",
                "filler": "cluster_chain",
                "filler_wt_pct": 5.0,
                "polymer": "PEO",
                "solvent": "THF_DCM",
                "thf_fraction": 0.5,
                "eo_li_ratio": 16.0,
                "ionic_conductivity": 4e-4,
                "transference_number": 0.5,
                "li_symmetric_life": 900.0,
            },
            {
                "membrane": "b",
                "status": "measured",
                "filler": "none",
                "filler_wt_pct": None,
                "polymer": "PEO",
                "solvent": "ACN",
                "thf_fraction": None,
                "eo_li_ratio": 12.0,
                "ionic_conductivity": 1e-5,
                "transference_number": 0.2,
                "li_symmetric_life": 100.0,
            },
        ]
    )
    out = pick("ofat", campaign, table, 6, seed=0)
    names = campaign.space.names()
    best = table.iloc[0]
    for rec in out.to_dict("records"):
        changed = [
            n
            for n in names
            if not (pd.isna(rec[n]) and pd.isna(best[n]))
            and rec[n] != best[n]
            and campaign.space.is_active(n, rec)
        ]
        assert len(changed) == 1, rec
        assert campaign.space.is_feasible(rec)


@pytest.mark.parametrize("strategy", ["sobol", "optuna-tpe", "optuna-nsga2"])
def test_baselines_propose_only_allowed_formulations(campaign, strategy: str) -> None:

    table = pd.DataFrame(campaign.space.sample(8, seed=1)).assign(
        membrane=[f"m{i}" for i in range(8)],
        status="measured",
        ionic_conductivity=1e-4,
        transference_number=0.3,
        li_symmetric_life=300.0,
    )
    out = pick(strategy, campaign, table, 12, seed=2)
    assert len(out) == 12
    for rec in out[campaign.space.names()].to_dict("records"):
        assert campaign.space.is_feasible(rec), rec


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
    (out / "summary.md").unlink()
    assert main(["backtest", "report", str(out)]) == 0
    assert (out / "summary.md").is_file()
    assert main(["backtest", "report", str(tmp_path / "nothing")]) == 2
    assert "no backtest in" in capsys.readouterr().err


def test_parallel_processes_give_the_runs_of_one_process(pool, tmp_path: Path) -> None:
    csv, folder = pool
    settings = Settings(
        kind="pool",
        campaign=str(folder / "one.toml"),
        pool=str(csv),
        strategies=("sobol", "ofat"),
        seeds=2,
        initial=3,
        batch_size=2,
        budget=7,
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
