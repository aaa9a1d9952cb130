"""A results row for a membrane: what it may say beside its outcomes.

A lab's results table for a batch (``membrane``, outcomes, ``status``, ``notes``) adds to
membranes already in the campaign: its formulation cells must be empty or equal to what is
stored, and its status must follow the membrane's history. A film that did not form
(``status`` failed or ``film_formed`` 0) becomes both, so the film model learns it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from formulate.data.schema import NEXT_STATUS, OPEN
from formulate.errors import Problem

_FIX = "leave status empty, or log a new membrane for a remake"


def formulation_problem(
    names: list[str], rec: Mapping[str, str], stored: Mapping[str, Any], mid: str, where: str
) -> Problem | None:
    """Why a row for membrane ``mid``, already in the campaign, cannot add outcomes: a
    formulation cell that is neither empty nor what is stored; None when it can."""
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
            return Problem(
                f"{where}, column membrane",
                f"duplicate membrane id '{mid}': already in the campaign with {name}={have}",
                "use a new id, or leave the formulation cells empty to add outcomes to it",
            )
    return None


def row_status(
    where: str, cell: str, before: str, film: float | None, has_values: bool
) -> tuple[str | None, Problem | None]:
    """The status a row gives its membrane, or a problem when the row contradicts itself or
    the membrane's history.

    Args:
        where: the row, for the message.
        cell: the row's ``status`` cell as written (``Failed``, ``made``, ``""``).
        before: the membrane's status now (``pending`` for a membrane the row adds).
        film: the row's ``film_formed`` value (None: none given).
        has_values: the row logs outcomes (which move an open membrane to measured).

    Returns:
        ``(status, None)``: the status to set (None: the one the values give); or
        ``(None, problem)``.
    """
    status = cell.strip().casefold()
    here = f"{where}, column status"
    if status and status not in NEXT_STATUS:
        return None, Problem(here, f"unknown status '{cell}'", f"use one of {list(NEXT_STATUS)}")
    if film is not None and status and (film == 0) != (status == "failed"):
        return None, Problem(
            here,
            f"status '{cell}' but film_formed {film:g}: a film that did not form is failed",
            "write failed with film_formed 0, or film_formed 1 for a film that formed",
        )
    if film == 0:
        status = "failed"
    if not status or (status in ("pending", "made") and has_values and before in OPEN):
        return None, None  # the values move it to measured; "made" was true before them
    now = "measured" if has_values and before in OPEN else before
    if status not in NEXT_STATUS[now]:
        by = " (measured by this row's values)" if now != before else ""
        return None, Problem(here, f"the membrane is {before}{by}; it cannot become {status}", _FIX)
    return (None if status == now else status), None
