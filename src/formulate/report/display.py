"""How campaign data is shown to people: each property in its display unit (mS/cm for
conductivity unless the campaign chooses another, ``Campaign.display_unit``), three significant
digits (``units.significant``), the short names a lab uses (``t+``, ``Li|Li life``), units in
every header, formulations in one line.

Stored values stay in canonical units (S/cm, h); only views, downloads and printed tables go
through here, so the CLI, the app and the CSVs they write agree.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from formulate.data.cells import bare_number
from formulate.data.records import NewMeasurement
from formulate.spec.campaign import Campaign
from formulate.spec.variables import is_missing
from formulate.units import round_significant, significant


def header(campaign: Campaign, prop: str, short: bool = True) -> str:
    """A column header with the display unit: ``conductivity [mS/cm]``, or with ``short``
    False the importable ``ionic_conductivity [mS/cm]``."""
    unit = campaign.display_unit(prop)
    name = campaign.label(prop) if short else prop
    return f"{name} [{unit}]" if unit else name


def measured(campaign: Campaign, table: pd.DataFrame, prop: str) -> pd.Series:
    """The values of ``prop`` as people read them: display unit, three significant digits,
    ``>=`` before a lower bound (a cell still running), "" where missing."""
    if prop not in table:
        return pd.Series("", index=table.index, dtype=object)
    values = campaign.to_display(prop, pd.to_numeric(table[prop], errors="coerce"))
    flag = table.get(f"{prop}_censored", pd.Series(False, index=table.index))
    text = [
        "" if np.isnan(v) else (">=" if f is True else "") + significant(v)
        for v, f in zip(values, flag, strict=True)
    ]
    return pd.Series(text, index=table.index, dtype=object)


def value_text(campaign: Campaign, prop: str, value: float, censored: bool = False) -> str:
    """One value of ``prop`` (canonical unit) as people read it: ``>= 1500 h``, ``0.45 mS/cm``."""
    unit = campaign.display_unit(prop)
    shown = significant(float(campaign.to_display(prop, [value])[0]))
    return f"{'>= ' if censored else ''}{shown} {unit}".rstrip()


def logged(campaign: Campaign, membrane: str, made: NewMeasurement, cell: object) -> str:
    """What a log said back: ``Logged M1 conductivity = 0.45 mS/cm (0.45 without a unit read
    as mS/cm).`` (the reading only when ``cell`` had no unit)."""
    text = value_text(campaign, made.property, made.value, made.censored)
    unit = campaign.display_unit(made.property)
    read = (
        f" ({str(cell).strip()} without a unit read as {unit})"
        if unit and bare_number(cell)
        else ""
    )
    return f"Logged {membrane} {campaign.label(made.property)} = {text}{read}."


def outcomes(campaign: Campaign, frame: pd.DataFrame) -> pd.DataFrame:
    """Each objective of ``frame`` (canonical columns) as :func:`measured` text under its
    header with the display unit (``conductivity [mS/cm]``)."""
    return pd.DataFrame(
        {
            header(campaign, o.property): measured(campaign, frame, o.property)
            for o in campaign.objectives
        },
        index=frame.index,
    )


def compact(campaign: Campaign, frame: pd.DataFrame, keep: tuple[str, ...]) -> pd.DataFrame:
    """Membranes for an 80-column terminal: the ``keep`` columns, each objective as people read
    it, then the formulation as one line of text (a table cell that wraps)."""
    out = pd.concat(
        [numbers(campaign, frame[[c for c in keep if c in frame]]), outcomes(campaign, frame)],
        axis=1,
    )
    out["formulation"] = [formulation(campaign, r) for r in frame.to_dict("records")]
    return out


def numbers(campaign: Campaign, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with numeric formulation values to three significant digits and batch numbers
    whole (no ``1.0``, no ``0.50250000001``)."""
    out = frame.copy()
    for name in campaign.space.numeric_names():
        if name in out:
            out[name] = round_significant(pd.to_numeric(out[name], errors="coerce"))
    if "batch" in out:
        out["batch"] = pd.to_numeric(out["batch"], errors="coerce").round().astype("Int64")
    return out


def formulation(campaign: Campaign, rec: Mapping[str, object]) -> str:
    """A formulation in one line: levels as written, numbers with name and unit
    (``cluster_chain, filler_wt_pct 2.5 wt%, PEO, THF_DCM, thf_fraction 0.5 v/v``); inactive
    variables left out."""
    parts = []
    for name, var in campaign.space.variables.items():
        value = rec.get(name)
        if is_missing(value):
            continue
        if name in campaign.space.categorical_names():
            parts.append(str(value))
        else:
            parts.append(f"{name} {significant(value)} {var.unit}".rstrip())
    return ", ".join(parts)


def interval(campaign: Campaign, rec: Mapping[str, object], prop: str) -> str:
    """``0.41 [0.2, 0.8]``: a prediction of ``prop`` and its 95% interval in the display unit;
    "" when the row has none."""
    if is_missing(rec.get(f"{prop}_mean")):
        return ""
    mean, low, high = campaign.to_display(
        prop, [rec[f"{prop}_mean"], rec[f"{prop}_lower"], rec[f"{prop}_upper"]]
    )
    return f"{significant(mean)} [{significant(low)}, {significant(high)}]"


def predicted(campaign: Campaign, rec: Mapping[str, object], prop: str) -> str:
    """``conductivity 0.41 [0.2, 0.8] mS/cm``; "" when the row has no prediction."""
    text = interval(campaign, rec, prop)
    unit = campaign.display_unit(prop)
    return f"{campaign.label(prop)} {text} {unit}".rstrip() if text else ""


def history_view(campaign: Campaign, history: pd.DataFrame) -> pd.DataFrame:
    """Every measurement (:meth:`Store.measurements` with ``history``) as people read it:
    the property's short name, its value in the display unit to three significant digits
    (``>=`` before a lower bound), the unit, what became of it, blanks for nothing."""
    props = campaign.all_properties()
    known = history["property"].isin(list(props))
    shown = history["value"].astype(float).to_numpy(copy=True)
    units = history["unit"].fillna("").astype(str).to_numpy(copy=True)
    for prop in history.loc[known, "property"].unique():
        rows = (history["property"] == prop).to_numpy()
        shown[rows] = campaign.to_display(prop, shown[rows])
        units[rows] = campaign.display_unit(prop)
    state = np.select(
        [history["retracted"], history["current"], history["superseded"]],
        ["retraction", "current", "superseded"],
        "withdrawn",
    )
    return pd.DataFrame(
        {
            "id": history["id"],
            "membrane": history["membrane"],
            "property": [campaign.label(p) if p in props else p for p in history["property"]],
            "value": [
                (">= " if c else "") + significant(v)
                for v, c in zip(shown, history["censored"], strict=True)
            ],
            "unit": units,
            "temperature [C]": [significant(t) for t in history["temperature_C"]],
            "state": state,
            "provenance": history["provenance"],
            "recorded": [f"{t:%Y-%m-%d %H:%M}" for t in history["recorded_at"]],
            "by": history["recorded_by"].fillna(""),
            "method": history["method"].fillna(""),
            "note": history["note"].fillna(""),
            "source": history["source"].fillna(""),
        }
    )


def csv_text(frame: pd.DataFrame) -> str:
    """A frame as CSV without float noise (``4.5e-05``, not ``4.4999999999999996e-05``): ten
    significant digits keep every measured figure and drop the binary rounding."""
    return frame.to_csv(index=False, float_format="%.10g")
