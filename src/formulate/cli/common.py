"""What every command shares: the consoles, the common options, opening a campaign."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer
from rich.console import Console

from formulate.data import Store, open_store
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
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]


def open_campaign(campaign: str, db: str | None) -> tuple[Campaign, Store]:
    spec = load_campaign(campaign)
    return spec, open_store(spec, db)


def print_frame(frame: pd.DataFrame, title: str = "") -> None:
    out.print(frame_table(frame, title))
