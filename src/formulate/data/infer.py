"""A campaign file inferred from a table of past experiments, for a person to check.

``formulate init NAME --from-csv past.csv --objective "Conductivity (mS/cm)"`` reads the
table as an import would (strings, UTF-8) and writes ``campaign.toml``:

* a text column becomes a categorical variable (its distinct values are the levels);
* a numeric column with at most ``MAX_GRID_VALUES`` distinct, evenly spaced values becomes a
  discrete variable on that grid, any other numeric column a continuous one over its range;
* each ``--objective`` column becomes an objective (maximized unless listed as minimized):
  a built-in property when its header names one (``t+``, ``ionic_conductivity [S/cm]``), else
  a property declared in the file with the header's unit;
* headers that are not plain names get one (``salt_conc_mol_kg``) and a ``[columns]`` line
  mapping it to the header as written, so the same CSV imports and backtests as it is.

Nothing is guessed silently: the file lists, in comments, what each variable was inferred
from, and ``formulate show`` reads it back.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from formulate.data.cells import WIDE_META, read_table
from formulate.data.notation import MEMBRANE_ALIASES, key
from formulate.errors import FormulateError, Problem
from formulate.spec.campaign import Campaign, load_campaign
from formulate.spec.levels import SHIPPED, read_level_table, shipped_tables, table_path
from formulate.spec.properties import BUILTIN_PROPERTIES
from formulate.units import registry

MAX_GRID_VALUES = 12
"""A numeric column with at most this many distinct, evenly spaced values is a grid."""
_UNIT = re.compile(r"^(?P<name>.*?)\s*[\[(](?P<unit>[^\])]*)[\])]\s*$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TEXT_COLUMNS = {key(c) for c in (*WIDE_META, "note", "comment", "comments", "remarks", "date")}


def infer_campaign(
    name: str,
    csv: Path,
    objectives: list[str],
    minimize: list[str],
    folder: Path,
) -> Campaign:
    """Write ``folder/name/campaign.toml`` inferred from ``csv`` and return it, validated.

    Raises:
        FormulateError: the file cannot be read, an objective column is missing, or the
            folder exists; nothing is written then.
    """
    frame = read_table(csv)
    missing = [o for o in [*objectives, *minimize] if o not in frame.columns]
    if missing or not (objectives or minimize):
        raise FormulateError(
            f"no campaign inferred from {csv}",
            [
                Problem(f"{csv}, column {m}", "not in the file", "name a column as written")
                for m in missing
            ]
            or [Problem("--objective", "none given", "name the column(s) to optimize")],
        )
    target = folder / name
    if target.exists():
        raise FormulateError(
            f"{target} already exists", [Problem(str(target), "exists", "choose another name")]
        )
    lines = _campaign_lines(name, csv, frame, objectives, minimize)
    target.mkdir(parents=True)
    (target / "campaign.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        return load_campaign(target)
    except FormulateError:
        (target / "campaign.toml").unlink()
        target.rmdir()
        raise


def _campaign_lines(
    name: str, csv: Path, frame: pd.DataFrame, objectives: list[str], minimize: list[str]
) -> list[str]:
    columns: dict[str, str] = {}
    lines = [
        f"# Inferred by formulate from {csv.name} ({len(frame)} rows): check every variable,",
        "# its kind and its range, then 'formulate show' this folder.",
        f"name = {json.dumps(name)}",
        f"title = {json.dumps(name)}",
        f"description = {json.dumps(f'inferred from {csv.name}')}",
        "",
    ]
    outcome = set(objectives) | set(minimize)
    for header in frame.columns:
        if header in outcome or key(header) in {key(a) for a in MEMBRANE_ALIASES}:
            continue
        var = _slug(header)
        if var != header:
            columns[var] = header
        lines += _variable(var, header, frame[header])
    properties: list[str] = []
    for header in [*objectives, *minimize]:
        prop, unit, declared = _objective_property(header)
        if declared:
            properties += [f"[properties.{prop}]", f"unit = {json.dumps(unit)}", ""]
        if prop != header and not _known_header(header, prop):
            columns[prop] = header
        direction = "minimize" if header in minimize else "maximize"
        lines += ["[[objectives]]", f'property = "{prop}"', f'direction = "{direction}"']
        lines += [_transform(frame[header], prop), ""]
    lines += properties
    if columns:
        lines.append("[columns]  # names used here = headers as written in the table")
        lines += [f"{k} = {json.dumps(v)}" for k, v in columns.items()]
    return lines


def _variable(var: str, header: str, column: pd.Series) -> list[str]:
    cells = column.astype(str).str.strip()
    cells = cells[cells != ""]
    numbers = pd.to_numeric(cells, errors="coerce")
    head = [f"[variables.{var}]  # from column {json.dumps(header)}"]
    m = _UNIT.match(header)
    if m and _is_unit(m["unit"].strip()):
        head.append(f"unit = {json.dumps(m['unit'].strip())}")
    if cells.empty:
        return [f"# column {json.dumps(header)} is empty: left out", ""]
    if numbers.notna().all():
        values = np.unique(numbers.to_numpy(dtype=float))
        low, high = float(values.min()), float(values.max())
        if len(values) == 1:
            return [f"# column {json.dumps(header)} holds one value ({low:g}): left out", ""]
        steps = np.diff(values)
        if len(values) <= MAX_GRID_VALUES and np.allclose(steps, steps[0], rtol=1e-6):
            return [*head, 'kind = "discrete"', f"low = {low!r}", f"high = {high!r}",
                    f"step = {float(steps[0])!r}", ""]  # fmt: skip
        scale = (
            ['scale = "log"  # spans 1.5 decades or more'] if low > 0 and high >= 30 * low else []
        )
        return [*head, 'kind = "continuous"', f"low = {low!r}", f"high = {high!r}", *scale, ""]
    levels = sorted(set(cells))
    if key(header) in _TEXT_COLUMNS or len(levels) > max(MAX_GRID_VALUES, len(column) // 2):
        return [f"# column {json.dumps(header)} reads as free text: left out", ""]
    table = _shipped_table_of(levels)
    if table:
        names = ", ".join(json.dumps(level) for level in levels)
        return [*head, 'kind = "categorical"', f'levels_file = "{table}"  # with its descriptors',
                f"levels = [{names}]", ""]  # fmt: skip
    body = ", ".join(f"{json.dumps(level)} = {{}}" for level in levels)
    return [*head, 'kind = "categorical"', f"levels = {{ {body} }}", ""]


def _shipped_table_of(levels: list[str]) -> str:
    """A shipped level table (``formulate:lithium_salts``) holding every one of ``levels``."""
    for name in shipped_tables():
        ref = SHIPPED + name
        rows, _ = read_level_table(table_path(ref, Path(".")), ref)
        if set(levels) <= set(rows):
            return ref
    return ""


def _transform(column: pd.Series, prop: str) -> str:
    """logit for a built-in fraction (t+), log10 for positive values spanning a decade or more
    (conductivities, lives), else none."""
    spec = BUILTIN_PROPERTIES.get(prop)
    if spec is not None and (spec.low, spec.high) == (0.0, 1.0):
        return 'transform = "logit"'
    values = pd.to_numeric(column.astype(str).str.extract(r"([-+0-9.eE]+)")[0], errors="coerce")
    values = values.dropna()
    spans = len(values) and (values > 0).all() and values.max() >= 10 * values.min()
    return 'transform = "log10"' if spans else 'transform = "none"'


def _objective_property(header: str) -> tuple[str, str, bool]:
    """(property name, unit, whether the file must declare it) for an objective column."""
    m = _UNIT.match(header)
    base, unit = (m["name"], m["unit"].strip()) if m else (header, "")
    for prop, spec in BUILTIN_PROPERTIES.items():
        if key(base) in {key(prop), key(spec.label or prop)}:
            return prop, spec.unit, False
    return _slug(base), unit if _is_unit(unit) else "", True


def _known_header(header: str, prop: str) -> bool:
    """Whether an import reads ``header`` as ``prop`` without a mapping."""
    m = _UNIT.match(header)
    return (m["name"] if m else header) == prop


def _is_unit(text: str) -> bool:
    if not text:
        return False
    try:
        registry().Unit(text)
    except Exception:  # pint raises several kinds on text that is no unit
        return False
    return True


def _slug(header: str) -> str:
    """A TOML-safe name for a header: ``Salt conc (mol/kg)`` -> ``salt_conc_mol_kg``."""
    if _IDENTIFIER.match(header):
        return header
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", header).strip("_").lower() or "column"
    return slug if not slug[0].isdigit() else f"x_{slug}"
