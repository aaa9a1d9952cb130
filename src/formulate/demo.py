"""The main job on the embedded defaults: the paper's campaign, loaded and summarised, the
virtual lab's answer for the paper's filler-ratio series, and a short closed-loop run against
the virtual lab (everything from the virtual lab labelled as emulated)."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.text import Text

from formulate.data import campaign_table, open_store
from formulate.lab.plugins import measure_formulations
from formulate.lab.run import run_campaign
from formulate.lab.virtual import VirtualLab
from formulate.plan.planner import Request
from formulate.plan.progress import plot_history
from formulate.report import display
from formulate.report.summary import (
    describe,
    frame_table,
    objective_view,
    run_tables,
    status_counts,
)
from formulate.spec.campaign import load_campaign
from formulate.units import significant


def run_demo(folder: Path, console: Console) -> Path:
    """Copy the cheng2023 template into ``folder/campaigns/cheng2023`` (fresh), load its store,
    and print the campaign, its stated data and an emulated filler-ratio sweep. Returns the
    campaign folder."""
    target = folder / "campaigns" / "cheng2023"
    if target.exists():
        shutil.rmtree(target)
    source = Path(str(resources.files("formulate") / "templates" / "cheng2023"))
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.db*"))
    spec = load_campaign(target)
    store = open_store(spec)
    console.rule(Text(f"formulate demo: {spec.name}", style="bold"))
    console.print("\n".join(describe(spec)), markup=False)
    table = campaign_table(spec, store)
    counts = status_counts(table)
    console.print(
        f"\nStore: {store.shown_url}\n{len(table)} membranes ("
        + ", ".join(f"{n} {s}" for s, n in counts.items())
        + ")",
        markup=False,
    )
    paper = display.compact(spec, table, ("membrane",))
    paper.insert(
        paper.columns.get_loc("formulation"),
        "at 60 C [mS/cm]",
        [
            significant(v)
            for v in spec.to_display("ionic_conductivity", table["ionic_conductivity@60C"])
        ],
    )
    console.print(
        frame_table(
            paper,
            "The paper's membranes (stated; THF fraction and EO:Li assumed; >= a cell still "
            "running)",
        )
    )
    console.print(frame_table(objective_view(spec, table), "Objectives"))
    sweep = pd.DataFrame(
        [
            {
                "membrane": f"{f}-{w:g}",
                "filler": f,
                "filler_wt_pct": w,
                "polymer": "PEO",
                "solvent": "THF_DCM",
                "thf_fraction": 0.5,
                "eo_li_ratio": 16.0,
            }
            for f in ("cluster_chain", "nanowire")
            for w in (2.5, 5.0, 7.5, 10.0, 12.5)
        ]
    )
    results = measure_formulations(spec, sweep, source="filler-ratio sweep", noise=False)
    canonical = results.rename(
        columns={
            "ionic_conductivity [S/cm]": "ionic_conductivity",
            "li_symmetric_life [h]": "li_symmetric_life",
        }
    )
    sweep_view = pd.concat(
        [canonical[["membrane", "provenance"]], display.outcomes(spec, canonical)], axis=1
    )
    console.print(
        frame_table(
            sweep_view,
            "Virtual lab, filler-ratio sweep at 25 C "
            "(EMULATED, noise off; not the paper's numbers)",
        )
    )
    console.rule("Closed loop: 3 x 4 by qLogNEHVI, measured by the VIRTUAL lab")
    lab = VirtualLab(seed=0, fillers=spec.space.levels("filler"))
    request = Request(batch_size=4, strategy=spec.strategy.acquisition, seed=spec.strategy.seed)
    with console.status("proposing and measuring (emulated)..."):
        result = run_campaign(spec, store, lab, 3, request, rid="demo")
    for table in run_tables(spec, result):
        console.print(table)
    plot = plot_history(spec, result.history, target / "runs" / "demo.png")
    console.print(
        f"\nProgress plot: {plot}\nCampaign folder: {target}  (try: formulate status {target})",
        markup=False,
    )
    return target
