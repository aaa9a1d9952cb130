"""Exports: the campaign as an importable wide table, and every measurement with its history."""

from __future__ import annotations

import pandas as pd

from formulate.data.store import Store
from formulate.data.table import campaign_table
from formulate.spec.campaign import Campaign


def export_table(campaign: Campaign, store: Store) -> pd.DataFrame:
    """The campaign as an importable wide table with units in the headers."""
    table = campaign_table(campaign, store)
    props = campaign.all_properties()
    renames = {}
    for col in table.columns:
        prop = col.split("@")[0]
        if prop in props and not col.endswith("_censored") and props[prop].unit:
            renames[col] = f"{col} [{props[prop].unit}]"
    meta = store.membranes(campaign.name)
    if not table.empty:
        table = table.merge(meta[["membrane", "source", "notes"]], on="membrane", how="left")
    return table.rename(columns=renames)


def export_measurements(campaign: Campaign, store: Store) -> pd.DataFrame:
    """Every measurement ever logged (superseded ones marked), with its provenance."""
    return store.measurements(campaign.name, history=True)
