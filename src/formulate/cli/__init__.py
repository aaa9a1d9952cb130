"""The ``formulate`` command line. Thin: it parses, calls the package, and prints.

Verbs that need models or backtests import them when they run, so that the cheap verbs
(``status``, ``log``, ``import``, ``export``) start without loading torch.

CAMPAIGN is a campaign folder (``campaigns/cheng2023``) or a name under ``campaigns/``.
Every user mistake is one readable message and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from formulate.cli.backtest import backtest_app
from formulate.cli.common import (
    CampaignArg,
    DbOpt,
    JsonOpt,
    err,
    open_campaign,
    out,
    print_frame,
)
from formulate.data import (
    Store,
    campaign_table,
    export_measurements,
    export_table,
    import_table,
    make_measurement,
    read_table,
)
from formulate.data import mark as mark_membrane
from formulate.errors import FormulateError, Problem
from formulate.spec.campaign import PROVENANCES, Campaign, init_campaign, load_campaign
from formulate.spec.strategies import STRATEGIES

if TYPE_CHECKING:
    from formulate.lab.plugins import Lab
    from formulate.lab.run import RunResult
    from formulate.plan.planner import Request
from formulate.report.summary import (
    membrane_view,
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
app.add_typer(backtest_app, name="backtest")


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
    spec, store = open_campaign(campaign, db)
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
    print_frame(objectives, "Objectives (best values; censored = lower bound, cell still running)")
    print_frame(membrane_view(spec, table), "Membranes")
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
    spec, store = open_campaign(campaign, db)
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
    spec, store = open_campaign(campaign, db)
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
    spec, store = open_campaign(campaign, db)
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
    """Move a membrane to made, measured or failed (a film that did not form: recorded as
    film_formed = 0, which the planner learns from)."""
    spec, store = open_campaign(campaign, db)
    mark_membrane(spec, store, membrane, new_status, note)
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
    replicates: Annotated[bool, typer.Option(help="allow formulations already made")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show, do not store")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="proposals CSV")] = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Propose the next batch and store it as pending membranes (unless --dry-run)."""
    from formulate.plan.planner import Request, store_proposals
    from formulate.plan.planner import propose as plan

    spec, store = open_campaign(campaign, db)
    request = Request.for_campaign(
        spec,
        weight,
        batch_size=batch,
        strategy=strategy,
        seed=seed,
        device=device,
        surrogate=surrogate,
        target=target,
        replicates=replicates,
    )
    with err.status("reading the campaign...") as status:
        proposals = plan(spec, campaign_table(spec, store), request, step=status.update)
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
    print_frame(proposal_view(spec, proposals), title)


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
    from formulate.lab.plugins import resolve_lab
    from formulate.lab.run import run_id
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
    rid = run_name or run_id(spec, lab, request, batches)
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
    every: Annotated[bool, typer.Option("--all", help="every surrogate family")] = False,
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
    print_frame(found.scores, "Leave-one-out (model scale: log10 S/cm, logit t+, log10 h)")
    for problem in found.skipped:
        out.print(f"{problem.where}: {problem.what}", markup=False)
    if found.predictions:
        path = parity_plot(found.predictions, plot or spec.folder / "diagnostics" / "parity.png")
        out.print(f"Parity plot: {path}", markup=False)
    from formulate.model import fit_objective

    for obj, name in found.predictions:
        if name != names[0]:
            continue
        ls = lengthscales(fit_objective(spec, table, obj, name, cache_dir=model_cache(spec)))
        if not ls.empty:
            top = ", ".join(f"{k} {v:.2g}" for k, v in ls.head(4).items())
            out.print(
                f"{obj} ({name}): most relevant (shortest length-scales): {top}", markup=False
            )


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
