"""User mistakes: one exception type that says what went wrong, where, and the fix.

Anything raised as :class:`FormulateError` is the user's to fix (a bad file, an unknown
membrane); the CLI and the app print it as a message, never as a traceback. Every other
exception is a bug in formulate.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the user's input.

    Attributes:
        where: the place, e.g. ``"campaign.toml: variables.filler_wt_pct.high"`` or
            ``"runs.csv row 4, column filler_wt_pct"``.
        what: what is wrong with it.
        fix: what would be right (empty when obvious).
    """

    where: str
    what: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.where}: {self.what}"
        return f"{text} (fix: {self.fix})" if self.fix else text


class FormulateError(Exception):
    """A user mistake, with every problem found (not only the first)."""

    def __init__(self, summary: str, problems: Sequence[Problem] = ()) -> None:
        self.summary = summary
        self.problems = tuple(problems)
        super().__init__(self.message())

    def message(self) -> str:
        """The full message: the summary, then one line per problem."""
        if not self.problems:
            return self.summary
        lines = [f"{self.summary} ({len(self.problems)} problem(s)):"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class NotEnoughData(FormulateError):
    """Too few membranes have a property to fit its model.

    Code that can do without a model (the planner's warm-up) catches this type, never the
    message text.

    Attributes:
        property: the property lacking data (``ionic_conductivity``).
        have: membranes that have it.
        need: membranes a model needs.
    """

    def __init__(self, prop: str, have: int, need: int) -> None:
        self.property, self.have, self.need = prop, have, need
        super().__init__(
            f"{prop}: {have} membrane(s) have it; a model needs at least {need}",
            [
                Problem(
                    prop,
                    f"only {have} measured",
                    "measure more membranes (or propose a space-filling first batch)",
                )
            ],
        )


@contextmanager
def collected_warnings() -> Iterator[Counter[str]]:
    """Warnings raised inside the block, counted by kind (``NumericalWarning: A not p.d.,
    added jitter of #.#e-# to the diagonal``: numbers masked) instead of printed; deprecation
    warnings, meant for developers, are dropped."""
    caught: Counter[str] = Counter()
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        for developers_only in (DeprecationWarning, PendingDeprecationWarning):
            warnings.simplefilter("ignore", developers_only)
        yield caught
    for w in records:
        text = re.sub(r"\d+", "#", str(w.message).splitlines()[0] if str(w.message) else "")
        caught[f"{w.category.__name__}: {text[:90]}"] += 1


def warnings_line(caught: Counter[str]) -> str:
    """One line for people about the library warnings ``caught`` (empty when none)."""
    if not caught:
        return ""
    kinds = "; ".join(f"{kind} (x{n:,})" for kind, n in caught.most_common(3))
    return f"note: {caught.total():,} library warning(s) while working, not shown: {kinds}"


def warnings_cell(caught: Counter[str]) -> str:
    """Collected warnings as a CSV cell (JSON ``{kind: count}``; empty when none)."""
    return json.dumps(dict(caught)) if caught else ""


def summed_warnings(cells: Iterable[object]) -> Counter[str]:
    """The warnings of many :func:`warnings_cell` cells (run files), added up."""
    total: Counter[str] = Counter()
    for cell in cells:
        if isinstance(cell, str) and cell.strip():
            total.update(json.loads(cell))
    return total
