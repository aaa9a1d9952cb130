"""The rows of a campaign's prior sources (``[[prior]]``): read, checked against the
campaign's design space, and kept apart from its own membranes.

A table is read like an import (:func:`formulate.data.experiments.read_experiments`, with the
source's own ``columns`` beside the campaign's). An earlier campaign is read from its own
store, read-only: its measured membranes, on the variables this campaign shares with it; an
objective measured there away from its reference temperature (``ionic_conductivity@60C``)
stands for the objective when it is the only one. Either way every formulation must lie in
this campaign's space, or nothing is read and the error names the row, column and fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from formulate.data.database import sqlite_path
from formulate.data.experiments import read_experiments
from formulate.data.store import Store
from formulate.data.table import campaign_table
from formulate.errors import FormulateError, Problem
from formulate.spec.campaign import Campaign, load_campaign
from formulate.spec.priors import Prior

MAX_SOURCE_ROWS = 120
"""Rows kept per source (an even spread over its rows, reproducibly): beyond a few hundred, a
source adds fitting time (cubic in all rows) more than knowledge."""


@dataclass(frozen=True)
class SourceRows:
    """One source's rows.

    Attributes:
        prior: the ``[[prior]]`` entry.
        task: the source's task index in the multi-task model (1, 2, ...; 0 is the campaign).
        rows: one row per experiment: ``membrane`` (``<source>:<row>``), the campaign's
            variables, objective values (canonical units) and ``<prop>_censored`` flags.
        total: rows the source has (``rows`` keeps at most :data:`MAX_SOURCE_ROWS`).
        columns: objective -> the source's column it came from (``ionic_conductivity@60C``).
    """

    prior: Prior
    task: int
    rows: pd.DataFrame
    total: int
    columns: dict[str, str]

    def describe(self) -> str:
        kept = f"{len(self.rows)} rows" + (
            f" (of {self.total}, evenly spread)" if self.total > len(self.rows) else ""
        )
        return f"{self.prior.describe()}; {kept}"


def source_rows(campaign: Campaign) -> tuple[SourceRows, ...]:
    """Every source of the campaign, read (once per file version) and checked.

    Raises:
        FormulateError: a source that cannot be read, or rows outside the campaign's space.
    """
    out = []
    for task, prior in enumerate(campaign.priors, start=1):
        key = (campaign.model_dump_json(), task, _version(campaign.prior_path(prior)))
        if key not in _READ:
            _READ[key] = _read(campaign, prior, task)
        out.append(_READ[key])
    return tuple(out)


_READ: dict[tuple[str, int, float], SourceRows] = {}


def _version(path: Path) -> float:
    """A file's or campaign folder's modification time (a cache key: a changed source is
    read again)."""
    if path.is_dir():
        files = [path / "campaign.toml", path / "formulate.db"]
        return max((f.stat().st_mtime for f in files if f.exists()), default=0.0)
    return path.stat().st_mtime if path.exists() else 0.0


def _read(campaign: Campaign, prior: Prior, task: int) -> SourceRows:
    if prior.table:
        table, columns = _from_table(campaign, prior)
    else:
        table, columns = _from_campaign(campaign, prior)
    names = campaign.space.names()
    keep = [c for c in table.columns if c in names or c in columns or c.endswith("_censored")]
    rows = table[keep].reset_index(drop=True)
    total = len(rows)
    if total > MAX_SOURCE_ROWS:
        step = total / MAX_SOURCE_ROWS
        rows = rows.iloc[[int(i * step) for i in range(MAX_SOURCE_ROWS)]].reset_index(drop=True)
    rows.insert(0, "membrane", [f"{prior.label}:{i + 1}" for i in range(len(rows))])
    return SourceRows(prior, task, rows, total, columns)


def _from_table(campaign: Campaign, prior: Prior) -> tuple[pd.DataFrame, dict[str, str]]:
    path = campaign.prior_path(prior)
    reading = campaign.model_copy(update={"columns": {**campaign.columns, **prior.columns}})
    table = read_experiments(reading, path)
    return table, {o.property: o.property for o in campaign.objectives}


def _from_campaign(campaign: Campaign, prior: Prior) -> tuple[pd.DataFrame, dict[str, str]]:
    folder = campaign.prior_path(prior)
    where = f"prior '{prior.label}' ({folder})"
    source = load_campaign(folder)
    url = source.store_url()
    file = sqlite_path(url)
    if file is not None and not file.is_file():
        raise FormulateError(
            f"{where} has no records yet",
            [Problem(where, f"no store at {file}", "log its membranes first, or drop the prior")],
        )
    table = campaign_table(source, Store(url))
    table = table[table["status"] == "measured"].reset_index(drop=True)
    missing = [n for n in campaign.space.names() if n not in source.space.names()]
    if missing:
        raise FormulateError(
            f"{where} lacks variables of this campaign",
            [
                Problem(where, f"no variable {n}", "give it that variable, or drop the prior")
                for n in missing
            ],
        )
    columns = {o.property: _objective_column(table, o.property) for o in campaign.objectives}
    found = {p: c for p, c in columns.items() if c is not None}
    if not found:
        raise FormulateError(
            f"{where} has no values for this campaign's objectives",
            [Problem(where, "no measured objective", "measure some, or drop the prior")],
        )
    out = table[campaign.space.names()].copy()
    for prop, col in found.items():
        out[prop] = table[col].to_numpy()
        flag = f"{col}_censored"
        out[f"{prop}_censored"] = table[flag].to_numpy() if flag in table else False
    problems = _space_problems(campaign, out, where)
    if problems:
        raise FormulateError(f"{where}: membranes outside this campaign's space", problems)
    return out.dropna(subset=list(found), how="all"), found


def _objective_column(table: pd.DataFrame, prop: str) -> str | None:
    """The source's column for ``prop``: its own, else the only one at another temperature."""
    if prop in table and table[prop].notna().any():
        return prop
    away = [c for c in table.columns if c.startswith(f"{prop}@") and not c.endswith("_censored")]
    return away[0] if len(away) == 1 else None


def _space_problems(campaign: Campaign, rows: pd.DataFrame, where: str) -> list[Problem]:
    problems: list[Problem] = []
    names = campaign.space.names()
    for i, raw in enumerate(rows[names].to_dict("records")):
        _, found = campaign.space.check(raw, where=f"{where}, membrane {i + 1}")
        problems += found
    if problems:
        problems.append(
            Problem(where, "rows outside this campaign's space", "widen the space or drop them")
        )
    return problems[:20]
