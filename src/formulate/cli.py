"""The ``formulate`` command line. Thin: it parses, calls the package, and prints.

CAMPAIGN is a campaign folder (``campaigns/cheng2023``) or a name under ``campaigns/``.
Every user mistake is one readable message and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich.console import Console

from formulate.campaign import PROVENANCES, Campaign, init_campaign, load_campaign
from formulate.dataio import (
    campaign_table,
    export_measurements,
    export_table,
    import_table,
    make_measurement,
    open_store,
    read_table,
)
from formulate.errors import FormulateError, Problem
from formulate.store import Store

if TYPE_CHECKING:
    from formulate.lab import Lab
    from formulate.planner import Request
    from formulate.run import RunResult
from formulate.summary import (
    frame_table,
    objective_summary,
    proposal_view,
    run_tables,
    status_counts,
)

app = typer.Typer(
    help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False
)
lab_app = typer.Typer(
    help="Lab plug-ins: measure formulations with the virtual lab.", no_args_is_help=True
)
app.add_typer(lab_app, name="lab")
backtest_app = typer.Typer(
    help="Backtests: replay strategies on past data or the virtual lab, against baselines.",
    no_args_is_help=True,
)
app.add_typer(backtest_app, name="backtest")
out = Console()
err = Console(stderr=True)

CampaignArg = Annotated[str, typer.Argument(help="campaign folder or name under campaigns/")]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db", help="database URL (default: the campaign's SQLite file, or $FORMULATE_DB_URL)"
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]


def _open(campaign: str, db: str | None) -> tuple[Campaign, Store]:
    spec = load_campaign(campaign)
    return spec, open_store(spec, db)


def _print_frame(frame: pd.DataFrame, title: str = "") -> None:
    out.print(frame_table(frame, title))


@app.command()
def init(
    name: Annotated[str, typer.Argument(help="name of the new campaign")],
    template: Annotated[
        str, typer.Option(help="template: a bundled name or a campaign folder")
    ] = "cheng2023",
    folder: Annotated[Path, typer.Option("--dir", help="where campaigns live")] = Path("campaigns"),
) -> None:
    """Create a campaign folder from a template (default: the paper's design space)."""
    spec = init_campaign(name, template, folder)
    out.print(
        f"Created campaign {spec.name} in {spec.folder} from template {template}.", markup=False
    )
    out.print("\n".join(spec.describe()), markup=False)


@app.command()
def show(campaign: CampaignArg) -> None:
    """The campaign's design space, objectives and constraints in plain words."""
    out.print("\n".join(load_campaign(campaign).describe()), markup=False)


@app.command()
def status(campaign: CampaignArg, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Membranes, what is measured, what is pending, what is censored."""
    spec, store = _open(campaign, db)
    table = campaign_table(spec, store)
    counts = status_counts(table)
    objectives = objective_summary(spec, table)
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "campaign": spec.name,
                    "membranes": len(table),
                    "status": counts,
                    "objectives": objectives.to_dict("records"),
                },
                default=str,
            )
        )
        return
    out.print(f"{spec.name}: {spec.title}  ({store.url})", markup=False)
    out.print(f"{len(table)} membranes: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    _print_frame(objectives, "Objectives (best values; censored = lower bound, cell still running)")
    cols = ["membrane", "status", "batch", "provenance", *spec.space.names()]
    shown = table[cols].copy()
    for obj in spec.objectives:
        col = obj.property
        if col in table:
            flag = table.get(f"{col}_censored", pd.Series(False, index=table.index))
            unit = spec.all_properties()[col].unit
            shown[f"{col} [{unit or '-'}]"] = [
                "" if pd.isna(v) else (">=" if f is True else "") + f"{v:.4g}"
                for v, f in zip(table[col], flag, strict=True)
            ]
    _print_frame(shown, "Membranes")
    pending = table.loc[table["status"].isin(["pending", "made"]), "membrane"].tolist()
    if pending:
        out.print(f"Waiting for outcomes: {', '.join(pending)}")


@app.command("import")
def import_(
    campaign: CampaignArg,
    file: Annotated[Path, typer.Argument(help="CSV: wide (one row per membrane) or long")],
    provenance: Annotated[
        str,
        typer.Option(help=f"one of {list(PROVENANCES)}, unless the file has a provenance column"),
    ] = "imported",
    db: DbOpt = None,
) -> None:
    """Import membranes and outcomes from a CSV, all or nothing."""
    if provenance not in PROVENANCES:
        raise FormulateError(
            f"unknown provenance '{provenance}'",
            [Problem("--provenance", provenance, f"use one of {PROVENANCES}")],
        )
    spec, store = _open(campaign, db)
    plan = import_table(spec, store, file, provenance=provenance)
    out.print(
        f"Imported {len(plan.membranes)} membranes and {len(plan.measurements)} "
        f"measurements from {file} into {spec.name}."
    )


@app.command()
def export(
    campaign: CampaignArg,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="CSV file")] = None,
    measurements: Annotated[
        bool,
        typer.Option(
            help="every measurement (with superseded ones "
            "and provenance) instead of one row per membrane"
        ),
    ] = False,
    db: DbOpt = None,
) -> None:
    """Export the campaign's data with provenance (stdout when no -o)."""
    spec, store = _open(campaign, db)
    frame = export_measurements(spec, store) if measurements else export_table(spec, store)
    if output:
        frame.to_csv(output, index=False)
        out.print(f"Wrote {len(frame)} rows to {output}.")
    else:
        sys.stdout.write(frame.to_csv(index=False))


@app.command()
def log(
    campaign: CampaignArg,
    membrane: Annotated[str, typer.Argument(help="membrane id")],
    prop: Annotated[str, typer.Argument(metavar="PROPERTY", help="e.g. ionic_conductivity")],
    value: Annotated[str, typer.Argument(help="e.g. 5.2e-4, '0.52 mS/cm', '>600 h'")],
    unit: Annotated[str | None, typer.Option(help="unit when VALUE has none")] = None,
    censored: Annotated[
        bool, typer.Option("--censored", help="a lower bound: cell still running")
    ] = False,
    temperature: Annotated[
        float | None, typer.Option(help="measurement temperature in C (default: the campaign's)")
    ] = None,
    by: Annotated[str, typer.Option(help="who measured")] = "",
    method: Annotated[str, typer.Option(help="e.g. EIS, Bruce-Vincent")] = "",
    note: Annotated[str, typer.Option(help="free text")] = "",
    db: DbOpt = None,
) -> None:
    """Log one outcome. A new value supersedes the previous one; nothing is overwritten."""
    spec, store = _open(campaign, db)
    made = make_measurement(
        spec,
        membrane,
        prop,
        value,
        where="VALUE",
        unit=unit,
        censored=censored,
        temperature_C=temperature,
        provenance="measured",
        recorded_by=by,
        method=method,
        note=note,
        source="cli",
    )
    if isinstance(made, Problem):
        raise FormulateError("nothing was logged", [made])
    store.add(spec.name, [], [made])
    mark = ">= " if made.censored else ""
    out.print(f"Logged {membrane} {prop} = {mark}{made.value:.4g} {made.unit}".rstrip() + ".")


@app.command()
def mark(
    campaign: CampaignArg,
    membrane: Annotated[str, typer.Argument(help="membrane id")],
    new_status: Annotated[str, typer.Argument(metavar="STATUS", help="made, measured or failed")],
    note: Annotated[str, typer.Option(help="why (e.g. film cracked)")] = "",
    db: DbOpt = None,
) -> None:
    """Move a membrane to made, measured or failed (a film that did not form)."""
    spec, store = _open(campaign, db)
    store.set_status(spec.name, membrane, new_status, note)
    out.print(f"{membrane} is now {new_status}.")


@lab_app.command("measure")
def lab_measure(
    campaign: CampaignArg,
    formulations: Annotated[Path, typer.Argument(help="CSV with membrane + formulation columns")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="results CSV")] = None,
    noise: Annotated[bool, typer.Option("--noise/--no-noise", help="lab-like noise")] = True,
    seed: Annotated[int, typer.Option(help="noise seed")] = 0,
    horizon: Annotated[float, typer.Option(help="Li|Li test horizon in h")] = 1500.0,
    temperature: Annotated[float, typer.Option(help="conductivity temperature in C")] = 25.0,
) -> None:
    """Measure formulations with the virtual lab (EMULATED outcomes, not the paper's)."""
    from formulate.lab import measure_formulations

    spec = load_campaign(campaign)
    results = measure_formulations(
        spec,
        read_table(formulations),
        source=formulations.name,
        seed=seed,
        noise=noise,
        horizon_h=horizon,
        temperature_C=temperature,
    )
    if output:
        results.to_csv(output, index=False)
        out.print(f"Wrote {len(results)} emulated results to {output}.")
    else:
        _print_frame(results, "Virtual lab (emulated, not measured)")


def _request(
    spec: Campaign,
    batch: int | None,
    strategy: str | None,
    seed: int | None,
    device: str,
    surrogate: str | None,
    weight: list[str] | None = None,
    target: str | None = None,
    replicates: bool = False,
) -> Request:
    from formulate.planner import Request

    weights = {}
    for item in weight or []:
        name, _, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise FormulateError(
                f"bad weight '{item}'",
                [Problem("--weight", item, "write OBJECTIVE=NUMBER, e.g. transference_number=2")],
            ) from None
    names = [o.property for o in spec.objectives]
    unknown = [n for n in [*weights, *([target] if target else [])] if n not in names]
    if unknown:
        raise FormulateError(
            "unknown objective",
            [Problem("--weight/--target", n, f"use one of {names}") for n in unknown],
        )
    return Request(
        batch_size=batch or spec.strategy.batch_size,
        strategy=strategy or spec.strategy.acquisition,
        seed=spec.strategy.seed if seed is None else seed,
        device=device,
        surrogate=surrogate,
        weights=weights or None,
        target=target,
        replicates=replicates,
    )


@app.command()
def propose(
    campaign: CampaignArg,
    batch: Annotated[int | None, typer.Option(help="membranes in the batch")] = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            help="qlognehvi, parego, qlognei, active; baselines random, sobol, ofat, "
            "optuna-tpe, optuna-gp, optuna-nsga2"
        ),
    ] = None,
    weight: Annotated[list[str] | None, typer.Option(help="OBJECTIVE=W for parego")] = None,
    target: Annotated[str | None, typer.Option(help="objective for qlognei")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    surrogate: Annotated[str | None, typer.Option(help="surrogate spec")] = None,
    replicates: Annotated[bool, typer.Option(help="allow formulations already made")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show, do not store")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="proposals CSV")] = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Propose the next batch and store it as pending membranes (unless --dry-run)."""
    from formulate.planner import propose as plan
    from formulate.planner import store_proposals

    spec, store = _open(campaign, db)
    request = _request(spec, batch, strategy, seed, device, surrogate, weight, target, replicates)
    with err.status("fitting models and searching the design space..."):
        proposals = plan(spec, campaign_table(spec, store), request)
    if not dry_run:
        proposals = store_proposals(spec, store, proposals)
    if output:
        proposals.to_csv(output, index=False)
    if as_json:
        out.print_json(proposals.to_json(orient="records"))
        return
    title = (
        "Proposals (dry run: not stored)"
        if dry_run
        else f"Batch {proposals['batch'].iloc[0]}: stored as pending membranes"
    )
    _print_frame(proposal_view(spec, proposals), title)


@app.command()
def run(
    campaign: CampaignArg,
    lab: Annotated[str, typer.Option(help="virtual, module:function or cmd:COMMAND")] = "virtual",
    batches: Annotated[int, typer.Option(help="batches this run proposes and measures")] = 3,
    batch_size: Annotated[int | None, typer.Option(help="membranes per batch")] = None,
    strategy: Annotated[str | None, typer.Option(help="as for propose")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    surrogate: Annotated[str | None, typer.Option(help="surrogate spec")] = None,
    run_name: Annotated[
        str | None,
        typer.Option(
            "--run-id",
            help="name of the run (default: from its settings; the same id continues it)",
        ),
    ] = None,
    noise: Annotated[bool, typer.Option("--noise/--no-noise", help="virtual-lab noise")] = True,
    horizon: Annotated[float, typer.Option(help="virtual Li|Li test horizon in h")] = 1500.0,
    plot: Annotated[Path | None, typer.Option(help="progress plot PNG")] = None,
    db: DbOpt = None,
) -> None:
    """Closed loop: propose, measure with a lab plug-in, log, repeat. Resumable."""
    from formulate.lab import resolve_lab
    from formulate.run import run_id

    spec, store = _open(campaign, db)
    request = _request(spec, batch_size, strategy, seed, device, surrogate)
    plugin = resolve_lab(lab, spec, seed=request.seed, noise=noise, horizon_h=horizon)
    rid = run_name or run_id(spec, lab, request, batches)
    result = _run_with_progress(spec, store, plugin, batches, request, rid)
    _print_run(spec, result, plot or spec.folder / "runs" / f"{rid}.png")


def _run_with_progress(
    spec: Campaign, store: Store, plugin: Lab, batches: int, request: Request, rid: str
) -> RunResult:
    from rich.progress import Progress as Bar

    from formulate.run import run_campaign

    with Bar(console=err, transient=True) as bar:
        task = bar.add_task(f"run {rid}", total=batches)

        def update(message: str, done: int, total: int) -> None:
            bar.update(task, completed=done, description=f"run {rid}: {message}")

        return run_campaign(spec, store, plugin, batches, request, rid, update)


def _print_run(spec: Campaign, result: RunResult, plot: Path) -> None:
    from formulate.progress import plot_history

    out.print(
        f"Run {result.run_id}: measured batches {result.batches or 'none (already done)'}",
        markup=False,
    )
    for table in run_tables(spec, result):
        out.print(table)
    out.print(f"Progress plot: {plot_history(spec, result.history, plot)}")


@app.command()
def diagnose(
    campaign: CampaignArg,
    surrogate: Annotated[
        list[str] | None, typer.Option(help="surrogate spec(s); default: all")
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(help="parity plot PNG (default: <campaign>/diagnostics/parity.png)"),
    ] = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Cross-validate each objective's surrogate: RMSE, R2, NLPD, 95% coverage; parity plot."""
    from formulate.diagnostics import diagnose as run_diagnose
    from formulate.diagnostics import parity_plot
    from formulate.surrogates import fit_objective, lengthscales, model_cache, spec_names

    spec, store = _open(campaign, db)
    table = campaign_table(spec, store)
    names = surrogate or spec_names()
    scores, preds = run_diagnose(spec, table, names)
    if as_json:
        out.print_json(scores.to_json(orient="records"))
        return
    _print_frame(scores, "Cross-validation (model scale: log10 S/cm, logit t+, log10 h)")
    path = parity_plot(preds, plot or spec.folder / "diagnostics" / "parity.png")
    out.print(f"Parity plot: {path}")
    for obj in spec.objectives:
        fitted = fit_objective(spec, table, obj.property, names[0], cache_dir=model_cache(spec))
        ls = lengthscales(fitted)
        if not ls.empty:
            top = ", ".join(f"{k} {v:.2g}" for k, v in ls.head(4).items())
            out.print(
                f"{obj.property} ({names[0]}): most relevant (shortest length-scales): {top}",
                markup=False,
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


@backtest_app.command("pool")
def backtest_pool(
    file: Annotated[Path, typer.Argument(help="CSV of past experiments")],
    spec: Annotated[
        Path, typer.Option(help="campaign folder or campaign.toml describing the columns")
    ],
    strategy: StrategiesOpt = None,
    objective: ObjectivesOpt = None,
    seeds: SeedsOpt = 20,
    initial: Annotated[int, typer.Option(help="random rows every run starts from")] = 3,
    batch_size: Annotated[int, typer.Option(help="rows revealed per step")] = 1,
    budget: Annotated[int, typer.Option(help="experiments per run (initial included)")] = 10,
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
    noise: Annotated[bool, typer.Option("--noise/--no-noise", help="virtual-lab noise")] = True,
    horizon: Annotated[float, typer.Option(help="virtual Li|Li test horizon in h")] = 1500.0,
    surrogate: Annotated[str | None, typer.Option(help="surrogate of the planner")] = None,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = "local",
    output: Annotated[Path, typer.Option("-o", "--output", help="results folder")] = Path(
        "backtests/emulator"
    ),
) -> None:
    """Replay strategies against the virtual lab (noisy outcomes, scored on its truth)."""
    from formulate.backtest import Settings
    from formulate.campaign import campaign_dir

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
    )
    _backtest(settings, output, workers, executor)


@backtest_app.command("report")
def backtest_report(
    folder: Annotated[Path, typer.Argument(help="results folder of a backtest")],
) -> None:
    """Rebuild the table (CSV, markdown) and plots from a folder's stored runs."""
    from formulate.backtest import open_backtest

    _print_report(open_backtest(folder))


def _backtest(settings: object, output: Path, workers: int | None, executor: str) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    from formulate.backtest import prepare, run_backtest

    bt = prepare(settings, output)  # type: ignore[arg-type]
    out.print(f"{bt.settings.describe()}; results in {output}", markup=False)
    left = len(bt.missing())
    if left < bt.settings.seeds * len(bt.settings.strategies):
        out.print(f"resuming: {left} run(s) left", markup=False)
    columns = (
        *Bar.get_default_columns()[:1],
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Bar(*columns, console=err, transient=True) as bar:
        task = bar.add_task("runs", total=bt.settings.seeds * len(bt.settings.strategies))

        def update(event: str, done: int, total: int, steps: int) -> None:
            bar.update(task, completed=done, description=f"runs (steps done: {steps})")

        run_backtest(bt, workers, executor, update)
    _print_report(bt)


def _print_report(bt: object) -> None:
    from formulate.backtest_report import Report

    report = Report(bt)  # type: ignore[arg-type]
    paths = report.write()
    table = pd.read_csv(paths["summary.csv"], dtype=str)
    # the terminal gets the comparison; best values per objective are in the files
    narrow = table[[c for c in table.columns if not c.startswith("best ") and c != "seeds"]]
    _print_frame(narrow, report.settings.describe())
    out.print(f"Written: {', '.join(str(p) for p in paths.values())}", markup=False)


@app.command()
def demo(
    folder: Annotated[
        Path, typer.Option("--dir", help="where the demo campaign is written")
    ] = Path("demo-output"),
) -> None:
    """The main job on the embedded defaults: the paper's campaign, loaded and summarised."""
    from formulate.demo import run_demo

    run_demo(folder, out)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI; print user mistakes as one message (exit code 2)."""
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as stop:
        return int(stop.code or 0)
    except FormulateError as mistake:
        err.print(f"[red]error:[/] {mistake.message()}", highlight=False, soft_wrap=True)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
