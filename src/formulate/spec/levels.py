"""Level tables: a categorical variable's levels and their descriptors read from a CSV.

A lab with 26 salts does not type 26 ``levels.X = {...}`` lines; it points the variable at a
table, one row per level::

    [variables.salt]
    kind = "categorical"
    levels_file = "formulate:lithium_salts"   # shipped with formulate, or a CSV beside the file
    levels = ["LiTFSI", "LiFSI", "LiClO4"]      # optional: these rows only (default: every row)
    descriptors = ["anion_volume_A3"]          # optional: these columns only (default: all)

The table has a ``level`` column (the names, kept exactly as written), descriptor columns
(numbers, one per physics descriptor, the unit in the name: ``anion_volume_A3``) and optional
text columns (:data:`TEXT_COLUMNS`: a long name, SMILES, the source of each number).
``descriptors = []`` reads only the names (the levels are then told apart by name: BoTorch's
categorical kernel beside numeric variables, one-hot columns where every variable is
categorical; see :mod:`formulate.model.encoding`). The table is validated like any import:
every problem with its file, row and column, and the fix.
"""

from __future__ import annotations

import csv
import difflib
import math
from importlib import resources
from pathlib import Path
from typing import Any

from formulate.errors import Problem

LEVEL_COLUMN = "level"
TEXT_COLUMNS = frozenset({"name", "smiles", "formula", "cas", "source", "notes"})
"""Columns a level table may carry for people; never read as descriptors."""
SHIPPED = "formulate:"
"""Prefix of a table shipped with formulate (``formulate:lithium_salts``)."""


def shipped_tables() -> list[str]:
    """Names of the level tables shipped with formulate."""
    folder = resources.files("formulate") / "spec" / "tables"
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".csv"))


def table_path(ref: str, folder: Path) -> Path:
    """The file a ``levels_file`` names: a shipped table or a path relative to ``folder``."""
    if ref.startswith(SHIPPED):
        name = ref[len(SHIPPED) :]
        return Path(str(resources.files("formulate") / "spec" / "tables" / f"{name}.csv"))
    path = Path(ref)
    return path if path.is_absolute() else folder / path


def read_level_table(
    path: Path,
    where: str,
    keep: list[str] | None = None,
    descriptors: list[str] | None = None,
) -> tuple[dict[str, dict[str, float]], list[Problem]]:
    """Levels and descriptors from a table (see the module docstring).

    Args:
        path: the CSV file.
        where: the campaign key naming it, for messages (``variables.salt.levels_file``).
        keep: the levels to use, in this order (None: every row, in file order).
        descriptors: the descriptor columns (None: every column but ``level`` and text).

    Returns:
        ``{level: {descriptor: value}}`` and every problem found (no levels when any).
    """
    rows, header, problems = _read(path, where)
    if problems:
        return {}, problems
    names = descriptors if descriptors is not None else _numeric_columns(header)
    problems += [
        Problem(f"{where}: {path.name}", f"no column '{c}'", f"use one of {header}")
        for c in names
        if c not in header
    ]
    levels: dict[str, dict[str, float]] = {}
    for line, row in rows:
        at = f"{path.name} row {line}"
        level = (row.get(LEVEL_COLUMN) or "").strip()
        if not level:
            problems.append(Problem(f"{at}, column {LEVEL_COLUMN}", "empty", "name the level"))
            continue
        if level in levels:
            problems.append(Problem(at, f"level '{level}' is listed twice", "keep one row"))
            continue
        values, bad = _descriptor_values(row, [c for c in names if c in header], at)
        levels[level], problems = values, problems + bad
    if keep is not None:
        problems += _unknown(keep, levels, path, where)
        levels = {name: levels[name] for name in keep if name in levels}
    if not problems and not levels:
        problems.append(Problem(f"{where}: {path.name}", "no levels", "add one row per level"))
    return ({} if problems else levels), problems


def _read(
    path: Path, where: str
) -> tuple[list[tuple[int, dict[str, str]]], list[str], list[Problem]]:
    """The rows of the table (with their line numbers) and its header."""
    at = f"{where}: {path}"
    if not path.is_file():
        return [], [], [Problem(at, "no such file", "put the table beside the campaign file")]
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        return [], [], [Problem(at, f"byte {err.start} is not UTF-8", "save it as UTF-8")]
    lines = list(csv.reader(text.splitlines()))
    if not lines or LEVEL_COLUMN not in [c.strip() for c in lines[0]]:
        first = ", ".join(lines[0][:4]) if lines else "(empty file)"
        return (
            [],
            [],
            [
                Problem(
                    f"{at} row 1",
                    f"no '{LEVEL_COLUMN}' column in the header ({first})",
                    f"make the first line a header, with a '{LEVEL_COLUMN}' column of names",
                )
            ],
        )
    header = [c.strip() for c in lines[0]]
    rows = [
        (i + 2, dict(zip(header, (c.strip() for c in cells), strict=False)))
        for i, cells in enumerate(lines[1:])
        if any(c.strip() for c in cells)
    ]
    return rows, header, []


def _numeric_columns(header: list[str]) -> list[str]:
    return [c for c in header if c != LEVEL_COLUMN and c.lower() not in TEXT_COLUMNS and c]


def _descriptor_values(
    row: dict[str, str], columns: list[str], at: str
) -> tuple[dict[str, float], list[Problem]]:
    values: dict[str, float] = {}
    problems = []
    for col in columns:
        cell = row.get(col) or ""
        try:
            value = float(cell)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            what = "empty" if not cell else f"'{cell}' is not a number"
            problems.append(
                Problem(
                    f"{at}, column {col}",
                    what,
                    "give a number, or leave the column out with descriptors = [...]",
                )
            )
        values[col] = value
    return values, problems


def _unknown(keep: list[str], levels: dict[str, Any], path: Path, where: str) -> list[Problem]:
    problems = []
    for name in keep:
        if name not in levels:
            close = difflib.get_close_matches(name, list(levels), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(
                Problem(
                    f"{where.rsplit('.', 1)[0]}.levels",
                    f"'{name}' is not a row of {path.name}",
                    f"{hint}use one of {list(levels)}",
                )
            )
    return problems


def with_level_tables(
    variables: dict[str, Any], folder: Path, source: str
) -> tuple[dict[str, Any], list[Problem]]:
    """The raw ``[variables]`` of a campaign file with every ``levels_file`` read into
    ``levels`` (its ``descriptors`` key consumed), and the problems found in the tables."""
    out = dict(variables)
    problems: list[Problem] = []
    for name, raw in variables.items():
        if not isinstance(raw, dict) or "levels_file" not in raw:
            continue
        where = f"{source}: variables.{name}"
        var = dict(raw)
        keep, descriptors = var.get("levels"), var.pop("descriptors", None)
        if keep is not None and not _strings(keep):
            problems.append(
                Problem(
                    f"{where}.levels",
                    "with levels_file, levels lists the rows to use",
                    'write levels = ["A", "B"], or drop it to use every row',
                )
            )
            continue
        if descriptors is not None and not _strings(descriptors):
            problems.append(
                Problem(f"{where}.descriptors", "not a list of column names", 'write ["col", ...]')
            )
            continue
        path = table_path(str(var["levels_file"]), folder)
        if str(var["levels_file"]).startswith(SHIPPED) and not path.is_file():
            shipped = [SHIPPED + n for n in shipped_tables()]
            problems.append(
                Problem(f"{where}.levels_file", "no such table", f"use one of {shipped}")
            )
            continue
        levels, bad = read_level_table(path, f"{where}.levels_file", keep, descriptors)
        problems += bad
        var["levels"] = levels
        out[name] = var
    return out, problems


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
