"""Cells and headers of lab tables: reading a CSV and its rows, a header such as
``ionic_conductivity@60C [mS/cm]`` (or a missing header line), a true/false flag, text no store
may keep, an exported cell guarded against formulas, and one value into a measurement."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import pandas as pd

from formulate.data.records import FORMULA_START, NewMeasurement, id_problem, text_problem
from formulate.errors import FormulateError, Problem
from formulate.spec.campaign import Campaign
from formulate.spec.properties import temperature_refusal
from formulate.units import NUMBER, lab_notation, parse_value

HEADER = re.compile(
    r"^(?P<prop>[A-Za-z_][A-Za-z0-9_]*?)(?:@(?P<temp>-?\d+(?:\.\d+)?)\s*C)?"
    r"(?P<censored>_censored)?(?:\s*\[(?P<unit>[^\]]*)\])?$"
)
WIDE_META = (
    "status",
    "batch",
    "provenance",
    "source",
    "assumed",
    "notes",
    "recorded_by",
    "method",
)
LONG_COLUMNS = (
    "membrane",
    "property",
    "value",
    "unit",
    "temperature_C",
    "censored",
    "provenance",
    "method",
    "recorded_by",
    "note",
    "where",
)
_TRUE = {"true", "1", "yes", "y", "t", "running", "censored"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def outcome_header(campaign: Campaign, column: str) -> re.Match[str] | None:
    """The parts of a column header naming a property of the campaign (``prop``, ``temp``,
    ``censored``, ``unit``), or None when the column is not an outcome column."""
    m = HEADER.match(column.strip())
    return m if m and m["prop"] in campaign.all_properties() else None


def importable_columns(campaign: Campaign, columns: Iterable[str]) -> list[str]:
    """The columns a wide import reads: ``membrane``, the variables, the optional columns
    and outcome columns; the rest are not for formulate."""
    names = set(campaign.space.names()) | {*WIDE_META, "membrane"}
    return [c for c in columns if c in names or outcome_header(campaign, str(c)) is not None]


def read_table(source: str | Path | IO[bytes], name: str | None = None) -> pd.DataFrame:
    """Read a CSV (a path, or an uploaded file called ``name``) as strings (no type
    guessing), with a clear error naming the file when it cannot be read."""
    if isinstance(source, str | Path):
        name = str(source)
        if not Path(source).is_file():
            raise FormulateError(f"no file {name}", [Problem(name, "not found", "check the path")])
    name = name or "upload"
    try:
        return pd.read_csv(
            source, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8"
        )
    except UnicodeDecodeError as err:
        what = f"byte {err.start} is not UTF-8 (saved as Latin-1 or Excel's ANSI?)"
        raise FormulateError(
            f"{name} is not a UTF-8 CSV", [Problem(name, what, "save it as 'CSV UTF-8'")]
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise FormulateError(
            f"{name} is not a readable CSV",
            [Problem(name, str(err).strip(), "check quotes and commas; save it as UTF-8 CSV")],
        ) from None


def make_measurement(
    campaign: Campaign,
    membrane: str,
    prop: str,
    cell: object,
    *,
    where: str,
    unit: str | None = None,
    censored: bool = False,
    temperature_C: float | None = None,
    provenance: str = "measured",
    surprising: bool = False,
    readings: Counter[str] | None = None,
    **meta: Any,
) -> NewMeasurement | Problem:
    """Turn one value (number, ``"0.52 mS/cm"``, ``">1500 h"``) into a measurement in
    canonical units, or a :class:`Problem` saying what is wrong at ``where``: not a finite
    number, outside the property's physical range, outside its plausible range (unless
    ``surprising``), a temperature outside -100..400 C, or a censored value of a property that
    cannot be censored.

    The bare-number rule: a number with no unit in its cell nor in ``unit`` (the column's)
    is in the unit people are shown for ``prop`` (``Campaign.display_unit``: ``0.45`` is
    0.45 mS/cm), and ``readings`` (when given) counts one line saying so."""
    props = campaign.all_properties()
    spec = props.get(prop)
    if spec is None:
        return Problem(where, f"unknown property '{prop}'", suggest(prop, props))
    shown = campaign.display_unit(prop)
    if unit is None and bare_number(cell):
        unit = shown
        if readings is not None and shown:
            readings[f"{campaign.label(prop)} without a unit read in {shown}"] += 1
    try:
        parsed = parse_value(cell, spec.unit, unit)
    except ValueError as err:
        return Problem(where, str(err), f"write a number in {shown or 'plain units'}")
    value, is_censored = parsed.value, parsed.censored or censored
    refusal = spec.refusal(prop, value, surprising, shown)
    if refusal is None and temperature_C is not None:
        refusal = temperature_refusal(temperature_C)
    if refusal is not None:
        return Problem(where, *refusal)
    if is_censored and prop not in campaign.censorable():
        return Problem(
            where, f"{prop} cannot be censored (marked '>' or _censored)", "give the measured value"
        )
    temperature_C = campaign.temperature_of(prop, temperature_C)
    return NewMeasurement(
        membrane=membrane,
        property=prop,
        value=value,
        unit=spec.unit,
        censored=is_censored,
        temperature_C=temperature_C,
        provenance=provenance,
        **meta,
    )


def canonical_headers(campaign: Campaign, table: pd.DataFrame) -> pd.DataFrame:
    """A table in canonical units (S/cm, h) as an import reads it: each outcome column headed
    with its canonical unit (``ionic_conductivity [S/cm]``), since a number under a header
    without a unit is in the display unit (mS/cm)."""
    props = campaign.all_properties()
    units = {c: f"{c} [{props[c].unit}]" for c in table.columns if c in props and props[c].unit}
    return table.rename(columns=units)


def bare_number(cell: object) -> bool:
    """True when ``cell`` is a number written without a unit (``0.45``, ``>600``)."""
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return True
    match = NUMBER.match(lab_notation(str(cell)))
    return match is not None and not match["unit"]


def suggest(name: str, options: Iterable[str]) -> str:
    """A fix for a name not among ``options``: the closest one, else the list when it is short,
    else where to find it (a list of 28 names repeated per column reads as noise)."""
    options = list(options)
    close = difflib.get_close_matches(name, options, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    if len(options) <= 8:
        return f"use one of {sorted(options)}"
    return "rename it to a name the campaign knows ('formulate show' lists them) or remove it"


def flag(cell: str) -> bool | None:
    """A true/false cell (``true``, ``running``, ``0``, empty...); None when it is neither."""
    text = str(cell).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def headerless(columns: Iterable[object], levels: Iterable[str] = ()) -> bool:
    """True when a table's "header" is a row of values (a CSV saved without its header line):
    at least half of its cells are numbers or ``levels`` (the campaign's level names)."""
    cells = [str(c).strip() for c in columns]
    known = set(levels)
    values = sum(c in known or pd.notna(pd.to_numeric(c, errors="coerce")) for c in cells)
    return len(cells) > 1 and values >= len(cells) / 2


def header_problems(campaign: Campaign, columns: list[str], source: str) -> list[Problem]:
    """What is wrong with a table's header as a whole, said once instead of once per row: no
    header line at all (:func:`no_header`), else each variable that every row needs without a
    column of its own (:func:`absent_variables`)."""
    bare = no_header(campaign, columns, source)
    if bare:
        return [bare]
    return [
        Problem(
            source,
            f"no column '{name}' (the file's columns: {', '.join(map(str, columns))})",
            f"add it, rename its header to '{name}', or map it under [columns] in the campaign",
        )
        for name in absent_variables(campaign, columns)
    ]


def no_header(campaign: Campaign, columns: list[str], source: str) -> Problem | None:
    """The problem of a table saved without its header line (its first row read as one)."""
    space = campaign.space
    levels = [lvl for name in space.categorical_names() for lvl in space.levels(name)]
    if not headerless(columns, levels):
        return None
    first = ", ".join(map(str, columns[:4]))
    return Problem(
        source,
        f"no header row: the first line holds values ({first}, ...)",
        "add a first line naming the columns: membrane, "
        + ", ".join(space.names())
        + ", then outcome columns such as ionic_conductivity [mS/cm]",
    )


def absent_variables(campaign: Campaign, columns: list[str]) -> list[str]:
    """Variables active for every formulation (no ``active_when``) that have no column."""
    variables = campaign.space.variables
    return [n for n, v in variables.items() if n not in columns and not v.active_when]


def records(frame: pd.DataFrame) -> Iterator[dict[str, str]]:
    """The rows as dicts, one at a time (a 100,000-row file is not copied whole)."""
    columns = list(frame.columns)
    for row in frame.itertuples(index=False, name=None):
        yield dict(zip(columns, row, strict=True))


def unguard(cell: str) -> str:
    """A cell as written before an export guarded it against spreadsheet formulas
    (``'=x`` -> ``=x``; see :func:`formulate.data.export.guard`)."""
    if cell.startswith("'") and cell[1:2] in FORMULA_START and len(cell) > 1:
        return cell[1:]
    return cell


def text_problems(rec: Mapping[str, str], where: str) -> list[Problem]:
    """Cells no store may keep (NUL and control characters, not Unicode, too long), and a
    membrane id that is not a usable id."""
    found = [text_problem(f"{where}, column {col}", cell) for col, cell in rec.items()]
    if "membrane" in rec:
        found.append(id_problem(f"{where}, column membrane", rec["membrane"].strip()))
    return [p for p in found if p is not None]
