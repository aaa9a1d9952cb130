"""Lab notation, read the way a lab writes it, with what was read shown back to the person.

* Headers: the short names a lab uses (``t+``, ``Li|Li life``, ``conductivity``), a variable's
  unit as its name (``EO:Li``) or after it (``molality [mol/kg]``), any case, spaces or
  hyphens for underscores, a unit in round or square brackets (``Conductivity (mS/cm)`` is
  ``ionic_conductivity [mS/cm]``).
* Levels: any case, spaces, hyphens or slashes for underscores (``cluster chain``,
  ``THF/DCM``), when exactly one level of the variable reads so.
* Numbers of variables: their own unit after them (``8 wt%``, ``0.5 v/v``).
* An inactive number written 0 (filler ``none`` with ``filler_wt_pct`` 0) is absent.

Numbers of outcomes (``0.31 mS cm-1``, ``3.8×10^-4 S/cm``) are read by ``formulate.units``.
Every reading that changed something is reported once as a :class:`Readings` line.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from formulate.spec.campaign import Campaign
from formulate.spec.properties import Property
from formulate.spec.space import DesignSpace
from formulate.units import convert

_SEPARATORS = re.compile(r"[\s_\-/]+")
_HEADER = re.compile(r"^(?P<name>.*?)\s*(?:[\[(](?P<unit>[^\])]*)[\])])?\s*$")
MEMBRANE_ALIASES = ("membrane", "membrane id", "membrane_id", "sample", "sample id", "id")
META_ALIASES = {
    "status": ("status", "state"),
    "notes": ("notes", "note", "comment", "comments", "remarks"),
    "batch": ("batch", "batch no", "batch number"),
    "recorded_by": ("recorded by", "operator", "measured by"),
}
"""Lab spellings of a wide table's optional columns (any case: ``Status``, ``Notes``)."""


def key(text: str) -> str:
    """How two spellings are compared: case folded, spaces, underscores, hyphens and slashes
    dropped (``Cluster-chain`` and ``cluster_chain`` read the same)."""
    return _SEPARATORS.sub("", str(text).casefold())


class Readings(Counter[str]):
    """What was read differently from how it was written, with how often (shown once each)."""

    def lines(self) -> list[str]:
        return [f"{what}" + (f" ({n} cells)" if n > 1 else "") for what, n in self.items()]


def _header_aliases(campaign: Campaign) -> dict[str, str]:
    """Spelling key -> canonical column name (membrane, variable or property)."""
    space = campaign.space
    out = {key(a): "membrane" for a in MEMBRANE_ALIASES}
    out |= {key(a): name for name, spellings in META_ALIASES.items() for a in spellings}
    units = Counter(key(v.unit) for v in space.variables.values() if v.unit)
    for name, var in space.variables.items():
        out[key(name)] = name
        if var.unit and units[key(var.unit)] == 1 and not var.unit.endswith("%"):
            out.setdefault(key(var.unit), name)
    for name, prop in campaign.all_properties().items():
        out.setdefault(key(name), name)
        if prop.label:
            out.setdefault(key(prop.label), name)
    return out


def headers(
    campaign: Campaign, columns: Iterable[str], known: set[str], readings: Readings
) -> list[str]:
    """``columns`` with each header the campaign maps under ``[columns]``, and each lab
    spelling, replaced by the column formulate reads (``known``:
    the names already right, kept as written); a column read differently goes in
    ``readings``. A name taken twice is left as written (the import then names it)."""
    aliases = _header_aliases(campaign)
    props = campaign.all_properties()
    mapped = {header: name for name, header in campaign.columns.items()}
    out, taken = [], (set(columns) & known) | set(mapped.values())
    for col in columns:
        if col in mapped and mapped[col] not in columns:  # the campaign's own mapping first
            new = _with_unit(mapped[col], col, props)
            readings[f"column '{col}' read as {new} (the campaign's [columns])"] += 1
            out.append(new)
            continue
        m = _HEADER.match(col)
        target = aliases.get(key(m["name"])) if m and col not in known else None
        if target is None:
            out.append(col)
            continue
        unit = (m["unit"] or "").strip() if m else ""
        new = f"{target} [{unit}]" if unit and target in props else target
        var = campaign.space.variables.get(target)
        own_unit = var is not None and key(unit) == key(var.unit)  # molality [mol/kg]
        if new in taken or (unit and target not in props and not own_unit):
            out.append(col)
            continue
        taken.add(new)
        readings[f"column '{col}' read as {new}"] += 1
        out.append(new)
    return out


def _with_unit(name: str, header: str, props: Mapping[str, Property]) -> str:
    """``name`` with the unit a mapped ``header`` ends with (``... (mS/cm)``) when it is a unit
    of that property, so the values are converted; else ``name`` alone."""
    m = _HEADER.match(header)
    unit = (m["unit"] or "").strip() if m else ""
    if name not in props or not unit or not props[name].unit:
        return name
    try:
        convert(1.0, unit, props[name].unit)
    except ValueError:
        return name
    return f"{name} [{unit}]"


def read_formulation(
    space: DesignSpace, rec: Mapping[str, str], readings: Readings
) -> dict[str, str]:
    """A row's formulation cells as the space reads them: level spellings and number units
    resolved, an inactive number written 0 left empty; the rest as written (the space's check
    then names what is still wrong)."""
    out = dict(rec)
    for name in space.categorical_names():
        cell = str(out.get(name, "")).strip()
        levels = list(space.levels(name))
        if not cell or cell in levels:
            continue
        same = [lvl for lvl in levels if key(lvl) == key(cell)]
        if len(same) == 1:
            out[name] = same[0]
            readings[f"'{cell}' in {name} read as {same[0]}"] += 1
    for name in space.numeric_names():
        cell = str(out.get(name, "")).strip()
        unit = space.variables[name].unit
        number = re.fullmatch(rf"(.+?)\s*{re.escape(unit)}", cell, re.IGNORECASE) if unit else None
        if number:
            out[name] = number[1]
            readings[f"{name}: the unit {unit} after a number dropped"] += 1
            cell = number[1]
        if cell and not space.is_active(name, out) and _is_zero(cell):
            out[name] = ""
            readings[f"{name} 0 read as absent (inactive for these levels)"] += 1
    return out


def _is_zero(cell: str) -> bool:
    try:
        return float(cell) == 0.0
    except ValueError:
        return False


def property_name(campaign: Campaign, cell: str, readings: Readings) -> str:
    """A long table's ``property`` cell: a short name (``t+``) or another spelling resolved
    to the property's name; anything else as written."""
    props = campaign.all_properties()
    if cell in props:
        return cell
    target = _header_aliases(campaign).get(key(cell))
    if target in props:
        readings[f"property '{cell}' read as {target}"] += 1
        return target
    return cell
