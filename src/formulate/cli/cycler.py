"""Slow measurements: which made membranes go on the instruments, and the cells running there.

``formulate schedule`` ranks made membranes by the value of testing them now;
``formulate test start|stop|list`` records the cells on the instruments.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from formulate.cli.common import (
    CampaignArg,
    DbOpt,
    FormatOpt,
    emitted,
    flag,
    open_campaign,
    out,
    output_format,
    print_frame,
)
from formulate.data.cell_tests import cell_tests, start_test, stop_test
from formulate.data.table import campaign_table
from formulate.errors import FormulateError, Problem
from formulate.spec.campaign import Campaign
from formulate.units import round_significant

LIFE = "li_symmetric_life"
PropertyOpt = Annotated[str, typer.Option("--property", help="the property measured")]
AtOpt = Annotated[
    str | None,
    typer.Option("--at", help="when, as YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC; default: now)"),
]

test_app = typer.Typer(
    help="Cells on instruments: start a test, stop it, list what runs.", no_args_is_help=True
)


def schedule(
    campaign: CampaignArg,
    prop: PropertyOpt = LIFE,
    slots: Annotated[int, typer.Option("--slots", help="free instruments to fill")] = 1,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="CSV of the ranking")
    ] = None,
    fmt: FormatOpt = "table",
    as_json: Annotated[bool, flag("--json", help="print JSON for scripts")] = False,
    db: DbOpt = None,
) -> None:
    """Which made membranes to put on the instruments next for PROPERTY: those whose result is
    worth most per instrument-day now (expected hypervolume gain), with the reason."""
    from formulate.plan.schedule import nothing_to_schedule
    from formulate.plan.schedule import schedule as rank

    chosen = output_format(fmt, as_json)
    spec, store = open_campaign(campaign, db)
    now = datetime.now(UTC)
    tests = cell_tests(spec, store, now)
    table = campaign_table(spec, store, now)
    ranked = rank(spec, table, tests, prop, slots)
    view = _view(spec, ranked, prop)
    if emitted(chosen, view, ranked, output):
        return
    if ranked.empty:
        out.print(nothing_to_schedule(spec, table, tests, prop))
    else:
        print_frame(view.drop(columns="reason"), f"Next on the {prop} instruments")
        for membrane, reason in zip(view["membrane"], view["reason"], strict=True):
            out.print(f"{membrane}: {reason}", markup=False)


def _view(spec: Campaign, ranked: pd.DataFrame, prop: str) -> pd.DataFrame:
    """The ranking as a lab reads it: three significant digits, the property in its display
    unit, the chance in percent."""
    unit = spec.display_unit(prop)
    view = pd.DataFrame({"membrane": ranked["membrane"]})
    view["hypervolume gain [%/day]"] = round_significant(ranked["value_per_day"].astype(float))
    view["days on test"] = round_significant(ranked["days"].astype(float))
    shown = spec.to_display(prop, ranked["mean"].astype(float))
    view[f"{spec.label(prop)} [{unit}]"] = round_significant(pd.Series(shown))
    view["chance to beat best"] = [
        "" if pd.isna(c) else f"{c:.0%}" for c in ranked["chance"].astype(float)
    ]
    view["reason"] = ranked["reason"]
    return view


@test_app.command("start")
def start(
    campaign: CampaignArg,
    membrane: Annotated[str, typer.Argument(help="membrane id")],
    prop: PropertyOpt = LIFE,
    channel: Annotated[str, typer.Option(help="instrument channel, e.g. 3")] = "",
    at: AtOpt = None,
    by: Annotated[str, typer.Option("--by", help="who started it")] = "",
    db: DbOpt = None,
) -> None:
    """Record that a cell of MEMBRANE went on an instrument to measure PROPERTY."""
    spec, store = open_campaign(campaign, db)
    start_test(spec, store, membrane, prop, channel, _when(at), by)
    where = f" on channel {channel}" if channel else ""
    out.print(f"Started: {membrane}, {prop}{where}.", markup=False)


@test_app.command("stop")
def stop(
    campaign: CampaignArg,
    membrane: Annotated[str, typer.Argument(help="membrane id")],
    prop: PropertyOpt = LIFE,
    at: AtOpt = None,
    db: DbOpt = None,
) -> None:
    """Record that the cell was taken off its instrument (its value then exceeds its hours)."""
    spec, store = open_campaign(campaign, db)
    hours = stop_test(spec, store, membrane, prop, _when(at))
    out.print(f"Stopped: {membrane}, {prop} after {hours:.0f} h.", markup=False)


@test_app.command("list")
def list_tests(campaign: CampaignArg, db: DbOpt = None) -> None:
    """The cells on instruments, and those stopped or finished, with hours run."""
    spec, store = open_campaign(campaign, db)
    tests = cell_tests(spec, store)
    if tests.empty:
        out.print("No cell tests recorded ('formulate test start CAMPAIGN MEMBRANE').")
        return
    view = tests.drop(columns="stopped_at").assign(
        started_at=tests["started_at"].map(lambda t: f"{t:%Y-%m-%d %H:%M}")
    )
    view["hours"] = view["hours"].round(0).astype(int)
    print_frame(view, "Cell tests (hours: so far, to the stop, or to the result)")


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise FormulateError(
            f"cannot read the time '{text}'",
            [Problem("--at", text, "write YYYY-MM-DD or YYYY-MM-DDTHH:MM, e.g. 2026-11-26T09:30")],
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
