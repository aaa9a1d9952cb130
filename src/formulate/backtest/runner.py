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
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from formulate.backtest.oracles import EmulatorOracle, PoolOracle, oracle_for, stated_rows
from formulate.backtest.settings import (
    KINDS,
    SETTINGS_FILE,
    Settings,
    default_strategies,
    load_settings,
)
from formulate.backtest.workers import step_hook, step_queue, worker_pool
from formulate.errors import FormulateError, Problem, collected_warnings, warnings_cell
from formulate.model.specs import load_spec
from formulate.plan.planner import Request, propose
from formulate.spec.campaign import Campaign
from formulate.spec.strategies import STRATEGIES

REFERENCE_FILE = "reference.csv"

StepHook = Callable[[str, int, int], None]
"""Called as ``hook(strategy, seed, step)`` after each step of a run."""


# --- one run -------------------------------------------------------------------------------


INITIAL_REASON = "initial rows (random, the same for every strategy of a seed)"


def run_one(
    settings: Settings, strategy: str, seed: int, hook: StepHook | None = None
) -> pd.DataFrame:
    """One strategy, one seed: the trace of its experiments in order (``experiment`` 1..,
    ``step`` 0 for the initial rows, the formulation, the outcomes it saw, ``true_<objective>``
    for scoring, ``row`` for a pool, ``wall_s`` of the step's proposal, the proposal's
    ``reason``, whether the warm-up rule chose it, and the library ``warnings`` raised while
    proposing (JSON ``{kind: count}``, collected instead of printed). With
    ``settings.stated`` every proposal also sees the campaign's stated membranes; the trace
    holds the run's own experiments only."""
    campaign, oracle = oracle_for(settings)
    budget = settings.budget
    if isinstance(oracle, PoolOracle):
        budget = min(budget, len(oracle.rows))
    known = stated_rows(campaign) if settings.stated else pd.DataFrame()
    table = _reveal(
        campaign, oracle, pd.DataFrame(), oracle.initial(settings.initial, seed), seed, 0, 0.0
    )
    step = 0
    while len(table) < budget:
        step += 1
        q = min(settings.batch_size, budget - len(table))
        candidates = oracle.candidates(pd.Index(table["row"].dropna().astype(int)))
        seen = pd.concat([known, table], ignore_index=True) if len(known) else table
        start = time.perf_counter()
        with collected_warnings() as caught:
            picked = _propose(
                campaign, seen, strategy, q, seed * 1000 + step, settings.surrogate, candidates
            )
        wall = time.perf_counter() - start
        warned = warnings_cell(caught)
        table = _reveal(campaign, oracle, table, picked, seed * 1000 + step, step, wall, warned)
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
    return propose(campaign, table, request, candidates)


def _reveal(
    campaign: Campaign,
    oracle: PoolOracle | EmulatorOracle,
    table: pd.DataFrame,
    batch: pd.DataFrame,
    seed: int,
    step: int,
    wall: float,
    warned: str = "",
) -> pd.DataFrame:
    names = campaign.space.names()
    reason = batch["reason"].to_numpy() if "reason" in batch else INITIAL_REASON
    warm_up = batch["warm_up"].to_numpy() if "warm_up" in batch else False
    batch = batch[names].copy()
    seen = oracle.measure(batch, seed)
    truth = oracle.truth(batch)
    part = pd.concat([batch, seen], axis=1)
    for o in campaign.objectives:
        part[f"true_{o.property}"] = truth[o.property].to_numpy()
    part["row"] = batch.index if isinstance(oracle, PoolOracle) else np.nan
    part["step"] = step
    part["wall_s"] = wall
    part["reason"] = reason
    part["warm_up"] = warm_up
    part["warnings"] = warned
    start = len(table)
    part["membrane"] = [f"M{start + i + 1}" for i in range(len(part))]
    part["batch"] = step
    return pd.concat([table, part], ignore_index=True)


# --- many runs -----------------------------------------------------------------------------


@dataclass
class Backtest:
    """A results folder: its settings, and the runs stored so far.

    ``scored``: (strategy, seed) runs whose scores are kept elsewhere (a suite's stored
    ``scores.csv``); they count as done and are not run again. Runs depend only on their seed,
    so a stored score of the same planner is what the run would give.
    ``wanted``: the strategies to run now (empty: all of the settings'); the folder's other
    strategies keep their runs and stay in its report.
    """

    folder: Path
    settings: Settings
    scored: frozenset[tuple[str, int]] = frozenset()
    wanted: frozenset[str] = frozenset()

    def run_path(self, strategy: str, seed: int) -> Path:
        return self.folder / "runs" / strategy / f"seed-{seed:03d}.csv"

    def missing(self) -> list[tuple[str, int]]:
        return [
            (s, k)
            for k in range(self.settings.seeds)
            for s in self.settings.strategies
            if (not self.wanted or s in self.wanted)
            and not self.run_path(s, k).is_file()
            and (s, k) not in self.scored
        ]

    def wanted_runs(self) -> int:
        """How many (strategy, seed) runs this call wants, done or not: every seed of each
        wanted strategy (all of the settings' when none is named)."""
        return self.settings.seeds * len(self.wanted or self.settings.strategies)

    def has_runs(self) -> bool:
        """Whether any run is stored in this folder (without reading them)."""
        return any((self.folder / "runs").glob("*/seed-*.csv"))

    def traces(self) -> pd.DataFrame:
        files = sorted((self.folder / "runs").glob("*/seed-*.csv"))
        if not files:
            return pd.DataFrame()
        return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)

    def reference(self) -> pd.DataFrame:
        return pd.read_csv(self.folder / REFERENCE_FILE)


def prepare(settings: Settings, folder: Path) -> Backtest:
    """Create (or reopen, when the settings match) a results folder, validating the
    settings and writing the oracle's reference set. Reopened, more seeds or new strategies
    grow it; naming some of its strategies runs only those (the others keep their runs)."""
    named = settings.strategies
    settings, stored, oracle = _resolve(settings, folder)
    file = folder / SETTINGS_FILE
    if stored is None:
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(file, json.dumps(asdict(settings), indent=2))
        _write_atomic(folder / REFERENCE_FILE, oracle.reference().to_csv(index=False))
        return Backtest(folder, settings)
    if settings != stored:  # the seeds of a run depend only on its number: old runs stay valid
        _write_atomic(file, json.dumps(asdict(settings), indent=2))
    return Backtest(folder, settings, wanted=frozenset(named))


def check_queue(queue: Iterable[tuple[Settings, Path]]) -> None:
    """What :func:`prepare` would refuse for any ``(settings, folder)`` of a queue of
    backtests (the suite's members, the transfer tasks' arms), writing nothing: checked before
    the first runs, one that cannot resume stops the queue with nothing run, not after hours
    of the others.

    Raises:
        FormulateError: invalid settings, or a folder that holds another backtest (other
            settings, or more seeds than asked: a folder never shrinks).
    """
    for settings, folder in queue:
        _resolve(settings, folder)


def _resolve(
    settings: Settings, folder: Path
) -> tuple[Settings, Settings | None, PoolOracle | EmulatorOracle]:
    """The settings ``folder`` runs (none named: its stored strategies, else every one that
    fits the campaign; more seeds or strategies grow a stored folder), its stored settings
    (None: a new folder) and the oracle; validated, nothing written."""
    campaign, oracle = oracle_for(settings)
    file = folder / SETTINGS_FILE
    stored = load_settings(folder) if file.is_file() else None
    named = settings.strategies
    if not named:  # none named: the stored ones, else all that fit
        settings = replace(
            settings, strategies=stored.strategies if stored else default_strategies(campaign)
        )
    _check(settings, campaign, oracle)
    if stored is None:
        return settings, None, oracle
    grown = replace(
        settings,
        seeds=max(stored.seeds, settings.seeds),
        strategies=(*stored.strategies, *(s for s in named if s not in stored.strategies)),
    )
    if replace(grown, seeds=stored.seeds, strategies=stored.strategies) != stored or (
        settings.seeds < stored.seeds
    ):
        raise FormulateError(
            f"{folder} holds a different backtest",
            [
                Problem(
                    str(file),
                    f"stored: {stored.describe()}",
                    "use another output folder (-o); the same settings resume it, more "
                    "--seeds or more --strategy grow it",
                )
            ],
        )
    return grown, stored, oracle


def _check(settings: Settings, campaign: Campaign, oracle: PoolOracle | EmulatorOracle) -> None:
    problems = [
        Problem("--strategy", s, f"use one of {list(STRATEGIES)}")
        for s in settings.strategies
        if s not in STRATEGIES
    ]
    if len(campaign.objectives) > 1:
        problems += [
            Problem("--strategy", s, "needs one objective (--objective)")
            for s in settings.strategies
            if s in STRATEGIES and STRATEGIES[s].objectives == "one"
        ]
    if settings.kind not in KINDS:
        problems.append(Problem("kind", settings.kind, f"use one of {KINDS}"))
    rows = len(oracle.rows) if isinstance(oracle, PoolOracle) else math.inf
    least = 0 if settings.priors else 1  # a source can choose the first experiments
    if settings.initial < least or settings.initial >= min(rows, settings.budget):
        problems.append(
            Problem(
                "--initial",
                f"{settings.initial} initial rows of {min(rows, settings.budget)}",
                f"start from at least {least} row(s) (0 only with --prior) and fewer than the "
                "budget (and the pool)",
            )
        )
    if settings.seeds < 1 or settings.batch_size < 1:
        problems.append(Problem("--seeds/--batch-size", "below 1", "use 1 or more"))
    if settings.surrogate is not None:
        try:
            load_spec(settings.surrogate)
        except FormulateError as err:
            problems += err.problems
    if settings.stated and isinstance(oracle, PoolOracle):
        problems.append(
            Problem("--stated", "a pool backtest", "leave it out: a pool replays past data itself")
        )
    elif settings.stated and stated_rows(campaign).empty:
        problems.append(
            Problem(
                "--stated",
                f"campaign '{campaign.name}' states no membranes",
                'add [[seed_data]] with provenance = "stated", or leave out --stated',
            )
        )
    if problems:
        raise FormulateError("the backtest cannot run", problems)


def open_backtest(folder: Path) -> Backtest:
    return Backtest(folder, load_settings(folder))


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _work(settings: Settings, folder: str, strategy: str, seed: int) -> tuple[str, int]:
    """Run one (strategy, seed) and store its trace (in a worker process)."""
    import torch

    torch.set_num_threads(1)
    trace = run_one(settings, strategy, seed, step_hook())
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
    total = bt.wanted_runs()
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
    queue = step_queue()
    with worker_pool(workers, queue) as pool:
        futures = {pool.submit(_work, bt.settings, str(bt.folder), s, k) for s, k in todo}
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
