"""Transfer tasks: does a campaign learn from an earlier one? Public tables from other labs.

``benchmarks/transfer/`` holds ``transfer.toml`` (the tasks, seeds and protocol) and one
folder per task: ``task.toml`` (the target table and a related source, each pinned like a
suite member's, and what differs between them), a campaign file and a README. Each task runs
in three arms on the same seeds, each an ordinary pool backtest of the target under
``OUTPUT/<task>/<arm>``:

- ``scratch``: the target alone, as a campaign without sources;
- ``related``: the related table as a ``[[prior]]`` source (the same system under another
  condition: a temperature, a salt, a polymer, a substrate);
- ``unrelated``: the related table with its outcomes shuffled across its rows (seeded), a
  source with the same formulations and value spread and no relation to the target: what
  a misleading source costs.

``scratch`` starts from the protocol's random rows; an arm with a source starts from
``initial_with_source`` of them (``[protocol]``; 0: the source chooses the first experiments,
as a lab that has one would let it: :func:`formulate.plan.fitting.source_start`).

The scoreboard pairs ``related`` and ``unrelated`` with ``scratch`` seed by seed.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from formulate.backtest.oracles import load_pool
from formulate.backtest.scoreboard import paired, seed_scores, verdict, with_stored
from formulate.backtest.settings import Settings
from formulate.backtest.sources import Source, TableSteps, cache_root, parse_source, parse_steps
from formulate.backtest.suite import OURS, Protocol, table_file
from formulate.errors import FormulateError, Problem
from formulate.spec.campaign import load_campaign

TRANSFER_FILE = "transfer.toml"
SCORES_FILE = "transfer-scores.csv"
SCORE_KEYS = ("task", "strategy", "seed", "budget")
"""The columns every row of ``transfer-scores.csv`` has."""
TASK_FILE = "task.toml"
ARMS = ("scratch", "related", "unrelated")
"""The arms of every task: no source, the related source, the shuffled source."""
PAIRS = (
    ("related", "scratch"),
    ("unrelated", "scratch"),
    ("related", "related/baybe"),
    ("unrelated", "unrelated/baybe"),
    ("related/baybe", "scratch/baybe"),
)
"""The seed-paired comparisons of the scoreboard, where both ran: ours with each source against
ours from scratch, ours against BayBE's transfer learning with the same source, BayBE's
against BayBE from scratch."""


@dataclass(frozen=True)
class Task:
    """One transfer task.

    Attributes:
        name: the folder's name.
        title: one line for people.
        campaign: the target's campaign file.
        differs: what differs between the related source and the target, in words.
        target, related: each a pinned table and how it is cleaned.
    """

    name: str
    folder: Path
    title: str
    campaign: Path
    differs: str
    target: tuple[Source, TableSteps]
    related: tuple[Source, TableSteps]


@dataclass(frozen=True)
class Transfer:
    """The transfer tasks, their seeds and protocol; ``source_initial``: the random rows an arm
    with a source starts from (the protocol's ``initial`` from scratch)."""

    root: Path
    tasks: tuple[Task, ...]
    seeds: int
    protocol: Protocol
    source_initial: int

    def select(self, names: Sequence[str]) -> tuple[Task, ...]:
        known = {t.name: t for t in self.tasks}
        bad = [n for n in names if n not in known]
        if bad:
            raise FormulateError(
                "unknown transfer task",
                [Problem("--task", n, f"use one of {sorted(known)}") for n in bad],
            )
        return tuple(known[n] for n in names) if names else self.tasks


def load_transfer(root: Path) -> Transfer:
    """``root/transfer.toml`` and its task folders, checked (all problems at once)."""
    file = root / TRANSFER_FILE
    if not file.is_file():
        raise FormulateError(
            "no transfer tasks here",
            [Problem(str(file), "missing", "run from the repository root or pass --tasks")],
        )
    raw = tomllib.loads(file.read_text(encoding="utf-8"))
    tasks: list[Task] = []
    problems: list[Problem] = []
    for name in raw.get("tasks", []):
        try:
            tasks.append(_load_task(root / name))
        except FormulateError as err:
            problems += err.problems
    if problems:
        raise FormulateError("the transfer tasks do not load", problems)
    protocol = dict(raw["protocol"])
    source_initial = int(protocol.pop("initial_with_source", protocol.get("initial", 3)))
    return Transfer(
        root, tuple(tasks), int(raw.get("seeds", 20)), Protocol(**protocol), source_initial
    )


def _load_task(folder: Path) -> Task:
    file = folder / TASK_FILE
    if not file.is_file():
        raise FormulateError("missing task", [Problem(str(file), "missing", "add it")])
    raw = tomllib.loads(file.read_text(encoding="utf-8"))
    where = str(file)
    missing = [k for k in ("title", "campaign", "differs", "target", "related") if k not in raw]
    if missing:
        raise FormulateError(
            "incomplete task", [Problem(f"{where}: {k}", "missing", "add it") for k in missing]
        )
    parts = {
        part: (parse_source(raw[part]["source"], where), parse_steps(raw[part].get("table", {})))
        for part in ("target", "related")
    }
    return Task(
        name=folder.name,
        folder=folder,
        title=raw["title"],
        campaign=(folder / raw["campaign"]).resolve(),
        differs=raw["differs"],
        target=parts["target"],
        related=parts["related"],
    )


def task_tables(task: Task, repo_root: Path) -> dict[str, Path]:
    """The target pool and both sources as CSVs (fetched, checked and cleaned once)."""
    target = table_file(f"{task.name}-target", *task.target, repo_root)
    related = table_file(f"{task.name}-related", *task.related, repo_root)
    return {"target": target, "related": related, "unrelated": _shuffled(task, related)}


def _shuffled(task: Task, related: Path) -> Path:
    """The related table with every column that is not a variable (its outcomes) permuted
    across rows together, with a seed fixed by the task's name."""
    data = related.read_bytes()
    key = hashlib.sha256(data).hexdigest()[:16]
    path = cache_root() / "pools" / f"{task.name}-unrelated-{key}.csv"
    if path.is_file():
        return path
    frame = pd.read_csv(related)
    variables = set(load_campaign(task.campaign).space.names())
    outcomes = [c for c in frame.columns if c not in variables]
    seed = int(hashlib.sha256(task.name.encode()).hexdigest()[:8], 16)
    order = np.random.default_rng(seed).permutation(len(frame))
    frame[outcomes] = frame[outcomes].to_numpy()[order]
    tmp = path.with_suffix(".tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def settings_for(
    task: Task,
    arm: str,
    seeds: int,
    protocol: Protocol,
    repo_root: Path,
    strategies: Sequence[str] = (OURS,),
    source_initial: int | None = None,
) -> Settings:
    """The backtest of one arm: the target's pool and campaign, with the arm's source as a
    prior table; ``strategies`` (``ours``: the campaign's own; a peer such as ``baybe`` gets
    the same source through its own transfer learning). The budget is the protocol's or a
    third of the target's rows, whichever is smaller. An arm with a source starts from
    ``source_initial`` random rows (default: the protocol's ``initial``)."""
    if arm not in ARMS:
        raise FormulateError("unknown arm", [Problem("--arm", arm, f"use one of {ARMS}")])
    tables = task_tables(task, repo_root)
    campaign = load_campaign(task.campaign)
    rows = len(load_pool(campaign, tables["target"]))
    return Settings(
        kind="pool",
        campaign=str(task.campaign),
        pool=str(tables["target"]),
        strategies=tuple(
            dict.fromkeys(campaign.strategy.acquisition if s == OURS else s for s in strategies)
        ),
        seeds=seeds,
        initial=protocol.initial if arm == "scratch" or source_initial is None else source_initial,
        batch_size=protocol.batch_size,
        budget=min(protocol.budget, max(protocol.initial + 2, rows // 3)),
        priors=() if arm == "scratch" else (str(tables[arm]),),
    )


# --- scoreboard ------------------------------------------------------------------------------


def transfer_scores(output: Path, tasks: Sequence[Task]) -> pd.DataFrame:
    """One row per (task, arm, strategy, seed) that ran: the suite's per-seed scores,
    ``strategy`` being the arm for the campaign's own strategy (``related``), else the arm and
    the strategy (``related/baybe``)."""
    frames = []
    for task in tasks:
        own = load_campaign(task.campaign).strategy.acquisition
        for arm in ARMS:
            folder = output / task.name / arm
            if any((folder / "runs").rglob("seed-*.csv")):
                scores = seed_scores(folder)
                label = [arm if s == own else f"{arm}/{s}" for s in scores["strategy"]]
                frames.append(scores.assign(task=task.name, strategy=label))
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def transfer_board(scores: pd.DataFrame, tasks: Sequence[Task]) -> pd.DataFrame:
    """Per task: each arm's median experiments to the first top-5% row ([25%, 75%]), the
    speed-up of the related source (scratch's median over related's) and the seed-paired
    comparison of each source with scratch on the area under the top-5% curve."""
    rows = []
    for task in tasks:
        s = scores[scores["task"] == task.name] if len(scores) else scores
        if s.empty:
            continue
        row: dict[str, object] = {"task": task.name}
        medians = {}
        for arm in ARMS:
            n = s.loc[s["strategy"] == arm, "n to top 5%"]
            medians[arm] = float(np.median(n)) if len(n) else np.nan
            row[f"{arm}: n to top 5%"] = _quartiles(n)
            row[f"{arm}: seeds"] = len(n)
        row["speed-up (related)"] = medians["scratch"] / medians["related"]
        for mine, other in PAIRS:
            if {mine, other} <= set(s["strategy"]):
                result = paired(s, mine, other)
                row[f"{mine} vs {other}"] = (
                    f"{result['wins']}/{result['ties']}/{result['losses']}, "
                    f"p={result['p']:.2g} {verdict(result)}".strip()
                )
        for peer in sorted({x for x in s["strategy"] if "/" in x}):
            n = s.loc[s["strategy"] == peer, "n to top 5%"]
            row[f"{peer}: n to top 5%"] = _quartiles(n)
        rows.append(row)
    board = pd.DataFrame(rows)
    compared = [c for c in board.columns if " vs " in c or "/" in c]  # where a peer did not run
    board[compared] = board[compared].fillna("-")
    return board


def _quartiles(n: pd.Series) -> str:
    if not len(n):
        return "-"
    q = np.percentile(n, [50, 25, 75])
    fmt = [">budget" if not np.isfinite(v) else f"{v:g}" for v in q]
    return f"{fmt[0]} [{fmt[1]}, {fmt[2]}]"


def write_transfer_board(
    output: Path,
    transfer: Transfer,
    docs: Path | None = None,
    more: Sequence[Path] = (),
    stored: pd.DataFrame | None = None,
) -> Path:
    """``transfer.md`` and ``transfer-scores.csv`` in ``docs`` (default ``output``), from the
    runs under ``output`` and the folders ``more`` (a peer's runs, made separately), and the
    ``stored`` scores (an earlier ``transfer-scores.csv``) of the (task, arm, seed) they lack."""
    where = docs or output
    where.mkdir(parents=True, exist_ok=True)
    scores = pd.concat(
        [transfer_scores(folder, transfer.tasks) for folder in (output, *more)],
        ignore_index=True,
    )
    if stored is not None:
        scores = with_stored(scores, stored, "task")
    board = transfer_board(scores, transfer.tasks)
    scores.to_csv(where / SCORES_FILE, index=False)
    path = where / "transfer.md"
    path.write_text(_markdown(transfer, board), encoding="utf-8")
    return path


def _markdown(transfer: Transfer, board: pd.DataFrame) -> str:
    p = transfer.protocol
    lines = [
        "# Transfer tasks",
        "",
        "Public tables from other labs (`benchmarks/transfer/`). Each target is replayed as a "
        f"pool ({p.batch_size} row a step, up to {p.budget} experiments) three times on the "
        f"same seeds: from scratch ({p.initial} random rows first), with a related source as "
        "a `[[prior]]` table, and with an unrelated one (the related rows with their outcomes "
        f"shuffled), each with a source starting from {transfer.source_initial} random rows "
        "(0: the source's own model chooses the first experiments where it predicts its own "
        "rows; a source that does not gets the warm-up design). Experiments to the first "
        "top-5% row, random rows included: median [25%, 75%]. Paired: wins/ties/losses "
        "against scratch on the area under the top-5% curve, two-sided Wilcoxon signed-rank.",
        "",
    ]
    for task in transfer.tasks:
        lines.append(f"- `{task.name}`: {task.title}. Related source: {task.differs}.")
    lines.append("")
    if board.empty:
        return "\n".join([*lines, "No runs yet.", ""])
    shown = board.copy()
    shown["speed-up (related)"] = shown["speed-up (related)"].map(lambda v: f"{v:.2f}x")
    header = "| " + " | ".join(shown.columns) + " |"
    lines += [header, "|" + "---|" * len(shown.columns)]
    lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in shown.to_numpy()]
    speed = board["speed-up (related)"].replace([np.inf, -np.inf], np.nan).dropna()
    lines += [
        "",
        f"Median speed-up over tasks with a related source: {np.median(speed):.2f}x "
        "(the target: 1.5x).",
        "",
    ]
    return "\n".join(lines)
