"""Summaries of a campaign's data for people: counts by status and the state of each objective."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from rich.markup import escape
from rich.table import Table

from formulate.data import STATUSES
from formulate.spec.campaign import Campaign

if TYPE_CHECKING:
    from formulate.lab.run import RunResult


def status_counts(table: pd.DataFrame) -> dict[str, int]:
    """Membranes per status (pending, made, measured, failed, then abandoned when there are
    any), zeros included."""
    counts = table["status"].value_counts() if not table.empty else pd.Series(dtype=int)
    found = {s: int(counts.get(s, 0)) for s in STATUSES}
    if not found["abandoned"]:
        del found["abandoned"]
    return found


def objective_summary(campaign: Campaign, table: pd.DataFrame) -> pd.DataFrame:
    """One row per objective: unit, direction, how many membranes have it, how many of those
    are censored (lower bounds), and the best value with its membrane."""
    props = campaign.all_properties()
    rows = []
    for obj in campaign.objectives:
        col = obj.property
        values = table[col].dropna() if col in table else pd.Series(dtype=float)
        flag = f"{col}_censored"
        censored = int(table.loc[values.index, flag].sum()) if flag in table and len(values) else 0
        best_idx = (values.idxmax() if obj.sign > 0 else values.idxmin()) if len(values) else None
        rows.append(
            {
                "objective": col,
                "unit": props[col].unit or "-",
                "direction": obj.direction,
                "measured": len(values),
                "censored": censored,
                "best": float(values[best_idx]) if best_idx is not None else None,
                "best_membrane": table.loc[best_idx, "membrane"] if best_idx is not None else None,
                "best_censored": bool(table.loc[best_idx, flag])
                if best_idx is not None and flag in table
                else False,
            }
        )
    return pd.DataFrame(rows)


def membrane_view(campaign: Campaign, table: pd.DataFrame) -> pd.DataFrame:
    """One row per membrane for people: id, status, batch, provenance, formulation, then each
    objective in its unit (``>=`` marks a lower bound: a cell still running)."""
    cols = ["membrane", "status", "batch", "provenance", *campaign.space.names()]
    shown = table[cols].copy()
    props = campaign.all_properties()
    for obj in campaign.objectives:
        col = obj.property
        if col not in table:
            continue
        flag = table.get(f"{col}_censored", pd.Series(False, index=table.index))
        shown[f"{col} [{props[col].unit or '-'}]"] = [
            "" if pd.isna(v) else (">=" if f is True else "") + f"{v:.4g}"
            for v, f in zip(table[col], flag, strict=True)
        ]
    shown["awaiting"] = awaiting(campaign, table)
    return shown


def awaiting(campaign: Campaign, table: pd.DataFrame) -> pd.Series:
    """Per membrane, the objectives still to measure (``"transference_number,
    li_symmetric_life"``); empty for one fully measured, failed or abandoned. A membrane with
    only its conductivity is ``measured`` by status, yet awaits the rest."""
    text = pd.Series("", index=table.index, dtype=object)
    for prop in (o.property for o in campaign.objectives):
        missing = table[prop].isna() if prop in table else pd.Series(True, index=table.index)
        text = text + np.where(missing, f"{prop}, ", "")
    done = table["status"].isin(["failed", "abandoned"])
    return text.str.removesuffix(", ").where(~done, "")


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return escape(f"{value:.4g}" if isinstance(value, float) else str(value))


def frame_table(frame: pd.DataFrame, title: str = "") -> Table:
    """A rich table of a DataFrame for the terminal (numbers to 4 significant digits)."""
    table = Table(title=escape(title) if title else None)
    for col in frame.columns:
        table.add_column(escape(str(col)))
    for rec in frame.itertuples(index=False):
        table.add_row(*(_cell(v) for v in rec))
    return table


def run_tables(spec: Campaign, result: RunResult) -> list[Table]:
    """A run's progress after each batch and its Pareto set, as tables."""
    cols = [
        "membrane",
        "batch",
        "provenance",
        *spec.space.names(),
        *[o.property for o in spec.objectives],
    ]
    return [
        frame_table(result.history, "Progress after each batch (hypervolume on model scale)"),
        frame_table(
            result.pareto[[c for c in cols if c in result.pareto]],
            "Pareto set (conductivity S/cm, life h)",
        ),
    ]


def proposal_view(spec: Campaign, proposals: pd.DataFrame) -> pd.DataFrame:
    """Proposals for people: formulation, then "mean [low, high]" per objective with its unit,
    then the reason."""
    props = spec.all_properties()
    keep = [c for c in ("membrane", "batch") if c in proposals] + spec.space.names()
    view = proposals[keep].copy()
    for o in spec.objectives:
        p = o.property
        if f"{p}_mean" in proposals:
            unit = props[p].unit
            view[f"{p} [{unit or '-'}] (95%)"] = [
                f"{m:.3g} [{lo:.3g}, {hi:.3g}]"
                for m, lo, hi in zip(
                    proposals[f"{p}_mean"],
                    proposals[f"{p}_lower"],
                    proposals[f"{p}_upper"],
                    strict=True,
                )
            ]
    view["reason"] = proposals["reason"]
    return view
