"""Oracles: what answers a backtest's strategies. A table of past experiments (a pool) or the
virtual lab over the whole design space (an emulator). Both meet :class:`Oracle`."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from formulate.backtest.settings import Settings, backtest_campaign
from formulate.data.experiments import read_experiments
from formulate.data.importer import open_store
from formulate.data.table import campaign_table
from formulate.lab.plugins import resolve_lab
from formulate.lab.virtual import VirtualLab
from formulate.plan.pool import candidate_pool, signature
from formulate.spec.campaign import Campaign

REFERENCE_POINTS = 4096
"""Noise-free emulator points that stand for the whole space (best hypervolume, top 1%/5%)."""


class Oracle(Protocol):
    """Answers a backtest: initial rows, what may be picked, outcomes seen and true."""

    provenance: str

    def initial(self, n: int, seed: int) -> pd.DataFrame:
        """``n`` starting formulations (index: pool rows, or 0..n-1)."""
        ...

    def candidates(self, revealed: pd.Index) -> pd.DataFrame | None:
        """Rows a strategy may pick (a pool's unrevealed rows), or None: anywhere."""
        ...

    def measure(self, batch: pd.DataFrame, seed: int) -> pd.DataFrame:
        """Outcomes the strategy sees (noisy, for an emulator), indexed like ``batch``."""
        ...

    def truth(self, batch: pd.DataFrame) -> pd.DataFrame:
        """Outcomes the run is scored on."""
        ...

    def reference(self) -> pd.DataFrame:
        """Formulations and true outcomes standing for the whole space."""
        ...


class PoolOracle:
    """Past experiments as the oracle: ``rows`` (index 0..N-1) hold each formulation once
    with its objectives (replicates averaged) and censor flags."""

    provenance = "imported"

    def __init__(self, campaign: Campaign, rows: pd.DataFrame) -> None:
        self.campaign = campaign
        self.rows = rows

    def initial(self, n: int, seed: int) -> pd.DataFrame:
        pick = np.random.default_rng(seed).choice(len(self.rows), size=n, replace=False)
        return self.rows.iloc[np.sort(pick)][self.campaign.space.names()]

    def candidates(self, revealed: pd.Index) -> pd.DataFrame | None:
        rest = self.rows.drop(index=revealed)
        return rest[self.campaign.space.names()]

    def measure(self, batch: pd.DataFrame, seed: int) -> pd.DataFrame:
        return self.rows.loc[batch.index].drop(columns=self.campaign.space.names())

    def truth(self, batch: pd.DataFrame) -> pd.DataFrame:
        return self.measure(batch, 0)

    def reference(self) -> pd.DataFrame:
        return self.rows


class EmulatorOracle:
    """The virtual lab as the oracle: noisy outcomes for the strategies, noise-free truth
    for scoring."""

    provenance = "emulated"

    def __init__(self, campaign: Campaign, noise: bool, horizon_h: float) -> None:
        self.campaign = campaign
        self.lab = _virtual(resolve_lab("virtual", campaign, noise=noise, horizon_h=horizon_h))
        self.exact = _virtual(resolve_lab("virtual", campaign, noise=False, horizon_h=horizon_h))

    def initial(self, n: int, seed: int) -> pd.DataFrame:
        return pd.DataFrame(self.campaign.space.sample(n, seed=10_000 + seed))

    def candidates(self, revealed: pd.Index) -> pd.DataFrame | None:
        return None

    def _outcomes(self, lab: VirtualLab, batch: pd.DataFrame) -> pd.DataFrame:
        out = lab.measure(batch[self.campaign.space.names()].assign(membrane=None))
        out.index = batch.index
        failed = out["film_formed"] == 0
        out["status"] = np.where(failed, "failed", "measured")
        return out.drop(columns=["membrane"])

    def measure(self, batch: pd.DataFrame, seed: int) -> pd.DataFrame:
        self.lab.reseed(seed)
        return self._outcomes(self.lab, batch)

    def truth(self, batch: pd.DataFrame) -> pd.DataFrame:
        return self._outcomes(self.exact, batch)

    def reference(self) -> pd.DataFrame:
        pool = candidate_pool(self.campaign.space, REFERENCE_POINTS, seed=7)
        truth = self.truth(pool)
        return pd.concat([pool, truth], axis=1)


def stated_rows(campaign: Campaign) -> pd.DataFrame:
    """The campaign's stated membranes (seed data of provenance ``stated``: a paper's), as a
    campaign's table holds them: read through a throwaway SQLite store, so that they are
    checked, converted to canonical units and censored exactly as when a campaign is seeded."""
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(campaign, f"sqlite:///{Path(folder) / 'stated.db'}")
        table = campaign_table(campaign, store)
        store.engine.dispose()
    return table[table["provenance"] == "stated"].reset_index(drop=True)


def load_pool(campaign: Campaign, path: str | Path) -> pd.DataFrame:
    """A CSV of past experiments (:func:`formulate.data.experiments.read_experiments`), one row
    per formulation (replicates averaged on the model scale; a value is censored when every
    replicate is)."""
    return _average_replicates(campaign, read_experiments(campaign, path))


def _average_replicates(campaign: Campaign, table: pd.DataFrame) -> pd.DataFrame:
    names = campaign.space.names()
    keys = [signature(r, names) for r in table[names].to_dict("records")]
    table = table.assign(_key=[str(k) for k in keys])
    rows = []
    for _, group in table.groupby("_key", sort=False):
        row = group.iloc[0][names].to_dict()
        row["replicates"] = len(group)
        for o in campaign.objectives:
            y = o.to_model_scale(group[o.property].dropna().to_numpy(dtype=float))
            row[o.property] = float(o.from_model_scale([y.mean()])[0]) if len(y) else np.nan
            flag = f"{o.property}_censored"
            if flag in group:
                row[flag] = bool(group[flag].fillna(False).astype(bool).all())
        row["status"] = "measured"
        rows.append(row)
    return pd.DataFrame(rows).reset_index(drop=True)


def oracle_for(settings: Settings) -> tuple[Campaign, PoolOracle | EmulatorOracle]:
    """The campaign and oracle of a backtest, built once per process (a pool is read and
    validated once, not per run: only the fields that shape the oracle key the cache)."""
    return _oracle_of(replace(settings, strategies=(), seeds=1, initial=1, batch_size=1, budget=1))


@lru_cache(maxsize=4)
def _oracle_of(settings: Settings) -> tuple[Campaign, PoolOracle | EmulatorOracle]:
    campaign = backtest_campaign(settings)
    if settings.kind == "pool":
        assert settings.pool is not None
        return campaign, PoolOracle(campaign, load_pool(campaign, settings.pool))
    return campaign, EmulatorOracle(campaign, settings.noise, settings.horizon_h)


def _virtual(lab: object) -> VirtualLab:
    assert isinstance(lab, VirtualLab)
    return lab
