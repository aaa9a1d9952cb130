"""The campaign as a wide table: one row per membrane, its formulation, the current value of
each property (canonical units) and censor flags. The one shape the model, the planner, the
reports and the exports read."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from formulate.data.cell_tests import cell_tests, with_running_bounds
from formulate.spec.campaign import Campaign

if TYPE_CHECKING:
    from formulate.data.store import Store


def column_name(prop: str, temperature_C: float | None, reference_C: float | None) -> str:
    """Wide-table column for a property at a temperature: ``ionic_conductivity`` at the
    campaign's reference temperature (or none given), ``ionic_conductivity@60C`` otherwise."""
    if temperature_C is None or math.isnan(temperature_C) or reference_C is None:
        return prop
    if math.isclose(temperature_C, reference_C):
        return prop
    return f"{prop}@{temperature_C:g}C"


def wide_table(
    members: pd.DataFrame,
    measurements: pd.DataFrame,
    variables: Iterable[str],
    reference_C: float | None = 25.0,
    censorable: Iterable[str] = (),
) -> pd.DataFrame:
    """Pivot membranes (one row each, see :meth:`Store.membranes`) and their current
    measurements (long form, ordered by id) into one row per membrane: formulation, then the
    latest value of each property (``prop@60C`` for other temperatures), then a
    ``<prop>_censored`` flag for each censorable property."""
    variables = list(variables)
    base_cols = ["membrane", "status", "batch", "provenance", "assumed", *variables]
    if members.empty:
        return pd.DataFrame(columns=base_cols)
    members = members.copy()
    for v in variables:
        if v not in members:
            members[v] = None
    wide = members[base_cols].set_index("membrane")
    meas = measurements.copy()
    censorable = set(censorable)
    if not meas.empty:
        meas["column"] = [
            column_name(p, t, reference_C)
            for p, t in zip(meas["property"], meas["temperature_C"], strict=True)
        ]
        # latest per (membrane, column): measurements are ordered by id
        latest = meas.groupby(["membrane", "column"], sort=False).last()
        values = latest["value"].unstack("column")
        values = values[sorted(values.columns)]
        wide = wide.join(values)
        for col in values.columns:
            if col.split("@")[0] in censorable:
                flags = latest["censored"].unstack("column")[col]
                wide[f"{col}_censored"] = flags.reindex(wide.index).fillna(False).astype(bool)
    for prop in sorted(censorable):
        if prop in wide and f"{prop}_censored" not in wide:
            wide[f"{prop}_censored"] = False
    return wide.reset_index()


def campaign_table(campaign: Campaign, store: Store, now: datetime | None = None) -> pd.DataFrame:
    """The campaign at ``now`` (default: the present): one row per membrane with formulation,
    current outcomes (canonical units, ``prop@60C`` away from the reference temperature) and
    censor flags; a cycling life still on test, or stopped, is a lower bound of its hours run."""
    values = store.measurements(campaign.name)
    table = wide_table(
        store.membranes(campaign.name),
        values,
        campaign.space.names(),
        campaign.reference_temperature_C,
        campaign.censorable(),
    )
    tests = cell_tests(campaign, store, now, values)
    return with_running_bounds(campaign, table, tests) if len(tests) else table
