"""Import and export of membranes and outcomes (CSV files and pandas DataFrames).

Two table shapes are read:

* **wide**, one row per membrane: ``membrane``, the formulation variables, then outcome
  columns named by property, optionally with a temperature and a unit in the header
  (``ionic_conductivity@60C [mS/cm]``); cells may carry their own unit (``0.52 mS/cm``) and a
  leading ``>`` for a censored value; ``<property>_censored`` columns flag cells still running.
  Optional: ``status``, ``batch``, ``provenance``, ``source``, ``assumed``, ``notes``,
  ``recorded_by``, ``method``.
* **long**, one row per measurement of an existing membrane: ``membrane``, ``property``,
  ``value``, and optionally ``unit``, ``temperature_C``, ``censored``, ``provenance``,
  ``method``, ``recorded_by``, ``note`` (or ``where``).

Import is all or nothing: every bad row and column is reported at once, with the fix, and
nothing is written unless the whole input is valid.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from formulate.campaign import PROVENANCES, Campaign
from formulate.errors import FormulateError, Problem
from formulate.store import STATUSES, NewMeasurement, NewMembrane, Store, column_name
from formulate.units import parse_value

_HEADER = re.compile(
    r"^(?P<prop>[A-Za-z_][A-Za-z0-9_]*?)(?:@(?P<temp>-?\d+(?:\.\d+)?)\s*C)?"
    r"(?P<censored>_censored)?(?:\s*\[(?P<unit>[^\]]*)\])?$"
)
_WIDE_META = (
    "status",
    "batch",
    "provenance",
    "source",
    "assumed",
    "notes",
    "recorded_by",
    "method",
)
_LONG_COLUMNS = (
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


@dataclass
class ImportPlan:
    """What an import would write, validated against the campaign and the store."""

    membranes: list[NewMembrane] = field(default_factory=list)
    measurements: list[NewMeasurement] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def extend(self, other: ImportPlan) -> None:
        self.membranes += other.membranes
        self.measurements += other.measurements
        self.problems += other.problems


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV as strings (no type guessing), with a clear error for an unreadable file."""
    path = Path(path)
    if not path.is_file():
        raise FormulateError(f"no file {path}", [Problem(str(path), "not found", "check the path")])
    try:
        return pd.read_csv(
            path, dtype=str, keep_default_na=False, skipinitialspace=True, comment=None
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise FormulateError(
            f"{path} is not a readable CSV",
            [Problem(str(path), str(err).strip(), "save it as UTF-8 CSV")],
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
    **meta: Any,
) -> NewMeasurement | Problem:
    """Turn one value (number, ``"0.52 mS/cm"``, ``">1500 h"``) into a measurement in
    canonical units, or a :class:`Problem` saying what is wrong at ``where``."""
    props = campaign.all_properties()
    spec = props.get(prop)
    if spec is None:
        return Problem(where, f"unknown property '{prop}'", _suggest(prop, props))
    try:
        parsed = parse_value(cell, spec.unit, unit)
    except ValueError as err:
        return Problem(where, str(err), f"write a number in {spec.unit or 'plain units'}")
    value, is_censored = parsed.value, parsed.censored or censored
    if spec.low is not None and value < spec.low:
        return Problem(
            where,
            f"{prop} {value:g} {spec.unit} is below {spec.low:g}".replace("  ", " "),
            f"a {prop} must be at least {spec.low:g}",
        )
    if spec.high is not None and value > spec.high:
        return Problem(
            where,
            f"{prop} {value:g} is above {spec.high:g}",
            f"a {prop} lies in [{spec.low:g}, {spec.high:g}]",
        )
    if is_censored and prop not in campaign.censorable():
        return Problem(
            where, f"{prop} cannot be censored (marked '>' or _censored)", "give the measured value"
        )
    if temperature_C is None and spec.at_temperature:
        temperature_C = campaign.reference_temperature_C
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


def _suggest(name: str, options: Iterable[str]) -> str:
    options = list(options)
    close = difflib.get_close_matches(name, options, n=1)
    return f"did you mean '{close[0]}'?" if close else f"use one of {sorted(options)}"


def _flag(cell: str) -> bool | None:
    text = str(cell).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def plan_import(
    campaign: Campaign,
    store: Store,
    frame: pd.DataFrame,
    source: str = "DataFrame",
    provenance: str = "imported",
    planned: ImportPlan | None = None,
) -> ImportPlan:
    """Validate a wide or long table against the campaign and the store; write nothing.

    ``planned``: membranes already planned earlier in the same transaction (seed files).
    Rows are numbered as in a spreadsheet: the header is row 1.
    """
    frame = frame.astype(object).where(frame.notna(), "").astype(str)
    frame.columns = [str(c).strip() for c in frame.columns]
    if {"property", "value"} <= set(frame.columns):
        return _plan_long(campaign, store, frame, source, provenance, planned)
    return _plan_wide(campaign, store, frame, source, provenance, planned)


def _known_membranes(
    campaign: Campaign, store: Store, planned: ImportPlan | None
) -> dict[str, dict]:
    frame = store.membranes(campaign.name)
    known = {}
    if not frame.empty:
        names = campaign.space.names()
        for rec in frame.to_dict("records"):
            known[rec["membrane"]] = {n: rec.get(n) for n in names}
    for m in planned.membranes if planned else []:
        known[m.membrane] = m.formulation
    return known


def _plan_wide(
    campaign: Campaign,
    store: Store,
    frame: pd.DataFrame,
    source: str,
    provenance: str,
    planned: ImportPlan | None,
) -> ImportPlan:
    plan = ImportPlan()
    space = campaign.space
    props = campaign.all_properties()
    outcome_cols: dict[str, tuple[str, float | None, str | None]] = {}
    censor_cols: dict[tuple[str, float | None], str] = {}
    if "membrane" not in frame.columns:
        plan.problems.append(
            Problem(source, "no 'membrane' column", "add a column of membrane ids")
        )
        return plan
    for col in frame.columns:
        if col == "membrane" or col in space.variables or col in _WIDE_META:
            continue
        m = _HEADER.match(col)
        if m and m["prop"] in props:
            temp = float(m["temp"]) if m["temp"] else None
            if m["censored"]:
                censor_cols[(m["prop"], temp)] = col
            else:
                outcome_cols[col] = (m["prop"], temp, m["unit"])
            continue
        options = [*space.names(), *props, *_WIDE_META]
        plan.problems.append(
            Problem(
                f"{source}, column {col}",
                "unknown column",
                _suggest(m["prop"] if m else col, options),
            )
        )
    known = _known_membranes(campaign, store, planned)
    ids = list(frame["membrane"].str.strip())
    for i, rec in enumerate(frame.to_dict("records")):
        where = f"{source} row {i + 2}"
        mid = ids[i]
        if not mid:
            plan.problems.append(
                Problem(f"{where}, column membrane", "empty id", "give each row an id")
            )
            continue
        if ids.count(mid) > 1:
            plan.problems.append(
                Problem(
                    f"{where}, column membrane",
                    f"duplicate membrane id '{mid}' in the file",
                    "give each membrane its own id",
                )
            )
            continue
        row_prov = rec.get("provenance", "").strip() or provenance
        if row_prov not in PROVENANCES:
            plan.problems.append(
                Problem(
                    f"{where}, column provenance",
                    f"unknown '{row_prov}'",
                    f"use one of {list(PROVENANCES)}",
                )
            )
            continue
        if mid in known:
            _check_same_formulation(space.names(), rec, known[mid], mid, where, plan)
        else:
            _plan_membrane(campaign, rec, mid, where, row_prov, source, plan)
        meta = {k: rec.get(k, "").strip() for k in ("recorded_by", "method")}
        for col, (prop, temp, unit) in outcome_cols.items():
            cell = rec[col].strip()
            if not cell:
                continue
            flag_col = censor_cols.get((prop, temp))
            flag = _flag(rec[flag_col]) if flag_col else False
            if flag is None:
                plan.problems.append(
                    Problem(
                        f"{where}, column {flag_col}",
                        f"'{rec[flag_col]}' is not true/false",
                        "write true for a cell still running, else false",
                    )
                )
                continue
            made = make_measurement(
                campaign,
                mid,
                prop,
                cell,
                where=f"{where}, column {col}",
                unit=unit,
                censored=flag,
                temperature_C=temp,
                provenance=row_prov,
                source=source,
                **meta,
            )
            (plan.problems if isinstance(made, Problem) else plan.measurements).append(made)  # type: ignore[arg-type]
    return plan


def _check_same_formulation(
    names: list[str],
    rec: Mapping[str, str],
    stored: Mapping[str, Any],
    mid: str,
    where: str,
    plan: ImportPlan,
) -> None:
    """A row for a membrane already in the campaign adds outcomes; its formulation cells must
    be empty or equal to what is stored."""
    for name in names:
        cell = rec.get(name, "").strip()
        if not cell:
            continue
        have = stored.get(name)
        same = str(have) == cell
        if not same and isinstance(have, float):
            try:
                same = math.isclose(float(cell), have)
            except ValueError:
                same = False
        if not same:
            plan.problems.append(
                Problem(
                    f"{where}, column membrane",
                    f"duplicate membrane id '{mid}': already in the campaign with {name}={have}",
                    "use a new id, or leave the formulation cells empty to add outcomes to it",
                )
            )
            return


def _plan_membrane(
    campaign: Campaign,
    rec: Mapping[str, str],
    mid: str,
    where: str,
    provenance: str,
    source: str,
    plan: ImportPlan,
) -> None:
    clean, problems = campaign.space.check(rec, where)
    status = rec.get("status", "").strip() or "pending"
    if status not in STATUSES:
        problems.append(
            Problem(
                f"{where}, column status",
                f"unknown status '{status}'",
                f"use one of {list(STATUSES)}",
            )
        )
    batch_cell = rec.get("batch", "").strip()
    batch = None
    if batch_cell:
        try:
            batch = int(float(batch_cell))
        except ValueError:
            problems.append(
                Problem(
                    f"{where}, column batch",
                    f"'{batch_cell}' is not a whole number",
                    "write a batch number or leave it empty",
                )
            )
    assumed = tuple(a.strip() for a in rec.get("assumed", "").split(";") if a.strip())
    for name in assumed:
        if name not in campaign.space.variables:
            problems.append(
                Problem(
                    f"{where}, column assumed",
                    f"'{name}' is not a variable",
                    "list variable names separated by ';'",
                )
            )
    plan.problems += problems
    if not problems:
        plan.membranes.append(
            NewMembrane(
                membrane=mid,
                formulation=clean,
                provenance=provenance,
                status=status,
                batch=batch,
                source=rec.get("source", "").strip() or source,
                assumed=assumed,
                notes=rec.get("notes", "").strip(),
            )
        )


def _plan_long(
    campaign: Campaign,
    store: Store,
    frame: pd.DataFrame,
    source: str,
    provenance: str,
    planned: ImportPlan | None,
) -> ImportPlan:
    plan = ImportPlan()
    for col in frame.columns:
        if col not in _LONG_COLUMNS:
            plan.problems.append(
                Problem(f"{source}, column {col}", "unknown column", _suggest(col, _LONG_COLUMNS))
            )
    if "membrane" not in frame.columns:
        plan.problems.append(Problem(source, "no 'membrane' column", "add the membrane ids"))
        return plan
    known = _known_membranes(campaign, store, planned)
    for i, rec in enumerate(frame.to_dict("records")):
        where = f"{source} row {i + 2}"
        mid = rec["membrane"].strip()
        if mid not in known:
            plan.problems.append(
                Problem(
                    f"{where}, column membrane",
                    f"unknown membrane '{mid}'",
                    "import its formulation first (a wide table)",
                )
            )
            continue
        flag = _flag(rec.get("censored", ""))
        temp = rec.get("temperature_C", "").strip()
        row_prov = rec.get("provenance", "").strip() or provenance
        try:
            temperature = float(temp) if temp else None
        except ValueError:
            plan.problems.append(
                Problem(
                    f"{where}, column temperature_C",
                    f"'{temp}' is not a number",
                    "write the temperature in C or leave it empty",
                )
            )
            continue
        if flag is None or row_prov not in PROVENANCES:
            bad = (
                ("censored", "write true or false")
                if flag is None
                else ("provenance", f"use one of {list(PROVENANCES)}")
            )
            plan.problems.append(Problem(f"{where}, column {bad[0]}", "invalid value", bad[1]))
            continue
        made = make_measurement(
            campaign,
            mid,
            rec["property"].strip(),
            rec["value"],
            where=f"{where}, column value",
            unit=rec.get("unit", "").strip() or None,
            censored=flag,
            temperature_C=temperature,
            provenance=row_prov,
            source=source,
            method=rec.get("method", "").strip(),
            recorded_by=rec.get("recorded_by", "").strip(),
            note=(rec.get("note", "") or rec.get("where", "")).strip(),
        )
        (plan.problems if isinstance(made, Problem) else plan.measurements).append(made)  # type: ignore[arg-type]
    return plan


def commit(campaign: Campaign, store: Store, plan: ImportPlan, mark_seeded: bool = False) -> None:
    """Write a plan if it has no problems; otherwise raise, writing nothing."""
    if plan.problems:
        raise FormulateError("nothing was imported", plan.problems)
    store.add(campaign.name, plan.membranes, plan.measurements, mark_seeded=mark_seeded)


def import_table(
    campaign: Campaign,
    store: Store,
    table: str | Path | pd.DataFrame,
    provenance: str = "imported",
) -> ImportPlan:
    """Import a CSV file or a DataFrame, all or nothing. Returns what was written."""
    if isinstance(table, pd.DataFrame):
        frame, source = table, "DataFrame"
    else:
        frame, source = read_table(table), Path(table).name
    plan = plan_import(campaign, store, frame, source=source, provenance=provenance)
    commit(campaign, store, plan)
    return plan


def seed(campaign: Campaign, store: Store) -> None:
    """Load the campaign's seed files the first time its store is opened, in one transaction."""
    if store.is_seeded(campaign.name):
        return
    plan = ImportPlan()
    for entry in campaign.seed_data:
        path = campaign.folder / entry.file
        part = plan_import(
            campaign,
            store,
            read_table(path),
            source=entry.file,
            provenance=entry.provenance,
            planned=plan,
        )
        plan.extend(part)
    commit(campaign, store, plan, mark_seeded=True)


def open_store(campaign: Campaign, url: str | None = None) -> Store:
    """The campaign's store (seeded on first use)."""
    store = Store(url or campaign.store_url())
    seed(campaign, store)
    return store


def campaign_table(campaign: Campaign, store: Store) -> pd.DataFrame:
    """One row per membrane with formulation, current outcomes and censor flags."""
    return store.table(
        campaign.name,
        campaign.space.names(),
        campaign.reference_temperature_C,
        campaign.censorable(),
    )


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


__all__ = [
    "ImportPlan",
    "campaign_table",
    "column_name",
    "export_measurements",
    "export_table",
    "import_table",
    "make_measurement",
    "open_store",
    "plan_import",
    "read_table",
    "seed",
]
