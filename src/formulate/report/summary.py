"""Summaries of a campaign's data for people: counts by status and the state of each objective."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from rich import box
from rich.table import Table
from rich.text import Text

from formulate.data import STATUSES
from formulate.data.priors import source_rows
from formulate.data.table import VALUE_PROVENANCE
from formulate.errors import FormulateError
from formulate.report import display
from formulate.spec.campaign import Campaign
from formulate.units import round_significant, significant

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


def objective_view(campaign: Campaign, table: pd.DataFrame) -> pd.DataFrame:
    """:func:`objective_summary` as people read it: short names, display units (mS/cm), best
    value to three significant digits (``>=`` a lower bound) with its membrane."""
    summary = objective_summary(campaign, table)
    best = [
        "" if b is None or pd.isna(b) else (">=" if c else "") + significant(shown)
        for b, c, shown in zip(
            summary["best"],
            summary["best_censored"],
            [
                campaign.to_display(p, [b])[0]
                for p, b in zip(summary["objective"], summary["best"], strict=True)
            ],
            strict=True,
        )
    ]
    return pd.DataFrame(
        {
            "objective": [campaign.label(p) for p in summary["objective"]],
            "unit": [campaign.display_unit(p) or "-" for p in summary["objective"]],
            "goal": summary["direction"].str.removesuffix("imize"),
            "measured": summary["measured"],
            "censored": summary["censored"],
            "best": best,
            "membrane": summary["best_membrane"].fillna(""),
        }
    )


def membrane_view(campaign: Campaign, table: pd.DataFrame, wide: bool = False) -> pd.DataFrame:
    """One row per membrane for people: id, status, batch, each objective in its display unit
    (``>=`` marks a lower bound: a cell still running), what it still awaits; ``wide`` adds
    provenance and the formulation."""
    cols = ["membrane", "status", "batch"]
    if wide:
        cols += ["provenance", *campaign.space.names()]
    shown = pd.concat(
        [display.numbers(campaign, table[cols]), display.outcomes(campaign, table)], axis=1
    )
    if wide:
        shown["provenance"] = row_provenance(table)
    shown["awaiting"] = awaiting(campaign, table)
    return shown


def row_provenance(table: pd.DataFrame) -> pd.Series:
    """Per membrane, where its numbers come from: its current values' provenance (``mixed:
    ...`` when they differ, a value logged by hand over an emulated one is ``measured``), else
    the membrane's own (``proposed`` while pending, ``imported`` ...)."""
    own = table["provenance"] if "provenance" in table else pd.Series("", index=table.index)
    values = table.get(VALUE_PROVENANCE, pd.Series(None, index=table.index, dtype=object))
    return values.where(values.notna(), own)


def awaiting(campaign: Campaign, table: pd.DataFrame) -> pd.Series:
    """Per membrane, the objectives still to measure, by their short names (``"t+, Li|Li
    life"``); empty for one fully measured, failed or abandoned. A membrane with only its
    conductivity is ``measured`` by status, yet awaits the rest."""
    text = pd.Series("", index=table.index, dtype=object)
    for prop in (o.property for o in campaign.objectives):
        missing = table[prop].isna() if prop in table else pd.Series(True, index=table.index)
        text = text + np.where(missing, f"{campaign.label(prop)}, ", "")
    done = table["status"].isin(["failed", "abandoned"])
    return text.str.removesuffix(", ").where(~done, "")


def _cell(value: object) -> Text:
    return Text(
        significant(value)
        if isinstance(value, float)
        else ("" if value is None or value is pd.NA else str(value))
    )


def frame_table(frame: pd.DataFrame, title: str = "") -> Table:
    """A compact rich table of a DataFrame for the terminal (numbers to three significant
    digits; every cell printed as written, never read as markup)."""
    table = Table(title=Text(title) if title else None, box=box.SIMPLE_HEAD, pad_edge=False)
    for col in frame.columns:  # a unit under its name: narrow columns at 80 characters
        table.add_column(Text(str(col).replace(" [", "\n[")))
    for rec in frame.itertuples(index=False):
        table.add_row(*(_cell(v) for v in rec))
    return table


def run_tables(spec: Campaign, result: RunResult) -> list[Table]:
    """A run's progress after each batch and its Pareto set, as tables in display units."""
    hist = result.history.copy()
    for o in spec.objectives:
        hist[display.header(spec, o.property)] = spec.to_display(
            o.property, hist.pop(f"best {o.property}")
        )
    pareto = display.compact(spec, result.pareto, ("membrane", "batch"))
    return [
        frame_table(hist, "Progress after each batch (best so far; hypervolume on model scale)"),
        frame_table(pareto, "Pareto set"),
    ]


def proposal_view(campaign: Campaign, proposals: pd.DataFrame, wide: bool = False) -> pd.DataFrame:
    """Proposals as a table: id and batch when stored, the formulation (three significant
    digits), "mean [low, high]" per objective in its display unit, the reason; ``wide`` adds
    the acquisition value (log scale for the log-acquisitions: higher is better)."""
    keep = [c for c in ("membrane", "batch") if c in proposals] + campaign.space.names()
    view = display.numbers(campaign, proposals[keep])
    records = proposals.to_dict("records")
    for o in campaign.objectives:
        if f"{o.property}_mean" in proposals:
            view[display.header(campaign, o.property) + " (95%)"] = [
                display.interval(campaign, r, o.property) for r in records
            ]
    if wide and "acquisition" in proposals:
        view["acquisition"] = round_significant(proposals["acquisition"])
    view["reason"] = proposals["reason"]
    return view


def proposal_lines(campaign: Campaign, proposals: pd.DataFrame, title: str) -> Table:
    """Proposals for a terminal of any width (80 columns included): per membrane its
    formulation, its predictions with 95% intervals, and why, each wrapped in one column."""
    table = Table(title=Text(title), box=None, show_header=False, pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for i, rec in enumerate(proposals.to_dict("records"), start=1):
        lines = [
            display.formulation(campaign, rec),
            ", ".join(
                t
                for o in campaign.objectives
                if (t := display.predicted(campaign, rec, o.property))
            ),
            f"why: {rec.get('reason', '')}",
        ]
        table.add_row(
            Text(str(rec.get("membrane", f"#{i}"))), Text("\n".join(x for x in lines if x))
        )
    return table


def describe(campaign: Campaign) -> list[str]:
    """The campaign in plain words: space, objectives, constraints."""
    lines = [f"Campaign {campaign.name}: {campaign.title}".rstrip(": ")]
    lines += ["Variables:"] + [f"  {line}" for line in campaign.space.describe()]
    lines.append("Objectives:")
    props = campaign.all_properties()
    for o in campaign.objectives:
        unit, shown = props[o.property].unit, campaign.display_unit(o.property)
        ref = ""
        if o.reference is not None:
            ref = f", reference {significant(campaign.to_display(o.property, [o.reference])[0])}"
            ref += f" {shown}".rstrip()
            ref += f" ({o.reference:g} {unit} in the file)" if shown != unit else ""
        cens = ", right-censored while running" if o.property in campaign.censorable() else ""
        scatter = campaign.scatter.get(o.property)
        spread = f", replicate scatter {scatter}" if scatter else ", noise learned"
        lines.append(
            f"  {o.direction} {campaign.label(o.property)} ({o.property}) [{shown or '-'}] on "
            f"{o.transform} scale{ref}{cens}{spread}"
        )
    lines += [f"  constraint: {c.describe()}" for c in campaign.outcome_constraints]
    if campaign.film_risks:
        lines.append("Film risks (stated chance to form; films made update it):")
        lines += [f"  {r.describe()}" for r in campaign.film_risks]
    if campaign.priors:
        lines.append("Prior sources (the models learn how far each carries):")
        lines += [f"  {p.describe()}" for p in campaign.priors]
    s = campaign.strategy
    lines += [
        "Strategy:",
        f"  {s.acquisition}, batches of {s.batch_size}, surrogate {s.surrogate}",
        f"  warm-up: {s.warm_up_rule()} (min_measured)",
        "Measurements (days on an instrument, instruments):",
    ]
    for o in campaign.objectives:
        m = campaign.measurement(o.property)
        lines.append(f"  {o.property}: {m.duration_days:g} days, {m.instruments}")
    return lines


def status_summary(campaign: Campaign, table: pd.DataFrame) -> dict[str, object]:
    """What ``formulate status --json`` and the Python API's ``status()`` give: counts per
    status, per objective how many are measured and the best so far, and the prior sources'
    rows counted apart."""
    return {
        "campaign": campaign.name,
        "membranes": len(table),
        "status": status_counts(table),
        "objectives": objective_summary(campaign, table).to_dict("records"),
        "priors": prior_summary(campaign),
    }


def prior_summary(campaign: Campaign) -> list[dict[str, object]]:
    """Per ``[[prior]]`` source: its name, what differs, the rows the models learn from and
    the rows it has, or the problem that keeps it from being read."""
    try:
        sources = source_rows(campaign)
    except FormulateError as err:
        return [{"problem": err.message()}]
    return [
        {
            "name": s.prior.label,
            "differs": s.prior.differs,
            "rows": len(s.rows),
            "total": s.total,
            "columns": s.columns,
        }
        for s in sources
    ]


def prior_lines(campaign: Campaign) -> list[str]:
    """The campaign's prior sources counted apart from its membranes, for people."""
    lines = ["Prior rows (learned from, never membranes of this campaign):"]
    for s in prior_summary(campaign):
        if "problem" in s:
            lines.append(f"  cannot be read: {s['problem']}")
            continue
        of = f" of {s['total']}" if s["total"] != s["rows"] else ""
        lines.append(f"  {s['name']}: {s['rows']}{of} rows")
    return lines
