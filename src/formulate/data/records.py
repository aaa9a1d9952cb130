"""Records to write (a new membrane, a new measurement) and the one check in front of both
stores, so that SQLite and PostgreSQL accept and refuse exactly the same things.

Every write goes through :func:`check_records` before a transaction opens. It refuses text no
database should keep (NUL and other control characters, text that is not valid Unicode, ids
longer than the columns, ids a spreadsheet would run as a formula), numbers that are not finite
or not whole where whole numbers are meant, unknown statuses and provenances, and measurements
outside their property's physical range or at impossible temperatures.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from formulate.data.schema import STATUSES
from formulate.errors import Problem
from formulate.spec.campaign import MEASUREMENT_PROVENANCES, PROVENANCES
from formulate.spec.properties import Property, temperature_refusal
from formulate.spec.variables import is_missing


@dataclass(frozen=True, slots=True)
class NewMembrane:
    """A membrane to add. ``formulation`` maps every variable to its value (None: inactive)."""

    membrane: str
    formulation: dict[str, Any]
    provenance: str
    status: str = "pending"
    batch: int | None = None
    source: str = ""
    assumed: tuple[str, ...] = ()
    notes: str = ""
    recorded_by: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.membrane, str):  # anything else is refused by check_records
            object.__setattr__(self, "membrane", same_id(self.membrane))


@dataclass(frozen=True, slots=True)
class NewMeasurement:
    """A measured value, already in the property's canonical ``unit``.

    ``censored``: the value is a lower bound (e.g. life of a cell still running, in h).
    ``temperature_C``: measurement temperature in C (None: not temperature-specific).
    """

    membrane: str
    property: str
    value: float
    unit: str
    provenance: str
    censored: bool = False
    temperature_C: float | None = None
    method: str = ""
    recorded_by: str = ""
    source: str = ""
    note: str = ""
    recorded_at: datetime | None = None

    def __post_init__(self) -> None:
        if isinstance(self.membrane, str):  # anything else is refused by check_records
            object.__setattr__(self, "membrane", same_id(self.membrane))


MAX_ID = 100
"""Longest membrane id, campaign name, person or method (characters)."""
MAX_TEXT = 10_000
"""Longest free text (notes, source)."""
MAX_BATCH = 1_000_000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""Cells a spreadsheet runs as a formula when they start with one of these (OWASP)."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def same_id(text: str) -> str:
    """An id as it is compared and stored: Unicode NFC, so that "Café" typed on two keyboards
    (one é, or e and a combining accent) is one membrane."""
    return unicodedata.normalize("NFC", text)


def _invisible(text: str) -> str | None:
    """The first invisible or text-direction character of ``text`` (zero-width space, BOM,
    bidi override: Unicode category Cf) as ``U+202E``, or None."""
    found = next((c for c in text if unicodedata.category(c) == "Cf"), None)
    return None if found is None else f"U+{ord(found):04X}"


def text_problem(where: str, text: object, longest: int = MAX_TEXT) -> Problem | None:
    """Why a piece of text cannot be stored (not text, NUL or control characters, not valid
    Unicode, too long), or None."""
    if not isinstance(text, str):
        return Problem(where, f"{text!r} is not text", "write plain text")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return Problem(where, "not valid Unicode text", "save the file as UTF-8")
    if _CONTROL.search(text):
        return Problem(where, "contains a NUL or control character", "remove it")
    if len(text) > longest:
        return Problem(where, f"{len(text)} characters; at most {longest}", "shorten it")
    return None


def id_problem(where: str, text: object) -> Problem | None:
    """Why a membrane id (or campaign name) cannot be used: empty, padded, too long, odd
    characters, or starting like a spreadsheet formula."""
    problem = text_problem(where, text, MAX_ID)
    if problem is not None:
        return problem
    assert isinstance(text, str)
    if not text.strip():
        return Problem(where, "empty id", "give each membrane an id")
    if text != text.strip() or "\n" in text:
        return Problem(where, f"id {text!r} has leading/trailing spaces or a line break", "trim it")
    if hidden := _invisible(text):
        return Problem(
            where,
            f"id {text!r} contains an invisible or text-direction character ({hidden})",
            "retype the id with letters, digits and visible punctuation only",
        )
    if text.startswith(FORMULA_START):
        return Problem(
            where,
            f"id '{text}' starts with '{text[0]}', which spreadsheets run as a formula",
            "start the id with a letter or a digit",
        )
    return None


def whole_problem(where: str, value: float, low: int = 0, high: int = MAX_BATCH) -> Problem | None:
    """Why ``value`` is not a whole number in [low, high] (a batch number: 0 for a lab's
    starting set, then 1, 2, ...), or None."""
    if math.isfinite(value) and value == int(value) and low <= value <= high:
        return None
    return Problem(where, f"{value!r} is not a whole number from {low} to {high}", "write e.g. 3")


def membrane_problems(membrane: NewMembrane) -> list[Problem]:
    """Everything wrong with a new membrane."""
    where = f"membrane {membrane.membrane}"
    found = [
        id_problem(where, membrane.membrane),
        text_problem(f"{where}, source", membrane.source),
        text_problem(f"{where}, notes", membrane.notes),
        None if membrane.batch is None else whole_problem(f"{where}, batch", membrane.batch),
    ]
    if membrane.status not in STATUSES:
        found.append(Problem(f"{where}, status", f"unknown '{membrane.status}'", f"use {STATUSES}"))
    if membrane.provenance not in PROVENANCES:
        found.append(
            Problem(
                f"{where}, provenance", f"unknown '{membrane.provenance}'", f"use {PROVENANCES}"
            )
        )
    for name, value in membrane.formulation.items():
        found.append(_formulation_problem(f"{where}, {name}", value))
    return [p for p in found if p is not None]


def _formulation_problem(where: str, value: object) -> Problem | None:
    if is_missing(value):
        return None  # an inactive variable
    if isinstance(value, str):
        return text_problem(where, value, MAX_ID)
    if isinstance(value, int | float) and math.isfinite(value):
        return None
    return Problem(where, f"{value!r} is not a finite number", "write a number")


def measurement_problems(
    measurement: NewMeasurement, properties: Mapping[str, Property]
) -> list[Problem]:
    """Everything wrong with a new measurement:
    text, provenance, a finite value in the property's physical range (``properties``: the
    ones the store knows; any other property must be finite), the temperature."""
    m = measurement
    where = f"membrane {m.membrane}, {m.property}"
    found = [
        text_problem(f"{where}, property", m.property, MAX_ID),
        text_problem(f"{where}, method", m.method, MAX_ID),
        text_problem(f"{where}, recorded_by", m.recorded_by, MAX_ID),
        text_problem(f"{where}, source", m.source),
        text_problem(f"{where}, note", m.note),
    ]
    if m.provenance not in MEASUREMENT_PROVENANCES:
        found.append(
            Problem(
                f"{where}, provenance",
                f"a value cannot have provenance '{m.provenance}'",
                f"use one of {MEASUREMENT_PROVENANCES}",
            )
        )
    spec = properties.get(m.property, Property())  # a campaign's own: finite is all we know
    value = m.value if isinstance(m.value, int | float) else float("nan")
    refusal = spec.refusal(m.property, value, surprising=True)
    if refusal is None and m.temperature_C is not None:
        refusal = temperature_refusal(m.temperature_C)
    if refusal is not None:
        found.append(Problem(where, *refusal))
    return [p for p in found if p is not None]


def check_records(
    campaign: str,
    membranes: Iterable[NewMembrane],
    measurements: Iterable[NewMeasurement],
    properties: Mapping[str, Property],
    *notes: str,
) -> list[Problem]:
    """Every problem with a write, before any of it reaches a database."""
    found = [id_problem("campaign name", campaign), *(text_problem("note", n) for n in notes)]
    problems = [p for p in found if p is not None]
    for membrane in membranes:
        problems += membrane_problems(membrane)
    for measurement in measurements:
        problems += measurement_problems(measurement, properties)
    return problems


MEMBRANE_COLUMNS = (
    "membrane", "status", "batch", "provenance", "source", "assumed", "notes", "created_at",
    "updated_at", "recorded_by",
)  # fmt: skip
MEASUREMENT_COLUMNS = (
    "id", "membrane", "property", "value", "unit", "censored", "temperature_C", "method",
    "recorded_by", "recorded_at", "provenance", "source", "note", "supersedes", "superseded",
    "retracted", "current",
)  # fmt: skip
"""Columns of :meth:`Store.measurements` with ``history`` (without it, the first 14)."""


def current_ids(links: Mapping[int, tuple[int | None, bool]]) -> set[int]:
    """The current value of every series, from ``{id: (supersedes id, is a retraction)}``.

    Each series is one chain. Walking back from its newest row, each retraction withdraws one
    value; the first value not withdrawn is current (none when all are).
    """
    superseded = {prev for prev, _ in links.values() if prev is not None}
    current = set()
    for leaf in links.keys() - superseded:
        node: int | None = leaf
        skip = 0
        while node is not None:
            prev, retraction = links[node]
            if retraction:
                skip += 1
            elif skip:
                skip -= 1
            else:
                current.add(node)
                break
            node = prev
    return current


def jsonable(formulation: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON values: floats and strings, None (not NaN) for inactive variables."""
    out: dict[str, Any] = {}
    for k, v in formulation.items():
        if is_missing(v):
            out[k] = None
        elif isinstance(v, str):
            out[k] = v
        else:
            out[k] = float(v)
    json.dumps(out)
    return out


def measurement_row(
    m: NewMeasurement, key: tuple[int, str], supersedes: int | None, now: datetime
) -> dict:
    """The columns of a new measurement's row in series ``key`` = (membrane id, series)."""
    return {
        "membrane_id": key[0],
        "property": m.property,
        "value": float(m.value),
        "unit": m.unit,
        "censored": bool(m.censored),
        "temperature_C": m.temperature_C,
        "method": m.method,
        "recorded_by": m.recorded_by,
        "recorded_at": m.recorded_at or now,
        "provenance": m.provenance,
        "source": m.source,
        "note": m.note,
        "supersedes_id": supersedes,
        "series": key[1],
        "retracted": False,
    }


def membrane_row(campaign: str, m: NewMembrane, now: datetime) -> dict:
    """The columns of a new membrane's row."""
    return {
        "campaign": campaign,
        "membrane": m.membrane,
        "formulation": jsonable(m.formulation),
        "status": m.status,
        "batch": m.batch,
        "provenance": m.provenance,
        "source": m.source,
        "assumed": list(m.assumed),
        "notes": m.notes,
        "created_at": now,
        "updated_at": now,
        "recorded_by": m.recorded_by,
    }
