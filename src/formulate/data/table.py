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
from formulate.data.records import MEMBRANE_COLUMNS
from formulate.errors import FormulateError, Problem
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
        series = meas[["property", "temperature_C"]].drop_duplicates()  # a few, named once
        series["column"] = [
            column_name(p, t, reference_C)
            for p, t in zip(series["property"], series["temperature_C"], strict=True)
        ]
        meas = meas.merge(series, on=["property", "temperature_C"], how="left")
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
    wide[VALUE_PROVENANCE] = _value_provenance(meas).reindex(wide.index)
    return wide.reset_index()


VALUE_PROVENANCE = "value_provenance"
"""The provenance of a membrane's current values: one (``measured``), several (``mixed:
emulated, measured``), or missing when it has none."""


def _value_provenance(meas: pd.DataFrame) -> pd.Series:
    """Per membrane, the provenance of its current values (:data:`VALUE_PROVENANCE`)."""
    if meas.empty or "provenance" not in meas:
        return pd.Series(dtype=object)
    pairs = meas[["membrane", "provenance"]].drop_duplicates().sort_values("provenance")
    kinds = pairs.groupby("membrane", sort=False)["provenance"]
    one = kinds.size() == 1  # most membranes: one kind, read without a Python call each
    out = kinds.first().astype(object)
    mixed = pairs[pairs["membrane"].isin(one.index[~one])].groupby("membrane")["provenance"]
    out[~one] = mixed.agg(lambda p: "mixed: " + ", ".join(p)).reindex(out.index[~one])
    return out


def campaign_table(campaign: Campaign, store: Store, now: datetime | None = None) -> pd.DataFrame:
    """The campaign at ``now`` (default: the present): one row per membrane with formulation,
    current outcomes (canonical units, ``prop@60C`` away from the reference temperature) and
    censor flags; a cycling life still on test, or stopped, is a lower bound of its hours run."""
    values = store.measurements(campaign.name)
    members = store.membranes(campaign.name)
    if problems := space_problems(campaign, members):
        raise FormulateError(
            f"{campaign.folder / 'campaign.toml'} drops what recorded membranes use; "
            "nothing was changed",
            problems,
        )
    table = wide_table(
        members,
        values,
        campaign.space.names(),
        campaign.reference_temperature_C,
        campaign.censorable(),
    )
    tests = cell_tests(campaign, store, now, values)
    return with_running_bounds(campaign, table, tests) if len(tests) else table


def space_problems(campaign: Campaign, members: pd.DataFrame) -> list[Problem]:
    """Variables and levels that recorded ``members`` (:meth:`Store.membranes`, or a campaign
    table) use but ``campaign`` lacks: the records are kept, so the campaign file must keep
    them (a narrowed range is fine: its membranes stay recorded)."""
    space, problems = campaign.space, []
    known = {*space.names(), *MEMBRANE_COLUMNS, VALUE_PROVENANCE}
    for name in members.columns:
        used = members[name].dropna() if name not in known else None
        if used is not None and len(used) and not _is_outcome(campaign, name):
            problems.append(
                Problem(name, f"a variable used by {len(used)} membrane(s)", "keep it in [space]")
            )
    for name in space.categorical_names():
        values = members[name].dropna() if name in members else pd.Series(dtype=object)
        for level in sorted(set(values) - set(space.levels(name))):
            users = members.loc[members[name] == level, "membrane"].tolist()
            problems.append(
                Problem(
                    f"{name} = {level}",
                    f"used by {len(users)} membrane(s): {', '.join(map(str, users[:3]))}",
                    "keep the level; to stop proposing it, forbid it under [[forbidden]]",
                )
            )
    return problems


def _is_outcome(campaign: Campaign, column: str) -> bool:
    """A campaign table's outcome column (``ionic_conductivity@60C``, ``..._censored``)."""
    name = column.split("@")[0].removesuffix("_censored")
    return name in campaign.all_properties()
