"""What every command shares: the consoles, the common options, opening a campaign."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console

from formulate.data import Store, open_store
from formulate.errors import FormulateError, Problem
from formulate.report.summary import frame_table
from formulate.spec.campaign import Campaign, load_campaign

out = Console(markup=False)
err = Console(stderr=True, markup=False)
"""Consoles that never read markup: ids, notes and paths are people's text, printed as
written (``M[/]`` stays ``M[/]``)."""

CampaignArg = Annotated[str, typer.Argument(help="campaign folder or name under campaigns/")]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db", help="database URL (default: the campaign's SQLite file, or $FORMULATE_DB_URL)"
    ),
]


def flag(*names: str, **settings: Any) -> Any:
    """A boolean option (``--dry-run``, ``--noise/--no-noise``): shown without a type."""
    return typer.Option(*names, metavar="", **settings)


JsonOpt = Annotated[bool, flag("--json", help="print JSON for scripts")]
WideOpt = Annotated[
    bool, flag("--wide", help="every column (formulation, provenance); needs ~200 columns")
]
FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        help="table (for people, fits 80 columns), csv (display units in the headers) or json",
    ),
]
FORMATS = ("table", "csv", "json")


def open_campaign(campaign: str, db: str | None) -> tuple[Campaign, Store]:
    """The campaign and its store, acting as whoever runs the command (``$FORMULATE_TOKEN``'s
    account, else the operating-system user's; see :func:`formulate.data.accounts.acting`)."""
    from formulate.data.accounts import acting

    spec = load_campaign(campaign)
    return spec, acting(open_store(spec, db))


def print_frame(frame: pd.DataFrame, title: str = "") -> None:
    out.print(frame_table(frame, title))


def output_format(fmt: str, as_json: bool) -> str:
    """The chosen ``--format`` (``--json`` is ``--format json``).

    Raises:
        FormulateError: an unknown format, with the ones there are.
    """
    chosen = "json" if as_json else fmt.strip().lower()
    if chosen not in FORMATS:
        raise FormulateError(
            f"unknown format '{fmt}'",
            [Problem("--format", f"'{fmt}' is not a format", "use " + ", ".join(FORMATS))],
        )
    return chosen


def print_text(text: str) -> None:
    """Text for scripts (CSV, JSON), never wrapped at the terminal's width."""
    out.print(text.rstrip("\n"), soft_wrap=True, highlight=False)


def emitted(chosen: str, view: pd.DataFrame, raw: pd.DataFrame, output: Path | None) -> bool:
    """Write ``view`` (display units in the headers) to ``output`` when given; for ``--format
    json`` print ``raw`` (canonical units), for ``csv`` print ``view``. False when the caller
    is to print its table for people."""
    from formulate.report.display import csv_text

    if output:
        output.write_text(csv_text(view))
    if chosen == "json":
        out.print_json(raw.to_json(orient="records"))
    elif chosen == "csv":
        print_text(csv_text(view))
    return chosen in ("json", "csv")
