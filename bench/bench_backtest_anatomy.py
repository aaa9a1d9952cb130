"""Benchmark: what "membranes to 95% of the reference hypervolume" asks of a backtest's runs.

Reads a results folder written by ``formulate backtest`` (several objectives) and prints two
tables:

1. **The reference front, greedily**: the reference set's membranes that add the most
   hypervolume one after another, with their formulation, true outcomes and the cumulative
   share of the reference hypervolume (how many membranes a run must make, and which ones,
   before 80% or 95% can be reached).
2. **When each run first made the best family**: the family (combination of categorical
   levels) of the first membrane of table 1; per strategy, the runs grouped by the step at
   which they first made a membrane of it (a failed film counts: the initial rows, batch 1,
   2, ... or never), with the median membranes to 95% (the report's median, the lower middle
   value) and how many runs reach it by ``--by`` membranes.

Asserts nothing. Run: ``python bench/bench_backtest_anatomy.py FOLDER [--by 18] [--top 5]``
(e.g. the folder of ``formulate backtest emulator cheng2023 --strategy qlognehvi --seeds 20
--workers 2 -o FOLDER``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from botorch.utils.multi_objective.pareto import is_non_dominated

from formulate.backtest.metrics import experiments_to, hypervolume, median_runs, score_matrix
from formulate.backtest.report import Report
from formulate.backtest.runner import open_backtest
from formulate.plan.pool import families


def front_shares(report: Report, top: int) -> pd.DataFrame:
    """The ``top`` reference membranes chosen greedily by hypervolume, each with the
    cumulative share of the reference hypervolume (``share``, 0-1)."""
    R = score_matrix(report.campaign, report.reference)
    finite = np.isfinite(R).all(1)
    front = is_non_dominated(torch.as_tensor(R[finite])).numpy()
    rows = report.reference[finite][front].reset_index(drop=True)
    R = R[finite][front]
    chosen: list[int] = []
    shares = []
    for _ in range(min(top, len(rows))):
        gains = [
            hypervolume(R[[*chosen, i]], report.ref) if i not in chosen else -1.0
            for i in range(len(rows))
        ]
        chosen.append(int(np.argmax(gains)))
        shares.append(max(gains) / report.best_hv)
    space = report.campaign.space
    names = space.names() + [o.property for o in report.campaign.objectives]
    out = rows.loc[chosen, names].reset_index(drop=True)
    out.insert(0, "family", families(space, out))
    out["share"] = shares
    return out


def first_made(report: Report, family: str, by: int, target: float = 0.95) -> pd.DataFrame:
    """Per strategy and step at which a run first made a membrane of ``family``: runs,
    median membranes to ``target`` of the reference hypervolume (inf: not within the
    budget) and runs reaching it by ``by`` membranes."""
    curves = report.curves()
    rows = []
    for (strategy, seed), trace in report.traces.groupby(["strategy", "seed"]):
        trace = trace.sort_values("experiment")
        made = trace[families(report.campaign.space, trace) == family]
        step = int(made["step"].iloc[0]) if len(made) else None
        hv = curves[(curves["strategy"] == strategy) & (curves["seed"] == seed)]
        n = experiments_to(hv.sort_values("experiment")["hypervolume fraction"], target)
        when = "never" if step is None else ("initial rows" if step == 0 else f"batch {step}")
        rows.append({"strategy": strategy, "first made": when, "n": n})
    runs = pd.DataFrame(rows)
    return (
        runs.groupby(["strategy", "first made"], sort=False)["n"]
        .agg(
            runs="size",
            median=median_runs,
            reached=lambda n: int((n <= by).sum()),
        )
        .rename(columns={"median": f"median n to {target:.0%}", "reached": f"runs by {by}"})
        .reset_index()
        .sort_values(["strategy", "first made"], key=lambda c: c.map(_order))
    )


def _order(value: str) -> object:
    if value == "initial rows":
        return -1
    if value == "never":
        return 10**6
    return int(value.split()[-1]) if value.startswith("batch") else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--by", type=int, default=18, help="membranes (default 18)")
    parser.add_argument("--top", type=int, default=5, help="reference membranes (default 5)")
    args = parser.parse_args()
    report = Report(open_backtest(args.folder))
    if not report.multi:
        raise SystemExit("the backtest has one objective: no hypervolume to take apart")
    front = front_shares(report, args.top)
    print(f"Reference front of {args.folder}, greedily by hypervolume share:\n")
    print(front.to_string(index=False, float_format="{:.4g}".format))
    family = str(front["family"].iloc[0])
    print(f"\nRuns by when they first made a membrane of {family}:\n")
    print(first_made(report, family, args.by).to_string(index=False, float_format="{:.3g}".format))


if __name__ == "__main__":
    main()
