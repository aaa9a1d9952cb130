"""The verbs that read and write records: import, export, log, mark, retract, abandon.
Cheap: none of them loads torch."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from formulate.api import OpenCampaign
from formulate.cli.common import CampaignArg, DbOpt, flag, open_campaign, out
from formulate.data import (
    abandon as abandon_membranes,
)
from formulate.data import (
    export_measurements,
    export_table,
    import_table,
)
from formulate.data import mark as mark_membrane
from formulate.data import retract as retract_value
from formulate.errors import FormulateError, Problem
from formulate.report.display import csv_text, logged, value_text
from formulate.spec.campaign import PROVENANCES


def import_(
    campaign: CampaignArg,
    file: Annotated[Path, typer.Argument(help="CSV: wide (one row per membrane) or long")],
    provenance: Annotated[
        str,
        typer.Option(help=f"one of {list(PROVENANCES)}, unless the file has a provenance column"),
    ] = "imported",
    surprising: Annotated[
        bool,
        flag("--surprising", help="store values outside the plausible ranges: they are real"),
    ] = False,
    db: DbOpt = None,
) -> None:
    """Import membranes and outcomes from a CSV, all or nothing."""
    if provenance not in PROVENANCES:
        raise FormulateError(
            f"unknown provenance '{provenance}'",
            [Problem("--provenance", provenance, f"use one of {PROVENANCES}")],
        )
    spec, store = open_campaign(campaign, db)
    plan = import_table(spec, store, file, provenance=provenance, surprising=surprising)
    for line in plan.readings.lines():
        out.print(f"Read: {line}")
    out.print(plan.said(f"{file} into {spec.name}"))


def export(
    campaign: CampaignArg,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="CSV file")] = None,
    measurements: Annotated[
        bool,
        flag(
            help="every measurement (with superseded ones "
            "and provenance) instead of one row per membrane"
        ),
    ] = False,
    who: Annotated[
        bool, flag(help="who added each membrane and when (measurements always say who and when)")
    ] = False,
    db: DbOpt = None,
) -> None:
    """Export the campaign's data with provenance (stdout when no -o)."""
    spec, store = open_campaign(campaign, db)
    frame = export_measurements(spec, store) if measurements else export_table(spec, store, who)
    if output:
        output.write_text(csv_text(frame), encoding="utf-8")
        out.print(f"Wrote {len(frame)} rows to {output}.")
    else:
        sys.stdout.write(csv_text(frame))


def log(
    campaign: CampaignArg,
    membrane: Annotated[str, typer.Argument(help="membrane id")],
    prop: Annotated[str, typer.Argument(metavar="PROPERTY", help="e.g. ionic_conductivity")],
    value: Annotated[str, typer.Argument(help="e.g. 5.2e-4, '0.52 mS/cm', '>600 h'")],
    unit: Annotated[str | None, typer.Option(help="unit when VALUE has none")] = None,
    censored: Annotated[bool, flag("--censored", help="a lower bound: cell still running")] = False,
    temperature: Annotated[
        float | None, typer.Option(help="measurement temperature in C (default: the campaign's)")
    ] = None,
    by: Annotated[str, typer.Option(help="who measured")] = "",
    method: Annotated[str, typer.Option(help="e.g. EIS, Bruce-Vincent")] = "",
    note: Annotated[str, typer.Option(help="free text")] = "",
    surprising: Annotated[
        bool,
        flag("--surprising", help="store a value outside the plausible range: it is real"),
    ] = False,
    db: DbOpt = None,
) -> None:
    """Log one outcome. A new value supersedes the previous one; nothing is overwritten."""
    spec, store = open_campaign(campaign, db)
    made = OpenCampaign(spec, store).log_value(
        membrane,
        prop,
        value,
        unit=unit,
        censored=censored,
        temperature_C=temperature,
        by=by,
        method=method,
        note=note,
        surprising=surprising,
        where="VALUE",
        source="cli",
    )
    out.print(logged(spec, membrane, made, value if unit is None else f"{value} {unit}"))


def mark(
    campaign: CampaignArg,
    membrane: Annotated[str, typer.Argument(help="membrane id")],
    new_status: Annotated[
        str, typer.Argument(metavar="STATUS", help="made, measured, failed or abandoned")
    ],
    note: Annotated[str, typer.Option(help="why (e.g. film cracked)")] = "",
    by: Annotated[str, typer.Option(help="who")] = "",
    db: DbOpt = None,
) -> None:
    """Move a membrane to made, measured or failed (a film that did not form: recorded as
    film_formed = 0, which the planner learns from)."""
    spec, store = open_campaign(campaign, db)
    mark_membrane(spec, store, membrane, new_status, note, by)
    out.print(f"{membrane} is now {new_status}.")


def retract(
    campaign: CampaignArg,
    membrane: Annotated[str, typer.Argument(help="membrane id")],
    prop: Annotated[str, typer.Argument(metavar="PROPERTY", help="e.g. ionic_conductivity")],
    temperature: Annotated[
        float | None,
        typer.Option(help="measurement temperature in C (default: the campaign's)"),
    ] = None,
    reason: Annotated[str, typer.Option(help="why (e.g. wrong cell constant)")] = "",
    by: Annotated[str, typer.Option(help="who")] = "",
    db: DbOpt = None,
) -> None:
    """Withdraw a wrong value (kept in the history, marked retracted; the value before it, if any, is current again)."""  # noqa: E501
    spec, store = open_campaign(campaign, db)
    value = retract_value(spec, store, membrane, prop, temperature, by, reason)
    out.print(f"Retracted {membrane} {spec.label(prop)} = {value_text(spec, prop, value)}.")


def abandon(
    campaign: CampaignArg,
    membranes: Annotated[
        list[str] | None, typer.Argument(metavar="[MEMBRANE]...", help="membrane ids")
    ] = None,
    batch: Annotated[int | None, typer.Option(help="every pending or made membrane of it")] = None,
    note: Annotated[str, typer.Option(help="why (e.g. salt batch contaminated)")] = "",
    db: DbOpt = None,
) -> None:
    """Abandon pending membranes (never to be made): the planner stops counting them as
    pending; they stay in the history."""
    spec, store = open_campaign(campaign, db)
    done = abandon_membranes(spec, store, membranes, batch, note)
    out.print(f"Abandoned {len(done)} membrane(s): {', '.join(done)}.")
