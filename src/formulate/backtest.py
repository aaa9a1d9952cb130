"""Backtests: replay a campaign against an oracle and compare strategies over seeds.

Two oracles:

* **pool**: a table of past experiments (any CSV with a campaign file describing its
  columns). Each step a strategy picks the next rows among those not yet revealed; replicates
  of one formulation are averaged on each objective's model scale first.
* **emulator**: the virtual lab over the whole design space, with its noise; strategies see
  noisy outcomes and are scored on the noise-free truth (lives capped at the test horizon, as
  the lab's test would show them).

Every strategy of one seed starts from the same initial rows. A run (strategy, seed) is
stored under ``DIR/runs/<strategy>/seed-<k>.csv`` as soon as it finishes, so an interrupted
backtest continues where it stopped; runs go in parallel on the local cores (or on Ray).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from formulate.acquisition import STRATEGIES
from formulate.baselines import BASELINES, signature
from formulate.campaign import Campaign, campaign_from_dict, load_campaign
from formulate.errors import FormulateError, Problem
from formulate.planner import Request, candidate_pool, propose
from formulate.surrogates import from_model_scale, to_model_scale

KINDS = ("pool", "emulator")
MULTI_STRATEGIES = tuple(s for s in (*STRATEGIES, *BASELINES) if s != "qlognei")
"""Compared by default with several objectives: the planner's and every baseline."""
SINGLE_STRATEGIES = tuple(
    s for s in (*STRATEGIES, *BASELINES) if s not in ("qlognehvi", "parego", "optuna-nsga2")
)
"""Compared by default with one objective (the Pareto strategies reduce to qlognei)."""
REFERENCE_POINTS = 4096
"""Noise-free emulator points that stand for the whole space (best hypervolume, top 1%/5%)."""
SETTINGS_FILE = "backtest.json"
REFERENCE_FILE = "reference.csv"

StepHook = Callable[[str, int, int], None]
"""Called as ``hook(strategy, seed, step)`` after each step of a run."""


@dataclass(frozen=True)
class Settings:
    """One backtest, as stored in ``DIR/backtest.json``.

    Attributes:
        kind: ``pool`` or ``emulator``.
        campaign: the campaign folder or ``campaign.toml`` (its space and objectives).
        pool: the CSV of past experiments (``pool`` only).
        objectives: the objectives scored (default: the campaign's).
        strategies: strategies compared, in order.
        seeds: number of seeds (0 .. seeds-1).
        initial: random rows every strategy of a seed starts from.
        batch_size: membranes per step.
        budget: experiments per run, initial rows included (a pool: at most its rows).
        noise: emulator noise on (a real lab's) or off.
        horizon_h: Li|Li test horizon of the emulator, h.
        surrogate: surrogate spec of the planner's strategies (default: the campaign's).
    """

    kind: str
    campaign: str
    pool: str | None = None
    objectives: tuple[str, ...] = ()
    strategies: tuple[str, ...] = ()
    seeds: int = 20
    initial: int = 6
    batch_size: int = 4
    budget: int = 30
    noise: bool = True
    horizon_h: float = 1500.0
    surrogate: str | None = None

    def describe(self) -> str:
        where = Path(self.pool).name if self.pool else "the virtual lab"
        return (
            f"{self.kind} backtest on {where}: {len(self.strategies)} strategies x "
            f"{self.seeds} seeds, {self.initial} initial + batches of {self.batch_size} "
            f"up to {self.budget} experiments"
        )


# --- campaign and oracles -------------------------------------------------------------------


def backtest_campaign(settings: Settings) -> Campaign:
    """The campaign with only the scored objectives (in the requested order)."""
    path = Path(settings.campaign)
    if path.suffix == ".toml" and path.is_file():
        import tomllib

        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise FormulateError(
                f"{path} is not valid TOML", [Problem(str(path), str(err))]
            ) from None
        campaign = campaign_from_dict(raw, path.parent, source=str(path))
    else:
        campaign = load_campaign(path)
    if not settings.objectives:
        return campaign
    known = {o.property: o for o in campaign.objectives}
    missing = [o for o in settings.objectives if o not in known]
    if missing:
        raise FormulateError(
            "unknown objective(s) for this backtest",
            [Problem("--objective", m, f"use one of {sorted(known)}") for m in missing],
        )
    return campaign.model_copy(update={"objectives": tuple(known[o] for o in settings.objectives)})


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
        from formulate.lab import resolve_lab

        self.campaign = campaign
        self.lab = resolve_lab("virtual", campaign, noise=noise, horizon_h=horizon_h)
        self.exact = resolve_lab("virtual", campaign, noise=False, horizon_h=horizon_h)

    def initial(self, n: int, seed: int) -> pd.DataFrame:
        return pd.DataFrame(self.campaign.space.sample(n, seed=10_000 + seed))

    def candidates(self, revealed: pd.Index) -> pd.DataFrame | None:
        return None

    def _outcomes(self, lab: object, batch: pd.DataFrame) -> pd.DataFrame:
        out = lab.measure(batch[self.campaign.space.names()].assign(membrane=None))  # type: ignore[attr-defined]
        out.index = batch.index
        failed = out["film_formed"] == 0
        out["status"] = np.where(failed, "failed", "measured")
        return out.drop(columns=["membrane"])

    def measure(self, batch: pd.DataFrame, seed: int) -> pd.DataFrame:
        self.lab.reseed(seed)  # type: ignore[attr-defined]
        return self._outcomes(self.lab, batch)

    def truth(self, batch: pd.DataFrame) -> pd.DataFrame:
        return self._outcomes(self.exact, batch)

    def reference(self) -> pd.DataFrame:
        pool = candidate_pool(self.campaign.space, REFERENCE_POINTS, seed=7)
        truth = self.truth(pool)
        return pd.concat([pool, truth], axis=1)


def load_pool(campaign: Campaign, path: str | Path) -> pd.DataFrame:
    """A CSV of past experiments, validated like an import (every bad row and column named,
    units parsed), one row per formulation (replicates averaged on the model scale; a value
    is censored when every replicate is). Columns that are neither variables, objectives
    nor import columns are ignored."""
    from formulate.dataio import (
        _HEADER,
        _WIDE_META,
        campaign_table,
        commit,
        plan_import,
        read_table,
    )
    from formulate.store import Store

    frame = read_table(path)
    props = set(campaign.all_properties())
    keep = [
        c
        for c in frame.columns
        if c in campaign.space.names()
        or c in (*_WIDE_META, "membrane")
        or ((m := _HEADER.match(str(c).strip())) is not None and m["prop"] in props)
    ]
    frame = frame[keep].copy()
    if "membrane" not in frame:
        frame.insert(0, "membrane", [f"row {i + 2}" for i in range(len(frame))])
    frame["status"] = "measured"
    store = Store("sqlite://")
    plan = plan_import(campaign, store, frame, source=Path(path).name, provenance="imported")
    try:
        commit(campaign, store, plan)
    except FormulateError as err:
        raise FormulateError(f"{Path(path).name}: {err.summary}", err.problems) from None
    table = campaign_table(campaign, store)
    objectives = [o.property for o in campaign.objectives]
    absent = [p for p in objectives if p not in table or table[p].isna().all()]
    if absent:
        raise FormulateError(
            f"{Path(path).name} has no values for objective(s) {absent}",
            [
                Problem(str(path), f"no column {p}", "add the column or drop the objective")
                for p in absent
            ],
        )
    return _average_replicates(campaign, table.dropna(subset=objectives, how="all"))


def _average_replicates(campaign: Campaign, table: pd.DataFrame) -> pd.DataFrame:
    names = campaign.space.names()
    keys = [signature(r, names) for r in table[names].to_dict("records")]
    table = table.assign(_key=[str(k) for k in keys])
    rows = []
    for _, group in table.groupby("_key", sort=False):
        row = group.iloc[0][names].to_dict()
        row["replicates"] = len(group)
        for o in campaign.objectives:
            y = to_model_scale(group[o.property].dropna().to_numpy(dtype=float), o.transform)
            row[o.property] = (
                float(from_model_scale(np.array([y.mean()]), o.transform)[0]) if len(y) else np.nan
            )
            flag = f"{o.property}_censored"
            if flag in group:
                row[flag] = bool(group[flag].fillna(False).astype(bool).all())
        row["status"] = "measured"
        rows.append(row)
    return pd.DataFrame(rows).reset_index(drop=True)


def _oracle(settings: Settings) -> tuple[Campaign, PoolOracle | EmulatorOracle]:
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


# --- one run -------------------------------------------------------------------------------


def run_one(
    settings: Settings, strategy: str, seed: int, hook: StepHook | None = None
) -> pd.DataFrame:
    """One strategy, one seed: the trace of its experiments in order (``experiment`` 1..,
    ``step`` 0 for the initial rows, the formulation, the outcomes it saw, ``true_<objective>``
    for scoring, ``row`` for a pool, ``wall_s`` of the step's proposal)."""
    campaign, oracle = _oracle(settings)
    budget = settings.budget
    if isinstance(oracle, PoolOracle):
        budget = min(budget, len(oracle.rows))
    table = _reveal(
        campaign, oracle, pd.DataFrame(), oracle.initial(settings.initial, seed), seed, 0, 0.0
    )
    step = 0
    while len(table) < budget:
        step += 1
        q = min(settings.batch_size, budget - len(table))
        candidates = oracle.candidates(pd.Index(table["row"].dropna().astype(int)))
        start = time.perf_counter()
        picked = _propose(
            campaign, table, strategy, q, seed * 1000 + step, settings.surrogate, candidates
        )
        wall = time.perf_counter() - start
        table = _reveal(campaign, oracle, table, picked, seed * 1000 + step, step, wall)
        if hook:
            hook(strategy, seed, step)
    table["experiment"] = np.arange(1, len(table) + 1)
    table.insert(0, "seed", seed)
    table.insert(0, "strategy", strategy)
    return table


def _propose(
    campaign: Campaign,
    table: pd.DataFrame,
    strategy: str,
    q: int,
    seed: int,
    surrogate: str | None,
    candidates: pd.DataFrame | None,
) -> pd.DataFrame:
    request = Request(
        batch_size=q, strategy=strategy, seed=seed, surrogate=surrogate, disk_cache=False
    )
    try:
        return propose(campaign, table, request, candidates)
    except FormulateError as err:
        if "a model needs at least" not in err.summary:
            raise
        return propose(campaign, table, replace(request, strategy="random"), candidates)


def _reveal(
    campaign: Campaign,
    oracle: PoolOracle | EmulatorOracle,
    table: pd.DataFrame,
    batch: pd.DataFrame,
    seed: int,
    step: int,
    wall: float,
) -> pd.DataFrame:
    names = campaign.space.names()
    batch = batch[names].copy()
    seen = oracle.measure(batch, seed)
    truth = oracle.truth(batch)
    part = pd.concat([batch, seen], axis=1)
    for o in campaign.objectives:
        part[f"true_{o.property}"] = truth[o.property].to_numpy()
    part["row"] = batch.index if isinstance(oracle, PoolOracle) else np.nan
    part["step"] = step
    part["wall_s"] = wall
    start = len(table)
    part["membrane"] = [f"M{start + i + 1}" for i in range(len(part))]
    part["batch"] = step
    return pd.concat([table, part], ignore_index=True)


# --- many runs -----------------------------------------------------------------------------


@dataclass
class Backtest:
    """A results folder: its settings, and the runs stored so far."""

    folder: Path
    settings: Settings

    def run_path(self, strategy: str, seed: int) -> Path:
        return self.folder / "runs" / strategy / f"seed-{seed:03d}.csv"

    def missing(self) -> list[tuple[str, int]]:
        return [
            (s, k)
            for k in range(self.settings.seeds)
            for s in self.settings.strategies
            if not self.run_path(s, k).is_file()
        ]

    def traces(self) -> pd.DataFrame:
        files = sorted((self.folder / "runs").glob("*/seed-*.csv"))
        if not files:
            return pd.DataFrame()
        return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)

    def reference(self) -> pd.DataFrame:
        return pd.read_csv(self.folder / REFERENCE_FILE)


def default_strategies(campaign: Campaign) -> tuple[str, ...]:
    return MULTI_STRATEGIES if len(campaign.objectives) > 1 else SINGLE_STRATEGIES


def prepare(settings: Settings, folder: Path) -> Backtest:
    """Create (or reopen, when the settings match) a results folder, validating the
    settings and writing the oracle's reference set."""
    campaign, oracle = _oracle(settings)
    if not settings.strategies:
        settings = replace(settings, strategies=default_strategies(campaign))
    _check(settings, campaign, oracle)
    file = folder / SETTINGS_FILE
    if file.is_file():
        stored = load_settings(folder)
        if stored != settings:
            raise FormulateError(
                f"{folder} holds a different backtest",
                [
                    Problem(
                        str(file),
                        f"stored: {stored.describe()}",
                        "use another output folder (-o), or the same settings to resume",
                    )
                ],
            )
    else:
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(file, json.dumps(asdict(settings), indent=2))
        _write_atomic(folder / REFERENCE_FILE, oracle.reference().to_csv(index=False))
    return Backtest(folder, settings)


def _check(settings: Settings, campaign: Campaign, oracle: PoolOracle | EmulatorOracle) -> None:
    problems = [
        Problem("--strategy", s, f"use one of {[*STRATEGIES, *BASELINES]}")
        for s in settings.strategies
        if s not in (*STRATEGIES, *BASELINES)
    ]
    if len(campaign.objectives) > 1 and "qlognei" in settings.strategies:
        problems.append(Problem("--strategy", "qlognei", "needs one objective (--objective)"))
    if settings.kind not in KINDS:
        problems.append(Problem("kind", settings.kind, f"use one of {KINDS}"))
    rows = len(oracle.rows) if isinstance(oracle, PoolOracle) else math.inf
    if settings.initial < 1 or settings.initial >= min(rows, settings.budget):
        problems.append(
            Problem(
                "--initial",
                f"{settings.initial} initial rows of {min(rows, settings.budget)}",
                "start from at least 1 row and fewer than the budget (and the pool)",
            )
        )
    if settings.seeds < 1 or settings.batch_size < 1:
        problems.append(Problem("--seeds/--batch-size", "below 1", "use 1 or more"))
    if problems:
        raise FormulateError("the backtest cannot run", problems)


def load_settings(folder: Path) -> Settings:
    file = folder / SETTINGS_FILE
    if not file.is_file():
        raise FormulateError(
            f"no backtest in {folder}",
            [Problem(str(file), "missing", "run 'formulate backtest pool' or 'emulator' first")],
        )
    raw = json.loads(file.read_text(encoding="utf-8"))
    for key in ("objectives", "strategies"):
        raw[key] = tuple(raw.get(key, ()))
    return Settings(**raw)


def open_backtest(folder: Path) -> Backtest:
    return Backtest(folder, load_settings(folder))


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _work(
    settings: Settings, folder: str, strategy: str, seed: int, queue: object = None
) -> tuple[str, int]:
    """Run one (strategy, seed) and store its trace (in a worker process)."""
    import torch

    torch.set_num_threads(1)
    hook = (lambda s, k, step: queue.put((s, k, step))) if queue is not None else None  # type: ignore[attr-defined]
    trace = run_one(settings, strategy, seed, hook)
    bt = Backtest(Path(folder), settings)
    _write_atomic(bt.run_path(strategy, seed), trace.to_csv(index=False))
    return strategy, seed


Progress = Callable[[str, int, int, int], None]
"""Called as ``progress(event, runs done, runs wanted, steps done)``."""


def run_backtest(
    bt: Backtest,
    workers: int | None = None,
    executor: str = "local",
    progress: Progress | None = None,
) -> Backtest:
    """Run every missing (strategy, seed); each run is stored as it finishes.

    Args:
        workers: processes (``local``; default the machine's cores; 1 runs in this process).
        executor: ``local`` (processes on this machine) or ``ray`` (a Ray cluster:
            ``RAY_ADDRESS`` or a local instance; needs ``pip install formulate[ray]``).
    """
    todo = bt.missing()
    total = bt.settings.seeds * len(bt.settings.strategies)
    note = progress or (lambda *_: None)
    done = total - len(todo)
    steps = 0
    note("start", done, total, steps)
    if executor == "ray":
        for _ in _run_ray(bt, todo):
            done += 1
            note("run", done, total, steps)
        return bt
    if executor != "local":
        raise FormulateError(
            f"unknown executor '{executor}'", [Problem("--executor", executor, "use local or ray")]
        )
    workers = workers or os.cpu_count() or 1
    if workers == 1:

        def hook(*_: object) -> None:
            nonlocal steps
            steps += 1
            note("step", done, total, steps)

        for strategy, seed in todo:
            trace = run_one(bt.settings, strategy, seed, hook)
            _write_atomic(bt.run_path(strategy, seed), trace.to_csv(index=False))
            done += 1
            note("run", done, total, steps)
        return bt
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager, ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        queue = manager.Queue()
        futures = {pool.submit(_work, bt.settings, str(bt.folder), s, k, queue) for s, k in todo}
        while futures:
            finished, futures = wait(futures, timeout=0.5, return_when=FIRST_COMPLETED)
            while not queue.empty():
                queue.get()
                steps += 1
                note("step", done, total, steps)
            for f in finished:
                f.result()
                done += 1
                note("run", done, total, steps)
    return bt


def _run_ray(bt: Backtest, todo: list[tuple[str, int]]) -> Iterator[object]:
    try:
        import ray
    except ImportError:
        raise FormulateError(
            "the Ray executor needs Ray",
            [Problem("--executor ray", "ray is not installed", "pip install 'formulate[ray]'")],
        ) from None
    if not ray.is_initialized():
        ray.init(
            address=os.environ.get("RAY_ADDRESS"), include_dashboard=False, log_to_driver=False
        )
    task = ray.remote(_work)
    pending = [task.remote(bt.settings, str(bt.folder.resolve()), s, k) for s, k in todo]
    while pending:
        finished, pending = ray.wait(pending, num_returns=1)
        ray.get(finished)
        yield finished
