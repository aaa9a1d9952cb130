"""Campaigns as a lab makes them, for tests and benchmarks (never for the paper's numbers).

:func:`realistic_campaign` is the data every benchmark and every test that needs data uses: a
space-filling start, then batches around the best membranes so far and into the rest of the
space, measured by the virtual lab *with* its noise, films that fail (the structural failure
modes and 2% at random), every intermediate measured, outcomes that arrive at different times
(the newest batch has no cycling life yet, the one before has cells still running), lives
censored at the test horizon, and one pending batch. :func:`lab_notation` writes such a table
the way people type it (units in cells, ``>1500 h``), and :func:`with_typos` spoils a copy of it
with known mistakes for import tests. Everything here is labelled ``emulated``.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from formulate.data.cells import canonical_headers
from formulate.lab.virtual import Noise, VirtualLab
from formulate.plan.pool import neighbours, sobol_formulations
from formulate.spec.campaign import Campaign, template_dir
from formulate.spec.variables import Value, is_missing

if TYPE_CHECKING:
    from formulate.data import Store

RUNNING_AT_H = 300.0
"""Hours the cells of the second-newest batch have run when the campaign is read."""
TEMPLATE = template_dir("cheng2023")
"""The shipped paper campaign (read it; copy it before writing a store beside it)."""


def formulation(**overrides: Value) -> dict[str, Value]:
    """A valid cheng2023 formulation (CPCSE's: cluster chains, 2.5 wt%, PEO, THF:DCM 0.5,
    EO:Li 16), with overrides."""
    base: dict[str, Value] = {
        "filler": "cluster_chain",
        "filler_wt_pct": 2.5,
        "polymer": "PEO",
        "solvent": "THF_DCM",
        "thf_fraction": 0.5,
        "eo_li_ratio": 16.0,
    }
    base.update(overrides)
    return base


def emulated(campaign: Campaign, n: int, seed: int, horizon_h: float = 1500.0) -> pd.DataFrame:
    """``n`` random membranes that formed, measured by the virtual lab with noise (a campaign
    table: ``membrane``, formulation, outcomes, ``*_censored``, ``status`` = measured)."""
    rows = pd.DataFrame(campaign.space.sample(n, seed=seed))
    rows.insert(0, "membrane", [f"S{seed}-{i}" for i in range(n)])
    lab = VirtualLab(seed=seed, noise=Noise(film_failure=0.0), horizon_h=horizon_h)
    table = rows.merge(lab.measure(rows), on="membrane")
    table = table[table["film_formed"] == 1].reset_index(drop=True)
    table["status"] = "measured"
    return table


@dataclass(frozen=True, kw_only=True)
class Realistic:
    """How :func:`realistic_campaign` makes a campaign.

    Attributes:
        membranes: membranes made and measured (failed films included), before the pending
            batch.
        seed: of the formulations and the lab's noise.
        batch_size: membranes per batch after the start (also the pending batch's size).
        start: space-filling membranes before the batches (default: a quarter, at least 6).
        horizon_h: Li|Li test horizon, h.
    """

    membranes: int
    seed: int = 0
    batch_size: int = 4
    start: int | None = None
    horizon_h: float = 1500.0

    def starting(self) -> int:
        return self.start if self.start is not None else max(6, self.membranes // 4)


def realistic_campaign(campaign: Campaign, how: Realistic) -> pd.DataFrame:
    """A campaign table as a lab would have it after ``how.membranes`` membranes (see the
    module docstring), plus one pending batch. Rows are in the order they were made;
    ``batch`` 0 is the space-filling start."""
    space = campaign.space
    lab = VirtualLab(seed=how.seed, horizon_h=how.horizon_h, fillers=_fillers(campaign))
    start = min(how.starting(), how.membranes)
    made = pd.DataFrame(sobol_formulations(space, start, how.seed))
    made["batch"] = 0
    table = _measured(lab, made)
    batch = 0
    while len(table) < how.membranes:
        batch += 1
        size = min(how.batch_size, how.membranes - len(table))
        picked = _next_batch(campaign, table, size, how.seed * 1000 + batch)
        picked["batch"] = batch
        table = pd.concat([table, _measured(lab, picked)], ignore_index=True)
    table = _arrive_late(table, batch)
    pending = _next_batch(campaign, table, how.batch_size, how.seed * 1000 + batch + 1)
    pending["batch"] = batch + 1
    pending["status"] = "pending"
    table = pd.concat([table, pending], ignore_index=True)
    table.insert(0, "membrane", [f"M{i + 1}" for i in range(len(table))])
    table["provenance"] = "emulated"
    table["assumed"] = ""
    table["batch"] = table["batch"].astype(int)
    flag = "li_symmetric_life_censored"
    table[flag] = table[flag].astype("boolean").fillna(False).astype(bool)
    return table


def realistic_folder(
    root: Path, how: Realistic, edit: Callable[[pd.DataFrame], pd.DataFrame] | None = None
) -> tuple[Campaign, Store]:
    """A copy of the paper's campaign under ``root/campaigns/cheng2023`` holding the realistic
    campaign ``how`` (ids prefixed ``R``, provenance ``emulated``), changed by ``edit`` before
    it is imported: what the benchmarks run the app and the CLI on."""
    from formulate.data import import_table, open_store
    from formulate.spec.campaign import load_campaign

    folder = root / "campaigns" / "cheng2023"
    shutil.copytree(TEMPLATE, folder)
    campaign = load_campaign(folder)
    table = realistic_campaign(campaign, how)
    table = table.drop(columns="assumed").assign(membrane="R" + table["membrane"])
    store = open_store(campaign)
    table = canonical_headers(campaign, edit(table) if edit else table)
    import_table(campaign, store, table, provenance="emulated")
    return campaign, store


def _fillers(campaign: Campaign) -> dict[str, dict[str, float]] | None:
    names = campaign.space.categorical_names()
    return campaign.space.levels("filler") if "filler" in names else None


def _measured(lab: VirtualLab, batch: pd.DataFrame) -> pd.DataFrame:
    """The batch with the lab's outcomes; films that did not form are ``failed``."""
    batch = batch.reset_index(drop=True)
    out = lab.measure(batch.assign(membrane=range(len(batch)))).drop(columns="membrane")
    out["status"] = np.where(out["film_formed"] == 0, "failed", "measured")
    return pd.concat([batch, out], axis=1)


def _next_batch(campaign: Campaign, table: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """Half around the best membranes so far (small moves of their numbers), half anywhere:
    what a lab does without a planner."""
    space = campaign.space
    names = space.names()
    first = campaign.objectives[0]
    done = table[table["status"] == "measured"].dropna(subset=[first.property])
    near = size // 2 if len(done) else 0
    parts = []
    if near:
        order = np.argsort(-first.score(done[first.property].to_numpy(dtype=float)))
        best = done.iloc[order[:near]]
        moved = neighbours(space, best[names], 1, seed, width=0.08)
        parts.append(moved.head(near))
    anywhere = size - sum(len(p) for p in parts)
    parts.append(pd.DataFrame(space.sample(anywhere, seed=seed)))
    return pd.concat(parts, ignore_index=True)[names]


def _arrive_late(table: pd.DataFrame, last: int) -> pd.DataFrame:
    """The newest batch has no cycling life yet; the one before has cells still running at
    ``RUNNING_AT_H`` (a lower bound where the cell would last longer)."""
    table = table.copy()
    life, flag = "li_symmetric_life", "li_symmetric_life_censored"
    if last >= 1:
        newest = table["batch"] == last
        table.loc[newest, [life, flag]] = [np.nan, False]
    if last >= 2:
        running = (table["batch"] == last - 1) & (table[life] > RUNNING_AT_H)
        table.loc[running, [life, flag]] = [RUNNING_AT_H, True]
    return table


def lab_notation(campaign: Campaign, table: pd.DataFrame) -> pd.DataFrame:
    """A campaign table as people type it into a spreadsheet: conductivity in mS/cm with its
    unit in each cell, a running cell as ``>300 h``, no censor column; only the formulation,
    the status and the objectives (all strings). Importing it gives back ``table``'s values."""
    out = table[["membrane", *campaign.space.names(), "status"]].astype(object)
    out = out.where(out.notna(), "")
    sigma = table.get("ionic_conductivity")
    if sigma is not None:
        out["ionic_conductivity"] = [
            "" if is_missing(v) else f"{1000 * float(v):.6g} mS/cm" for v in sigma
        ]
    if "transference_number" in table:
        out["transference_number"] = [
            "" if is_missing(v) else f"{float(v):.6g}" for v in table["transference_number"]
        ]
    if "li_symmetric_life" in table:
        flags = table.get("li_symmetric_life_censored", pd.Series(False, index=table.index))
        out["li_symmetric_life"] = [
            "" if is_missing(v) else (">" if c else "") + f"{float(v):.6g} h"
            for v, c in zip(table["li_symmetric_life"], flags, strict=True)
        ]
    return out.astype(str)


@dataclass(frozen=True)
class Typo:
    """A mistake put into a table: the spreadsheet row (header = row 1), column and what the
    import's message must say."""

    row: int
    column: str
    says: str


def with_typos(frame: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, list[Typo]]:
    """A copy of a lab-notation table (see :func:`lab_notation`) with three mistakes people
    make, in distinct random rows: a misspelled polymer level, a unit that is not a
    conductivity, and a negative salt ratio. Returns the spoiled table and the mistakes."""
    rng = np.random.default_rng(seed)
    spoiled = frame.copy()
    with_peo = spoiled.index[spoiled["polymer"] == "PEO"].to_numpy()
    with_sigma = spoiled.index[spoiled["ionic_conductivity"] != ""].to_numpy()
    a = int(rng.choice(with_peo))
    b = int(rng.choice([i for i in with_sigma if i != a]))
    c = int(rng.choice([i for i in spoiled.index if i not in (a, b)]))
    spoiled.loc[a, "polymer"] = "PE0"
    spoiled.loc[b, "ionic_conductivity"] = spoiled.loc[b, "ionic_conductivity"].replace(
        "mS/cm", "mS"
    )
    spoiled.loc[c, "eo_li_ratio"] = "-16"
    typos = [
        Typo(a + 2, "polymer", "did you mean 'PEO'"),
        Typo(b + 2, "ionic_conductivity", "cannot read unit 'mS'"),
        Typo(c + 2, "eo_li_ratio", "below the lower bound"),
    ]
    return spoiled, typos


SYNTHETIC_SPEC = """
name = "synthetic"
[variables.catalyst]
kind = "categorical"
levels = { A = {}, B = {}, C = {} }
[variables.temperature]
kind = "continuous"
low = 20.0
high = 80.0
[variables.ratio]
kind = "discrete"
low = 1.0
high = 5.0
step = 1.0
[properties.yield_pct]
unit = "%"
low = 0.0
[properties.cost]
low = 0.0
[[objectives]]
property = "yield_pct"
direction = "maximize"
{second}
"""
"""A small campaign file for a table of past experiments that is not about membranes."""
_COST = '[[objectives]]\nproperty = "cost"\ndirection = "minimize"\n'


def synthetic_yield(catalyst: str, temperature: float, ratio: float) -> float:
    """The synthetic pool's yield (%): best at catalyst B, 60 C, ratio 4."""
    bonus = {"A": 0.0, "B": 25.0, "C": 10.0}[catalyst]
    return bonus + 60 * math.exp(-(((temperature - 60) / 15) ** 2)) - 4 * (ratio - 4) ** 2 + 40


def synthetic_pool(folder: Path) -> Path:
    """Write ``past.csv`` (45 formulations with a categorical, a continuous and a discrete
    input, an extra column, and replicates of the first five rows), ``one.toml`` (maximize
    yield) and ``two.toml`` (and minimize cost) into ``folder``; returns the CSV's path."""
    rng = np.random.default_rng(0)
    rows: list[dict[str, str | float]] = []
    for i in range(45):
        c, t, r = "ABC"[i % 3], round(float(rng.uniform(20, 80)), 1), float(rng.integers(1, 6))
        rows.append(
            {
                "catalyst": c,
                "temperature": t,
                "ratio": r,
                "yield_pct": synthetic_yield(c, t, r),
                "cost": 1 + t / 80 + (c == "B"),
                "operator": "ana",
            }
        )
    for rec in rows[:5]:
        rows.append({**rec, "yield_pct": float(rec["yield_pct"]) + 2.0})
    csv = folder / "past.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    (folder / "one.toml").write_text(SYNTHETIC_SPEC.replace("{second}", ""))
    (folder / "two.toml").write_text(SYNTHETIC_SPEC.replace("{second}", _COST))
    return csv


def pool_settings(pool: tuple[Path, Path], spec: str = "one.toml", **changes: object) -> Any:
    """Backtest settings on the synthetic pool ``(csv, folder)`` of :func:`synthetic_pool`
    (its campaign file ``spec``), with ``changes`` (strategies, seeds, initial, ...)."""
    from formulate.backtest import Settings

    csv, folder = pool
    return Settings(kind="pool", campaign=str(folder / spec), pool=str(csv), **changes)  # type: ignore[arg-type]


__all__ = [
    "RUNNING_AT_H",
    "TEMPLATE",
    "Realistic",
    "Typo",
    "emulated",
    "formulation",
    "lab_notation",
    "pool_settings",
    "realistic_campaign",
    "realistic_folder",
    "synthetic_pool",
    "synthetic_yield",
    "with_typos",
]
