"""Exports: the campaign as an importable wide table, and every measurement with its history.

Text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
tab or carriage return) are written with a leading ``'`` (the OWASP rule for CSV injection);
the importer reads them back as they were."""

from __future__ import annotations

import pandas as pd

from formulate.data.records import FORMULA_START
from formulate.data.store import Store
from formulate.data.table import VALUE_PROVENANCE, campaign_table
from formulate.spec.campaign import Campaign


def export_table(campaign: Campaign, store: Store, who: bool = False) -> pd.DataFrame:
    """The campaign as an importable wide table: each property in its display unit (mS/cm for
    conductivity) with the unit in its header, batch numbers whole; ``who``: also who added
    each membrane and when (UTC; for the record, not for importing)."""
    table = campaign_table(campaign, store)
    props = campaign.all_properties()
    renames = {}
    for col in table.columns:
        prop = col.split("@")[0]
        if prop in props and not col.endswith("_censored") and props[prop].unit:
            table[col] = campaign.to_display(prop, table[col])
            renames[col] = f"{col} [{campaign.display_unit(prop)}]"
    if "batch" in table:
        table["batch"] = pd.to_numeric(table["batch"]).round().astype("Int64")
    table = table.drop(columns=VALUE_PROVENANCE, errors="ignore")  # per value: --measurements
    meta = store.membranes(campaign.name)
    kept = ["membrane", "source", "notes"]
    if who:
        meta = meta.rename(columns={"recorded_by": "added_by", "created_at": "added_at_utc"})
        kept += ["added_by", "added_at_utc"]
    if not table.empty:
        table = table.merge(meta[kept], on="membrane", how="left")
    return guard(table.rename(columns=renames))


def export_measurements(campaign: Campaign, store: Store) -> pd.DataFrame:
    """Every measurement ever logged (superseded and retracted ones marked), with its
    provenance."""
    return guard(store.measurements(campaign.name, history=True))


def guard(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell that starts like a formula prefixed by ``'``."""
    out = frame.copy()
    for col in out.select_dtypes(include=["object", "string"]).columns:
        out[col] = out[col].map(_guard_cell)
    return out


def _guard_cell(cell: object) -> object:
    return f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_START) else cell
