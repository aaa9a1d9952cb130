"""Import of membranes and outcomes (CSV files and pandas DataFrames), and seeding a store.

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

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from formulate.data.cells import (
    HEADER,
    LONG_COLUMNS,
    WIDE_META,
    absent_variables,
    flag,
    header_problems,
    make_measurement,
    no_header,
    outcome_header,
    read_table,
    records,
    suggest,
    text_problems,
    unguard,
)
from formulate.data.import_plan import ImportPlan
from formulate.data.notation import Readings, headers, property_name, read_formulation
from formulate.data.records import NewMeasurement, NewMembrane, same_id, whole_problem
from formulate.data.results import formulation_problem, row_status
from formulate.data.schema import FILM, STATUSES
from formulate.data.store import Store
from formulate.errors import FormulateError, Problem
from formulate.spec.campaign import PROVENANCES, Campaign
from formulate.spec.space import MISSING

MAX_HEADER = 200
"""Longest column header read (checked before any parsing of it)."""


def plan_import(
    campaign: Campaign,
    store: Store | None,
    frame: pd.DataFrame,
    source: str = "DataFrame",
    provenance: str = "imported",
    planned: ImportPlan | None = None,
    surprising: bool = False,
) -> ImportPlan:
    """Validate a wide or long table against the campaign and the store (None: a table read
    on its own, with no membranes before it); write nothing.

    ``planned``: membranes already planned earlier in the same transaction (seed files).
    ``surprising``: the person confirmed that values outside the plausible ranges are real.
    Rows are numbered as in a spreadsheet: the header is row 1.
    """
    if all(d == np.dtype(object) for d in frame.dtypes) and not frame.isna().to_numpy().any():
        frame = frame.copy(deep=False)  # already as read_table reads: strings, no NaN
    else:
        frame = frame.astype(object).where(frame.notna(), "").astype(str)
    frame.columns = [str(c).strip() for c in frame.columns]
    if long := [c for c in frame.columns if len(c) > MAX_HEADER]:
        fix = f"shorten it to at most {MAX_HEADER} characters"
        return ImportPlan(
            problems=[
                Problem(f"{source}, column '{c[:40]}...'", f"{len(c)} characters", fix)
                for c in long
            ]
        )
    if frame.empty:
        return ImportPlan(
            problems=[Problem(source, "no rows under the header", "add one row per membrane")]
        )
    for col in frame.columns:  # undo an export's guard against spreadsheet formulas
        guarded = frame[col].str.startswith("'")
        if guarded.any():  # a new column: the caller's frame is left as it was
            frame[col] = frame[col].map(unguard)
    readings = Readings()
    if {"property", "value"} <= set(frame.columns):
        frame.columns = headers(campaign, frame.columns, set(LONG_COLUMNS), readings)
        plan = _plan_long(campaign, store, frame, source, provenance, planned, readings, surprising)
    else:
        known = {*campaign.space.names(), *WIDE_META, "membrane"}
        known |= {c for c in frame.columns if outcome_header(campaign, c)}
        frame.columns = headers(campaign, frame.columns, known, readings)
        plan = _plan_wide(campaign, store, frame, source, provenance, planned, surprising)
    readings.update(plan.readings)  # the headers' readings first
    plan.readings = readings
    return plan


def _known_membranes(
    campaign: Campaign, store: Store | None, planned: ImportPlan | None
) -> dict[str, dict]:
    """``{id: formulation and status}`` of the membranes before this import."""
    frame = store.membranes(campaign.name) if store is not None else pd.DataFrame()
    known = {}
    if not frame.empty:
        names = [*campaign.space.names(), "status"]
        for rec in frame.to_dict("records"):
            known[rec["membrane"]] = {n: rec.get(n) for n in names}
    for m in planned.membranes if planned else []:
        known[m.membrane] = {**m.formulation, "status": m.status}
    return known


def _plan_wide(
    campaign: Campaign,
    store: Store | None,
    frame: pd.DataFrame,
    source: str,
    provenance: str,
    planned: ImportPlan | None,
    surprising: bool,
) -> ImportPlan:
    plan = ImportPlan()
    space = campaign.space
    props = campaign.all_properties()
    outcome_cols: dict[str, tuple[str, float | None, str | None]] = {}
    censor_cols: dict[tuple[str, float | None], str] = {}
    bare = no_header(campaign, list(frame.columns), source)
    if bare:
        plan.problems.append(bare)
        return plan
    whole = header_problems(campaign, list(frame.columns), source)
    absent = absent_variables(campaign, list(frame.columns))
    for col in frame.columns:
        if col == "membrane" or col in space.variables or col in WIDE_META:
            continue
        m = HEADER.match(col)
        if m and m["prop"] in props:
            temp = float(m["temp"]) if m["temp"] else None
            if m["censored"]:
                censor_cols[(m["prop"], temp)] = col
            else:
                outcome_cols[col] = (m["prop"], temp, m["unit"])
            continue
        options = [*space.names(), *props, *WIDE_META]
        plan.problems.append(
            Problem(
                f"{source}, column {col}",
                "unknown column",
                suggest(m["prop"] if m else col, options),
            )
        )
    if "membrane" not in frame.columns:  # after the column checks: every problem at once
        plan.problems += [Problem(source, "no 'membrane' column", "add a column of ids"), *whole]
        return plan
    known = _known_membranes(campaign, store, planned)
    ids = [same_id(mid.strip()) for mid in frame["membrane"]]
    whole = whole if set(ids) - set(known) else []  # results of known membranes need none
    plan.problems += whole  # a variable without a column: said once, not once per row
    counts = Counter(ids)
    for i, rec in enumerate(records(frame)):
        where = f"{source} row {i + 2}"
        mid = ids[i]
        bad = text_problems(rec, where)
        if bad:
            plan.problems += bad
            continue
        if counts[mid] > 1:
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
        rec = read_formulation(space, rec, plan.readings)
        before = known[mid]["status"] if mid in known else None
        if before is not None:
            problem = formulation_problem(space.names(), rec, known[mid], mid, where)
            plan.problems += [problem] if problem else []
        else:
            _plan_membrane(campaign, rec, mid, where, row_prov, source, plan)
        made: list[NewMeasurement] = []
        meta = {k: rec.get(k, "").strip() for k in ("recorded_by", "method")}
        for col, (prop, temp, unit) in outcome_cols.items():
            cell = rec[col].strip()
            if not cell:
                continue
            flag_col = censor_cols.get((prop, temp))
            censored = flag(rec[flag_col]) if flag_col else False
            if censored is None:
                assert flag_col is not None
                plan.problems.append(
                    Problem(
                        f"{where}, column {flag_col}",
                        f"'{rec[flag_col]}' is not true/false",
                        "write true for a cell still running, else false",
                    )
                )
                continue
            value = make_measurement(
                campaign,
                mid,
                prop,
                cell,
                where=f"{where}, column {col}",
                unit=unit,
                censored=censored,
                temperature_C=temp,
                provenance=row_prov,
                source=source,
                recorded_by=meta["recorded_by"],
                method=meta["method"],
                readings=plan.readings,
                surprising=surprising,
            )
            (plan.problems if isinstance(value, Problem) else made).append(value)  # type: ignore[arg-type]
        plan.measurements += made
        _plan_status(plan, rec, mid, where, before, made, row_prov, source)
    if whole:  # each row's "missing" for a column the file lacks is that one problem again
        said = {f"column {n}" for n in absent}
        plan.problems = [
            p for p in plan.problems if not (p.what == MISSING and p.where.split(", ")[-1] in said)
        ]
    return plan


def _plan_status(
    plan: ImportPlan,
    rec: Mapping[str, str],
    mid: str,
    where: str,
    before: str | None,
    made: list[NewMeasurement],
    provenance: str,
    source: str,
) -> None:
    """A row's status and notes (:func:`row_status`): a failed film also gets
    ``film_formed`` 0; a membrane already in the campaign is moved on and its notes added."""
    film = next((m.value for m in made if m.property == FILM), None)
    values = any(m.property != FILM for m in made)
    status, problem = row_status(where, rec.get("status", ""), before or "pending", film, values)
    if problem is not None:
        plan.problems.append(problem)
        return
    if status == "failed" and film is None:
        plan.measurements.append(
            NewMeasurement(mid, FILM, 0.0, "", provenance, source=source, note="status failed")
        )
    if before is None:
        return  # a new membrane carries its status and notes itself
    if status is not None:
        plan.status_updates[mid] = status
    if note := rec.get("notes", "").strip():
        plan.notes[mid] = note


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
    status = rec.get("status", "").strip().casefold() or "pending"  # checked by row_status
    batch_cell = rec.get("batch", "").strip()
    batch = None
    if batch_cell:
        number = pd.to_numeric(batch_cell, errors="coerce")
        problem = whole_problem(f"{where}, column batch", float(number))
        if problem is None:
            batch = int(number)
        else:
            problems.append(
                Problem(problem.where, f"'{batch_cell}' is not a batch number", problem.fix)
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
                status=status if status in STATUSES else "pending",
                batch=batch,
                source=rec.get("source", "").strip() or source,
                assumed=assumed,
                notes=rec.get("notes", "").strip(),
            )
        )


def _plan_long(
    campaign: Campaign,
    store: Store | None,
    frame: pd.DataFrame,
    source: str,
    provenance: str,
    planned: ImportPlan | None,
    readings: Readings,
    surprising: bool,
) -> ImportPlan:
    plan = ImportPlan()
    for col in frame.columns:
        if col not in LONG_COLUMNS:
            plan.problems.append(
                Problem(f"{source}, column {col}", "unknown column", suggest(col, LONG_COLUMNS))
            )
    if "membrane" not in frame.columns:
        plan.problems.append(Problem(source, "no 'membrane' column", "add the membrane ids"))
        return plan
    known = _known_membranes(campaign, store, planned)
    seen: dict[tuple, tuple[str, float]] = {}
    for i, rec in enumerate(records(frame)):
        where = f"{source} row {i + 2}"
        mid = same_id(rec["membrane"].strip())
        bad = text_problems(rec, where)
        if bad:
            plan.problems += bad
            continue
        if mid not in known:
            plan.problems.append(
                Problem(
                    f"{where}, column membrane",
                    f"unknown membrane '{mid}'",
                    "import its formulation first (a wide table)",
                )
            )
            continue
        censored = flag(rec.get("censored", ""))
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
        if censored is None or row_prov not in PROVENANCES:
            column, fix = (
                ("censored", "write true or false")
                if censored is None
                else ("provenance", f"use one of {list(PROVENANCES)}")
            )
            plan.problems.append(Problem(f"{where}, column {column}", "invalid value", fix))
            continue
        made = make_measurement(
            campaign,
            mid,
            property_name(campaign, rec["property"].strip(), readings),
            rec["value"],
            where=f"{where}, column value",
            unit=rec.get("unit", "").strip() or None,
            censored=censored,
            temperature_C=temperature,
            provenance=row_prov,
            source=source,
            method=rec.get("method", "").strip(),
            recorded_by=rec.get("recorded_by", "").strip(),
            note=(rec.get("note", "") or rec.get("where", "")).strip(),
            readings=readings,
            surprising=surprising,
        )
        if isinstance(made, NewMeasurement) and (twice := _twice(made, where, seen)):
            plan.problems.append(twice)
        (plan.problems if isinstance(made, Problem) else plan.measurements).append(made)  # type: ignore[arg-type]
    return plan


def _twice(
    made: NewMeasurement, where: str, seen: dict[tuple, tuple[str, float]]
) -> Problem | None:
    """A second value of one membrane's property at one temperature in the same file (which
    one is meant cannot be told): both rows named; the same value twice is kept once."""
    key = (made.membrane, made.property, made.temperature_C)
    if key not in seen:
        seen[key] = (where, made.value)
        return None
    first, value = seen[key]
    if value == made.value:
        return None
    at = "" if made.temperature_C is None else f" at {made.temperature_C:g} C"
    return Problem(
        f"{where}, column value",
        f"{made.membrane} {made.property}{at} has another value in {first}",
        "keep one row per membrane, property and temperature (log a correction afterwards)",
    )


def commit(campaign: Campaign, store: Store, plan: ImportPlan, mark_seeded: bool = False) -> None:
    """Write a plan if it has no problems; otherwise raise, writing nothing."""
    if plan.problems:
        read = "; ".join(plan.readings.lines())
        raise FormulateError(
            "nothing was imported" + (f" (read as: {read})" if read else ""), plan.problems
        )
    store.add(
        campaign.name,
        plan.membranes,
        plan.measurements,
        mark_seeded=mark_seeded,
        status_updates=plan.status_updates,
        notes=plan.notes,
    )


def import_table(
    campaign: Campaign,
    store: Store,
    table: str | Path | pd.DataFrame,
    provenance: str = "imported",
    surprising: bool = False,
    name: str | None = None,
) -> ImportPlan:
    """Import a CSV file or a DataFrame, all or nothing (``surprising``: values outside the
    plausible ranges are real; ``name``: what messages call the table, by default the file's
    name or "DataFrame"). Returns what was written."""
    source = name or ("DataFrame" if isinstance(table, pd.DataFrame) else Path(table).name)
    # read in the call: a file's cells are freed as soon as the plan has them
    frame = table if isinstance(table, pd.DataFrame) else read_table(table)
    plan = plan_import(campaign, store, frame, source, provenance, surprising=surprising)
    del frame
    commit(campaign, store, plan)
    return plan


def seed(campaign: Campaign, store: Store) -> None:
    """Load the campaign's seed files when the campaign enters its store, in one transaction.

    Only then: a store that already holds the campaign (seeded or not, however few records it
    has left) is never seeded again."""
    if campaign.name in store.campaigns():
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
