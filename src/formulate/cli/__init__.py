"""The ``formulate`` command line. Thin: it parses, calls the package, and prints.

Verbs that need models or backtests import them when they run, so that the cheap verbs
(``status``, ``log``, ``import``, ``export``) start without loading torch.

CAMPAIGN is a campaign folder (``campaigns/cheng2023``) or a name under ``campaigns/``.
Every user mistake is one readable message and exit code 2, never a traceback.
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from formulate.cli import cycler, records, serve, users
from formulate.cli.backtest import backtest_app
from formulate.cli.common import (
    CampaignArg,
    DbOpt,
    FormatOpt,
    JsonOpt,
    WideOpt,
    emitted,
    err,
    flag,
    open_campaign,
    out,
    output_format,
    print_frame,
    print_text,
)
from formulate.data import PENDING, Store, campaign_table, read_table
from formulate.errors import FormulateError, collected_warnings, warnings_line
from formulate.spec.campaign import BLANK_TEMPLATE, Campaign, init_campaign, load_campaign
from formulate.spec.strategies import STRATEGIES

if TYPE_CHECKING:
    from formulate.lab.plugins import Lab
    from formulate.lab.run import RunResult
    from formulate.plan.planner import Request
from formulate.report.display import csv_text
from formulate.report.summary import (
    describe,
    frame_table,
    membrane_view,
    objective_view,
    prior_lines,
    proposal_lines,
    proposal_view,
    run_tables,
    status_counts,
    status_summary,
)
from formulate.units import round_significant

HELP = """Plan membranes (polymer + Li salt + filler, cast from a solvent) with Bayesian optimization: log what the lab measured, ask which membranes to make next.

CAMPAIGN is a campaign folder (campaigns/cheng2023) or a name under campaigns/. Start with 'formulate init NAME' (a blank campaign) or 'formulate demo' (the paper's campaign and a short run against the virtual lab). Conductivity is shown in mS/cm, stored in S/cm; emulated values are never the paper's.
"""  # noqa: E501

app = typer.Typer(
    help=HELP, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False
)
lab_app = typer.Typer(
    help="Lab plug-ins: measure formulations with the virtual lab.", no_args_is_help=True
)
app.add_typer(lab_app, name="lab")
app.command("import")(records.import_)
for verb in (records.export, records.log, records.mark, records.retract, records.abandon):
    app.command()(verb)
app.add_typer(backtest_app, name="backtest")
app.command("schedule")(cycler.schedule)
app.add_typer(cycler.test_app, name="test")
app.add_typer(users.users_app, name="users")
app.command()(serve.serve)


@app.command()
def init(
    name: Annotated[str, typer.Argument(help="name of the new campaign")],
    template: Annotated[
        str,
        typer.Option(
            help="blank (your own space, no data), cheng2023 (the paper's campaign with its "
            "stated membranes), or a campaign folder to copy"
        ),
    ] = BLANK_TEMPLATE,
    folder: Annotated[Path, typer.Option("--dir", help="where campaigns live")] = Path("campaigns"),
    from_csv: Annotated[
        Path | None,
        typer.Option("--from-csv", help="infer the variables from this table of past experiments"),
    ] = None,
    objective: Annotated[
        list[str] | None, typer.Option(help="with --from-csv: a column to maximize (repeat)")
    ] = None,
    minimize: Annotated[
        list[str] | None, typer.Option(help="with --from-csv: a column to minimize (repeat)")
    ] = None,
) -> None:
    """Create a campaign folder (default: blank, no data; edit its campaign.toml)."""
    if from_csv is not None:
        from formulate.data.infer import infer_campaign

        spec = infer_campaign(name, from_csv, objective or [], minimize or [], folder)
        out.print(f"Inferred campaign {spec.name} in {spec.folder} from {from_csv}: check it.")
        out.print("\n".join(describe(spec)))
        return
    spec = init_campaign(name, template, folder)
    out.print(f"Created campaign {spec.name} in {spec.folder} from template {template}.")
    out.print("\n".join(describe(spec)))
    out.print(
        f"Next: edit {spec.folder / 'campaign.toml'} to your lab's variables, check it with "
        f"'formulate show {spec.folder}', then log or import membranes, or "
        f"'formulate propose {spec.folder}' for a first (space-filling) batch."
    )


@app.command()
def show(campaign: CampaignArg) -> None:
    """The campaign's design space, objectives and constraints in plain words (and what its
    store's membranes use that the file no longer has)."""
    from formulate.data.database import sqlite_path
    from formulate.data.table import space_problems

    spec = load_campaign(campaign)
    out.print("\n".join(describe(spec)))
    if spec.priors:
        out.print("\n".join(prior_lines(spec)))
    path = sqlite_path(spec.store_url())
    if path is not None and path.is_file():  # only a store that exists: show creates none
        for p in space_problems(spec, Store(spec.store_url()).membranes(spec.name)):
            out.print(f"Warning: {p.where}: {p.what} in the store, not in the file ({p.fix})")


STATUS_ROWS = 40
"""Membranes a status table shows by default: the newest (a terminal, not an export)."""


@app.command()
def status(
    campaign: CampaignArg,
    db: DbOpt = None,
    wide: WideOpt = False,
    fmt: FormatOpt = "table",
    rows: Annotated[
        int, typer.Option("--rows", help="newest membranes in the table (0: all)", min=0)
    ] = STATUS_ROWS,
    as_json: Annotated[bool, flag("--json", hidden=True)] = False,
) -> None:
    """Membranes, what is measured, what is pending, what is censored (conductivity in mS/cm
    unless the campaign chooses another unit)."""
    chosen = output_format(fmt, as_json)
    spec, store = open_campaign(campaign, db)
    table = campaign_table(spec, store)
    counts = status_counts(table)
    if chosen == "json":
        out.print_json(json.dumps(status_summary(spec, table), default=str))
        return
    if chosen == "csv":
        print_text(csv_text(membrane_view(spec, table, wide=True)))
        return
    out.print(f"{spec.name}: {spec.title}  ({store.shown_url})")
    out.print(f"{len(table)} membranes: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    if spec.priors:
        out.print("\n".join(prior_lines(spec)))
    print_frame(objective_view(spec, table), "Objectives (>= a lower bound: cell still running)")
    newest = table if rows == 0 else table.tail(rows)  # a view of what is printed only
    cut = (
        f"; the newest {len(newest)} of {len(table)} (--rows 0: all)"
        if len(newest) < len(table)
        else ""
    )
    title = "Membranes" + ("" if wide else " (--wide: formulation and provenance)") + cut
    print_frame(membrane_view(spec, newest, wide=wide), title)
    pending = table.loc[table["status"].isin(PENDING), "membrane"].tolist()
    if pending:
        more = f" and {len(pending) - STATUS_ROWS} more" if len(pending) > STATUS_ROWS else ""
        out.print(f"Waiting for outcomes: {', '.join(pending[:STATUS_ROWS])}{more}")


@lab_app.command("measure")
def lab_measure(
    campaign: CampaignArg,
    formulations: Annotated[Path, typer.Argument(help="CSV with membrane + formulation columns")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="results CSV")] = None,
    noise: Annotated[bool, flag("--noise/--no-noise", help="lab-like noise")] = True,
    seed: Annotated[int, typer.Option(help="noise seed")] = 0,
    horizon: Annotated[float, typer.Option(help="Li|Li test horizon in h")] = 1500.0,
    temperature: Annotated[float, typer.Option(help="conductivity temperature in C")] = 25.0,
) -> None:
    """Measure formulations with the virtual lab (EMULATED outcomes, not the paper's)."""
    from formulate.lab.plugins import measure_formulations

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
        print_frame(results, "Virtual lab (emulated, not measured)")


@app.command()
def propose(
    campaign: CampaignArg,
    batch: Annotated[int | None, typer.Option(help="membranes in the batch")] = None,
    strategy: Annotated[
        str | None,
        typer.Option(help="one of: " + ", ".join(STRATEGIES) + " (default: the campaign's)"),
    ] = None,
    weight: Annotated[list[str] | None, typer.Option(help="OBJECTIVE=W for parego")] = None,
    target: Annotated[str | None, typer.Option(help="objective for qlognei")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    surrogate: Annotated[str | None, typer.Option(help="surrogate spec")] = None,
    replicates: Annotated[bool, flag(help="allow formulations already made")] = False,
    dry_run: Annotated[bool, flag("--dry-run", help="show, do not store")] = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="proposals CSV (units in the headers)")
    ] = None,
    wide: WideOpt = False,
    fmt: FormatOpt = "table",
    as_json: Annotated[bool, flag("--json", hidden=True)] = False,
    db: DbOpt = None,
) -> None:
    """Propose the next batch and store it as pending membranes (unless --dry-run)."""
    from formulate.api import OpenCampaign
    from formulate.plan.planner import parse_weights

    chosen = output_format(fmt, as_json)
    spec, store = open_campaign(campaign, db)
    opened = OpenCampaign(spec, store)
    with err.status("reading the campaign...") as status:
        proposals = opened.propose(
            batch,
            strategy=strategy,
            seed=seed,
            weights=parse_weights(weight or []),
            target=target,
            device=device,
            replicates=replicates,
            surrogate=surrogate,
            step=status.update,
        )
    if not dry_run:
        proposals = opened.accept(proposals, source="formulate propose")
    view = proposal_view(spec, proposals, wide=True)
    if not emitted(chosen, view, proposals, output):
        title = (
            "Proposals (dry run: not stored)"
            if dry_run
            else f"Batch {proposals['batch'].iloc[0]}: stored as pending membranes"
        )
        out.print(frame_table(view, title) if wide else proposal_lines(spec, proposals, title))
        for note in proposals.attrs.get("notes", []):
            out.print(f"Note: {note}")


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
    noise: Annotated[bool, flag("--noise/--no-noise", help="virtual-lab noise")] = True,
    horizon: Annotated[float, typer.Option(help="virtual Li|Li test horizon in h")] = 1500.0,
    plot: Annotated[Path | None, typer.Option(help="progress plot PNG")] = None,
    db: DbOpt = None,
) -> None:
    """Closed loop: propose, measure with a lab plug-in, log, repeat. Resumable."""
    from formulate.lab.plugins import resolve_lab
    from formulate.lab.run import checked_run_id, run_id
    from formulate.plan.planner import Request

    spec, store = open_campaign(campaign, db)
    request = Request.for_campaign(
        spec,
        batch_size=batch_size,
        strategy=strategy,
        seed=seed,
        device=device,
        surrogate=surrogate,
    )
    plugin = resolve_lab(lab, spec, seed=request.seed, noise=noise, horizon_h=horizon)
    rid = checked_run_id(run_name) if run_name else run_id(spec, lab, request, batches)
    result = _run_with_progress(spec, store, plugin, batches, request, rid)
    _print_run(spec, result, plot or spec.folder / "runs" / f"{rid}.png")


def _run_with_progress(
    spec: Campaign, store: Store, plugin: Lab, batches: int, request: Request, rid: str
) -> RunResult:
    from rich.progress import Progress as Bar

    from formulate.lab.run import run_campaign

    with Bar(console=err, transient=True) as bar:
        task = bar.add_task(f"run {rid}", total=batches)

        def update(message: str, done: int, total: int) -> None:
            bar.update(task, completed=done, description=f"run {rid}: {message}")

        return run_campaign(spec, store, plugin, batches, request, rid, update)


def _print_run(spec: Campaign, result: RunResult, plot: Path) -> None:
    from formulate.plan.progress import plot_history

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
        list[str] | None, typer.Option(help="surrogate spec(s); default: the campaign's")
    ] = None,
    every: Annotated[bool, flag("--all", help="every surrogate family")] = False,
    plot: Annotated[
        Path | None,
        typer.Option(help="parity plot PNG (default: <campaign>/diagnostics/parity.png)"),
    ] = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Leave-one-out check of each objective's surrogate: RMSE, R2, NLPD, 95% coverage."""
    from formulate.model import lengthscales, model_cache, spec_names
    from formulate.model.diagnostics import diagnose as run_diagnose
    from formulate.model.diagnostics import parity_plot

    spec, store = open_campaign(campaign, db)
    table = campaign_table(spec, store)
    names = spec_names() if every else (surrogate or [spec.strategy.surrogate])
    with err.status("fitting the models (cached ones are reused)..."):
        found = run_diagnose(spec, table, names, cache_dir=model_cache(spec))
    if as_json:
        skipped = [{"where": p.where, "what": p.what} for p in found.skipped]
        scores = json.loads(found.scores.to_json(orient="records"))
        out.print_json(json.dumps({"scores": scores, "skipped": skipped}))
        return
    from formulate.report.insights import cv_warnings

    if found.scores.empty:
        out.print("No objective has enough measured membranes for a leave-one-out check yet.")
    else:
        shown = found.scores.assign(objective=found.scores["objective"].map(spec.label))
        for col in shown.select_dtypes("number").columns:
            shown[col] = round_significant(shown[col])
        print_frame(shown, "Leave-one-out on the model scale (decades for log10 objectives)")
    for problem in found.skipped:
        out.print(f"{problem.where}: {problem.what}")
    for warning in cv_warnings(spec, found.scores):
        out.print(f"Warning: {warning}")
    if found.predictions:
        path = parity_plot(found.predictions, plot or spec.folder / "diagnostics" / "parity.png")
        out.print(f"Parity plot: {path}")
    from formulate.model import fit_objective

    for obj, name in found.predictions:
        if name != names[0]:
            continue
        ls = lengthscales(fit_objective(spec, table, obj, name, cache_dir=model_cache(spec)))
        if not ls.empty:
            top = ", ".join(f"{k} {v:.2g}" for k, v in ls.head(4).items())
            out.print(f"{obj} ({name}): most relevant (shortest length-scales): {top}")


@app.command()
def demo(
    folder: Annotated[
        Path, typer.Option("--dir", help="where the demo campaign is written")
    ] = Path("demo-output"),
) -> None:
    """The main job on the embedded defaults: the paper's campaign, loaded and summarised."""
    from formulate.demo import run_demo

    run_demo(folder, out)


@app.command("build-kernel")
def build_kernel() -> None:
    """Build BoTorch's fused hypervolume kernel for this environment now (about 40 s, once;
    `make install` runs it), so that the first proposal compiles nothing."""
    from formulate.plan.kernel import prepare

    with err.status("building BoTorch's fused kernel (about 40 s, once)..."):
        state = prepare()
    out.print(state.said(), soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI; print user mistakes as one message (exit code 2)."""
    with collected_warnings() as caught:  # library warnings: one line at the end, not dozens
        try:
            app(args=argv, standalone_mode=True)
        except SystemExit as stop:
            code = int(stop.code or 0)
        except FormulateError as mistake:
            err.print(Text.assemble(("error:", "red"), " ", mistake.message()), soft_wrap=True)
            code = 2
        else:
            code = 0
    if caught:
        err.print(warnings_line(caught), soft_wrap=True, style="dim")
    return code


COLLECT_EVERY = (20_000, 20, 20)
"""The command's garbage-collector thresholds (Python's default: 700, 10, 10). Loading torch,
BoTorch and pandas makes some 500,000 objects that live to the process's end; with the
default, the collector sweeps them again and again while they load (0.3 s of full sweeps
alone). Collecting the youngest objects every 20,000 new ones leaves that to a few sweeps:
in ``formulate propose`` at 100 membranes the collector's time fell from 0.45-0.56 s to
0.20 s, 0.19 s sooner in the median of 18 paired runs (``docs/results/speed.md``)."""


def entry() -> None:
    """The ``formulate`` command: :func:`main` with :data:`COLLECT_EVERY`, then exit
    without the interpreter's last sweep of every object torch, BoTorch and pandas made
    (about 0.8 s after a proposal)."""
    gc.set_threshold(*COLLECT_EVERY)
    code = main()
    gc.freeze()  # the process ends here: no collection at shutdown
    sys.exit(code)


if __name__ == "__main__":
    entry()
