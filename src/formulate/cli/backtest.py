"""``formulate backtest pool|emulator|report``: replay strategies, then report.

The backtest package (torch, BoTorch) is imported when a command runs, not when the CLI starts.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer

from formulate.cli.common import CampaignArg, err, flag, out, print_frame
from formulate.errors import FormulateError, Problem
from formulate.spec.campaign import Campaign, campaign_dir, load_campaign

if TYPE_CHECKING:
    from formulate.backtest import Settings

backtest_app = typer.Typer(
    help="Backtests: replay strategies on past data or the virtual lab, against baselines.",
    no_args_is_help=True,
)


StrategiesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--strategy", "--strategies", help="strategy to compare (repeat; default: all that fit)"
    ),
]
ObjectivesOpt = Annotated[
    list[str] | None, typer.Option("--objective", help="objective scored (repeat; default all)")
]
SeedsOpt = Annotated[int, typer.Option(help="seeds per strategy")]
WorkersOpt = Annotated[int | None, typer.Option(help="processes (default: all cores)")]
ExecutorOpt = Annotated[str, typer.Option(help="local or ray")]
TransferOpt = Annotated[
    str | None,
    typer.Option(help="how models learn from prior tables: stacked, multitask or autoregressive"),
]


@backtest_app.command("pool")
def backtest_pool(
    file: Annotated[Path, typer.Argument(help="CSV of past experiments")],
    spec: Annotated[
        Path, typer.Option(help="campaign folder or campaign.toml describing the columns")
    ],
    strategy: StrategiesOpt = None,
    objective: ObjectivesOpt = None,
    seeds: SeedsOpt = 20,
    initial: Annotated[
        int,
        typer.Option(help="random rows every run starts from (0 with --prior: the sources choose)"),
    ] = 3,
    batch_size: Annotated[int, typer.Option(help="rows revealed per step")] = 1,
    budget: Annotated[int, typer.Option(help="experiments per run (initial included)")] = 10,
    prior: Annotated[
        list[Path] | None,
        typer.Option(
            "--prior",
            help="a table of earlier experiments every run learns from, never scored (repeat)",
        ),
    ] = None,
    transfer: TransferOpt = None,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = "local",
    output: Annotated[Path, typer.Option("-o", "--output", help="results folder")] = Path(
        "backtests/pool"
    ),
) -> None:
    """Replay strategies on a table of past experiments (rows not yet revealed are the pool)."""

    from formulate.backtest import Settings

    settings = Settings(
        kind="pool",
        campaign=str(spec),
        pool=str(file),
        objectives=tuple(objective or ()),
        strategies=tuple(strategy or ()),
        seeds=seeds,
        initial=initial,
        batch_size=batch_size,
        budget=budget,
        priors=tuple(str(p.resolve()) for p in prior or ()),
        transfer=transfer,
    )
    _backtest(settings, output, workers, executor)


@backtest_app.command("emulator")
def backtest_emulator(
    campaign: CampaignArg,
    strategy: StrategiesOpt = None,
    objective: ObjectivesOpt = None,
    seeds: SeedsOpt = 20,
    initial: Annotated[int, typer.Option(help="random membranes every run starts from")] = 6,
    batch_size: Annotated[int, typer.Option(help="membranes per batch")] = 4,
    budget: Annotated[int, typer.Option(help="membranes per run (initial included)")] = 30,
    noise: Annotated[bool, flag("--noise/--no-noise", help="virtual-lab noise")] = True,
    horizon: Annotated[float, typer.Option(help="virtual Li|Li test horizon in h")] = 1500.0,
    surrogate: Annotated[str | None, typer.Option(help="surrogate of the planner")] = None,
    stated: Annotated[
        bool,
        flag(
            "--stated",
            help="every run also knows the campaign's stated membranes (a paper's), "
            "not counted or scored",
        ),
    ] = False,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = "local",
    output: Annotated[Path, typer.Option("-o", "--output", help="results folder")] = Path(
        "backtests/emulator"
    ),
) -> None:
    """Replay strategies against the virtual lab (noisy outcomes, scored on its truth)."""

    from formulate.backtest import Settings

    settings = Settings(
        kind="emulator",
        campaign=str(campaign_dir(campaign)),
        objectives=tuple(objective or ()),
        strategies=tuple(strategy or ()),
        seeds=seeds,
        initial=initial,
        batch_size=batch_size,
        budget=budget,
        noise=noise,
        horizon_h=horizon,
        surrogate=surrogate,
        stated=stated,
    )
    _backtest(settings, output, workers, executor)


@backtest_app.command("suite")
def backtest_suite(
    quick: Annotated[
        bool, flag("--quick", help="the quick subset: fewer members, seeds and experiments")
    ] = False,
    strategy: Annotated[
        list[str] | None,
        typer.Option(
            "--strategy",
            "--strategies",
            help="strategy to race (repeat; 'ours' = each member campaign's own; default: "
            "ours, random, sobol, optuna-tpe, optuna-gp; baybe and ax when named)",
        ),
    ] = None,
    member: Annotated[
        list[str] | None, typer.Option("--member", help="member to run (repeat; default all)")
    ] = None,
    seeds: Annotated[
        int | None, typer.Option(help="seeds per strategy (default: the suite's, 20; quick 6)")
    ] = None,
    suite_dir: Annotated[
        Path, typer.Option("--suite", help="the suite folder (suite.toml)")
    ] = Path("benchmarks"),
    scoreboard: Annotated[
        Path | None,
        typer.Option(help="also write the scoreboard here (e.g. docs/benchmarks)"),
    ] = None,
    surrogate: Annotated[
        str | None, typer.Option(help="surrogate family of ours (default: each campaign's)")
    ] = None,
    stored: Annotated[
        Path | None,
        typer.Option(
            help="scores.csv of earlier runs of this planner: their runs are not run again "
            "and the scoreboard counts them (runs depend only on their seed)"
        ),
    ] = None,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = "local",
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="results folder (default backtests/suite[-quick])"),
    ] = None,
) -> None:
    """Race strategies on the benchmark suite (public tables from other labs), seed-paired,
    and write its scoreboard. Resumable: the same command continues, more --seeds grow it."""
    from formulate.backtest import suite as bench
    from formulate.backtest.runner import check_queue
    from formulate.backtest.scoreboard import read_scores, write_scoreboard
    from formulate.backtest.sources import SourceUnavailable

    spec = bench.load_suite(suite_dir)
    members = spec.select(member or (), quick)
    n_seeds = seeds or (spec.quick_seeds if quick else spec.seeds)
    folder = output or Path("backtests/suite-quick" if quick else "backtests/suite")
    strategies = tuple(strategy or bench.DEFAULT_STRATEGIES)
    earlier = read_scores(stored) if stored else None
    skipped, queue = [], []
    for m in members:
        try:
            settings = bench.settings_for(m, strategies, n_seeds, spec.root.parent, surrogate)
        except SourceUnavailable as e:
            skipped.append(m.name)
            err.print(f"skipped {m.name}: {e.message()}", markup=False)
            continue
        queue.append((m, settings))
    check_queue((s, folder / m.name) for m, s in queue)
    for m, settings in queue:
        out.print(f"\n[{m.name}] {m.title}", markup=False)
        _backtest(settings, folder / m.name, workers, executor, bench.scored_runs(earlier, m))
    paths = write_scoreboard(folder, spec, stored=earlier)
    if scoreboard:
        paths = write_scoreboard(folder, spec, scoreboard, earlier)
    out.print(f"\nScoreboard: {', '.join(str(p) for p in paths.values())}", markup=False)
    if skipped:
        err.print(f"not run (table not available here): {', '.join(skipped)}", markup=False)


@backtest_app.command("transfer")
def backtest_transfer(
    task: Annotated[
        list[str] | None, typer.Option("--task", help="task to run (repeat; default all)")
    ] = None,
    arm: Annotated[
        list[str] | None,
        typer.Option("--arm", help="scratch, related or unrelated (repeat; default all three)"),
    ] = None,
    strategy: Annotated[
        list[str] | None,
        typer.Option(
            "--strategy",
            help="strategy to race in each arm (repeat; default 'ours', the campaign's own; "
            "'baybe' learns from the same source through its task parameter)",
        ),
    ] = None,
    seeds: Annotated[
        int | None, typer.Option(help="seeds per arm (default: the tasks' own, 20)")
    ] = None,
    tasks_dir: Annotated[
        Path, typer.Option("--tasks", help="the transfer folder (transfer.toml)")
    ] = Path("benchmarks/transfer"),
    scoreboard: Annotated[
        Path | None, typer.Option(help="also write the scoreboard here (e.g. docs/benchmarks)")
    ] = None,
    more: Annotated[
        list[Path] | None,
        typer.Option("--with", help="also score the runs in this folder (repeat; a peer's)"),
    ] = None,
    stored: Annotated[
        Path | None,
        typer.Option(
            help="transfer-scores.csv of earlier runs: the scoreboard also counts the (task, "
            "arm, seed) scores it holds and the run folders lack (runs depend only on their seed)"
        ),
    ] = None,
    transfer: TransferOpt = None,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = "local",
    output: Annotated[Path, typer.Option("-o", "--output", help="results folder")] = Path(
        "backtests/transfer"
    ),
) -> None:
    """Transfer tasks: each public target from scratch, with a related source and with an
    unrelated one, paired by seed. Resumable: the same command continues, more --seeds grow it."""
    from formulate.backtest import transfer as tl
    from formulate.backtest.runner import check_queue
    from formulate.backtest.scoreboard import read_scores
    from formulate.backtest.sources import SourceUnavailable

    spec = tl.load_transfer(tasks_dir)
    earlier = read_scores(stored, tl.SCORE_KEYS, tl.SCORES_FILE) if stored else None  # first
    arms = tuple(arm or tl.ARMS)
    n_seeds = seeds or spec.seeds
    queue = []
    for t in spec.select(task or ()):
        for a in arms:
            try:
                settings = tl.settings_for(
                    t,
                    a,
                    n_seeds,
                    spec.protocol,
                    tasks_dir.parent.parent,
                    strategy or ("ours",),
                    spec.source_initial,
                )
                settings = replace(settings, transfer=transfer if settings.priors else None)
            except SourceUnavailable as e:
                err.print(f"skipped {t.name}: {e.message()}", markup=False)
                break
            queue.append((t, a, settings))
    check_queue((s, output / t.name / a) for t, a, s in queue)
    for t, a, settings in queue:
        out.print(f"\n[{t.name}: {a}] {t.title}", markup=False)
        _backtest(settings, output / t.name / a, workers, executor)
    path = tl.write_transfer_board(output, spec, more=more or (), stored=earlier)
    if scoreboard:
        path = tl.write_transfer_board(output, spec, scoreboard, more or (), earlier)
    out.print(f"\nScoreboard: {path}", markup=False)


@backtest_app.command("compare")
def backtest_compare(
    new: Annotated[Path, typer.Argument(help="suite results folder, or its scores.csv")],
    old: Annotated[Path, typer.Argument(help="the folder or scores.csv to compare against")],
    suite_dir: Annotated[
        Path, typer.Option("--suite", help="the suite folder (suite.toml)")
    ] = Path("benchmarks"),
) -> None:
    """A planner change's suite effect: ours (NEW) against ours (OLD), member by member, on
    the seeds both ran (wins/ties/losses, Wilcoxon p)."""
    from formulate.backtest.scoreboard import compare, read_scores, suite_scores
    from formulate.backtest.suite import load_suite

    spec = load_suite(suite_dir)

    def scores(path: Path) -> pd.DataFrame:
        if path.is_dir():
            return suite_scores(path, spec.members)
        if path.is_file():
            return read_scores(path)
        raise FormulateError(
            f"nothing to compare at {path}",
            [Problem(str(path), "not found", "give a suite results folder or its scores.csv")],
        )

    table = compare(scores(new), scores(old))
    if table.empty:
        raise FormulateError(
            "no member was run by both",
            [Problem(f"{new} / {old}", "no common member", "run the same members")],
        )
    print_frame(table.round({"p": 3}))


@backtest_app.command("cycler")
def backtest_cycler(
    campaign: CampaignArg,
    seeds: SeedsOpt = 20,
    weeks: Annotated[int, typer.Option(help="weeks of membrane making")] = 12,
    per_week: Annotated[int, typer.Option(help="membranes made a week")] = 4,
    channels: Annotated[int, typer.Option(help="cycler channels")] = 4,
    horizon: Annotated[float, typer.Option(help="Li|Li test horizon in h")] = 1500.0,
    workers: WorkersOpt = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="results folder")] = Path(
        "backtests/cycler"
    ),
) -> None:
    """Which membranes go on the cycler: the schedule against first come first served and
    random, week by week on the virtual lab."""
    import os

    from formulate.backtest import cycler

    spec = load_campaign(campaign)
    lab = cycler.LabWeeks(weeks=weeks, per_week=per_week, channels=channels, horizon_h=horizon)
    _check_cycler(spec, lab, seeds)
    out.print(cycler.describe(lab, seeds), markup=False)
    with err.status("simulating the lab day by day..."):
        traces = cycler.run(str(spec.folder), lab, seeds, workers=workers or os.cpu_count() or 1)
    paths = cycler.write(output, traces, lab)
    table = pd.read_csv(paths["summary.csv"], dtype=str)
    print_frame(table, "Cycler scheduling (cycler-weeks and weeks to a share of the hypervolume)")
    out.print(cycler.ratio_line(cycler.summary(traces)), markup=False)
    out.print(f"Written: {', '.join(str(p) for p in paths.values())}")


def _check_cycler(spec: Campaign, lab: object, seeds: int) -> None:
    from formulate.backtest.cycler import LIFE

    names = [o.property for o in spec.objectives]
    problems = []
    if LIFE not in names or "filler" not in spec.space.categorical_names():
        problems.append(
            Problem(str(spec.folder), "the virtual lab emulates the paper's kind of campaign",
                    f"use a campaign with the objective {LIFE} and a filler (cheng2023)")
        )  # fmt: skip
    if seeds < 1 or min(lab.weeks, lab.per_week, lab.channels) < 1:  # type: ignore[attr-defined]
        problems.append(Problem("--seeds/--weeks/--per-week/--channels", "below 1", "use 1+"))
    if problems:
        raise FormulateError("the cycler backtest cannot run", problems)


@backtest_app.command("report")
def backtest_report(
    folder: Annotated[Path, typer.Argument(help="results folder of a backtest")],
) -> None:
    """Rebuild the table (CSV, markdown) and plots from a folder's stored runs."""
    from formulate.backtest import open_backtest

    _print_report(open_backtest(folder))


def _backtest(
    settings: Settings,
    output: Path,
    workers: int | None,
    executor: str,
    scored: frozenset[tuple[str, int]] = frozenset(),
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    from formulate.backtest import prepare, run_backtest

    bt = replace(prepare(settings, output), scored=scored)
    out.print(f"{bt.settings.describe()}; results in {output}")
    left, wanted = len(bt.missing()), bt.wanted_runs()
    if left < wanted:
        out.print(f"resuming: {left} run(s) left")
    columns = (
        *Bar.get_default_columns()[:1],
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Bar(*columns, console=err, transient=True) as bar:
        task = bar.add_task("runs", total=wanted)

        def update(event: str, done: int, total: int, steps: int) -> None:
            bar.update(task, completed=done, description=f"runs (steps done: {steps})")
            if event == "run" and not err.is_terminal:  # a log file: one line per run
                err.print(f"runs done: {done} of {total}")

        run_backtest(bt, workers, executor, update)
    if not bt.has_runs():
        out.print("every run is in the stored scores: nothing run here")
        return
    _print_report(bt)


TERMINAL_COLUMNS = (
    "strategy",
    "n to top 5%",
    "n to 80% of top 5%",
    "Top5% found",
    "EF",
    "AF",
    "n to 80% HV",
    "n to 95% HV",
    "HV fraction",
    "s per proposal",
)


def _print_report(bt: object) -> None:
    from formulate.backtest import Report

    report = Report(bt)  # type: ignore[arg-type]
    paths = report.write()
    table = pd.read_csv(paths["summary.csv"], dtype=str)
    # the terminal gets the comparison (80 columns); every column is in the files
    narrow = table[[c for c in table.columns if c.startswith(TERMINAL_COLUMNS)]]
    print_frame(narrow, report.settings.describe())
    for line in report.notes():
        out.print(line, markup=False)
    out.print(f"Written: {', '.join(str(p) for p in paths.values())}")
