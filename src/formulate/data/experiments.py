"""A table of past experiments (a CSV, one row per membrane or replicate), read and validated
like an import but without a store: what a backtest replays and what a prior source teaches.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from formulate.data.cells import header_problems, importable_columns, read_table
from formulate.data.importer import plan_import
from formulate.data.notation import Readings, headers
from formulate.errors import FormulateError, Problem
from formulate.spec.campaign import Campaign


def read_experiments(campaign: Campaign, path: str | Path) -> pd.DataFrame:
    """Every row of a CSV of past experiments as a campaign table (formulation columns, values
    in canonical units, ``<prop>_censored`` flags), validated like an import: every bad row and
    column is named, and nothing is returned unless all are good. Headers are read as an import
    reads them (the campaign's ``[columns]``, lab spellings); columns that are neither
    variables, properties nor import columns are ignored. Rows without an objective are
    dropped.

    Raises:
        FormulateError: a bad header or row, or no values for an objective.
    """
    name = Path(path).name
    frame = read_table(path)
    known = {c for c in frame.columns if c in importable_columns(campaign, [c])}
    frame.columns = headers(campaign, frame.columns, known, Readings())  # [columns], t+, ...
    whole = header_problems(campaign, list(frame.columns), name)
    if whole:
        raise FormulateError(f"{name}: nothing was read", whole)
    frame = frame[importable_columns(campaign, frame.columns)].copy()
    if "membrane" not in frame:
        frame.insert(0, "membrane", [f"row {i + 2}" for i in range(len(frame))])
    frame["status"] = "measured"
    plan = plan_import(campaign, None, frame, source=name, provenance="imported")
    if plan.problems:
        raise FormulateError(f"{name}: nothing was imported", plan.problems)
    table = plan.table(campaign)
    objectives = [o.property for o in campaign.objectives]
    absent = [p for p in objectives if p not in table or table[p].isna().all()]
    if absent:
        raise FormulateError(
            f"{name} has no values for objective(s) {absent}",
            [
                Problem(str(path), f"no column {p}", "add the column or drop the objective")
                for p in absent
            ],
        )
    return table.dropna(subset=objectives, how="all").reset_index(drop=True)
