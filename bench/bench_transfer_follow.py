"""Analysis: how far following the related source alone would take each transfer task.

For every task of ``benchmarks/transfer/`` the target pool (replicates averaged, as the
backtest reads it) is ranked by the related source's outcome at the nearest source
formulation (L1 in the one-hot encoding, every variable scaled to [0, 1]; exact where the two
grids match, ties averaged). The figure that matters is the rank of the first target top-5% row
in that order: a planner that copied the source's ranking would need that many experiments
after its initial rows. It bounds what a source can do for the issue's "first top-5% row in
1.5x fewer experiments": where the source's best rows are not the target's, no reading of the
source puts a top-5% row first. Random order needs (N + 1) / (M + 1) on average (N rows, M top).

Runs no planner; reads the pinned tables (``FORMULATE_MIRROR`` or the network on first use).
Prints a table (and ``-o FILE.csv``).

Run: ``python bench/bench_transfer_follow.py [--tasks benchmarks/transfer]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from formulate.backtest.metrics import random_experiments_to, score_matrix, top_rows
from formulate.backtest.oracles import load_pool
from formulate.backtest.transfer import Task, load_transfer, task_tables
from formulate.model.encoding import Encoder
from formulate.spec.campaign import load_campaign

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=Path, default=ROOT / "benchmarks" / "transfer")
    parser.add_argument("-o", "--output", help="CSV of every figure")
    args = parser.parse_args()
    frame = pd.DataFrame([follow(task) for task in load_transfer(args.tasks).tasks])
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    if args.output:
        frame.to_csv(args.output, index=False)


def follow(task: Task) -> dict:
    """One task: the target pool ranked by its related source, and where its top 5% falls."""
    files = task_tables(task, ROOT)
    campaign = load_campaign(task.campaign)
    target, source = load_pool(campaign, files["target"]), load_pool(campaign, files["related"])
    y_target, y_source = score_matrix(campaign, target)[:, 0], score_matrix(campaign, source)[:, 0]
    top = set(top_rows(y_target, 0.05).tolist())
    encoder = Encoder(campaign, "onehot")
    X_target, X_source = encoder.encode(target).numpy(), encoder.encode(source).numpy()
    distance = np.abs(X_target[:, None, :] - X_source[None, :, :]).sum(-1)  # N x S
    nearest = distance == distance.min(1, keepdims=True)
    guide = (nearest * y_source).sum(1) / nearest.sum(1)  # larger is better
    order = np.argsort(-guide, kind="stable")
    ranks = [k + 1 for k, row in enumerate(order) if row in top]
    return {
        "task": task.name,
        "target rows": len(target),
        "top-5% rows": len(top),
        "exact matches": float((distance.min(1) < 1e-9).mean()),
        "spearman": float(spearmanr(guide, y_target).statistic),
        "source's top 5 in target's top 5%": sum(row in top for row in order[:5]),
        "rank of first top-5% row": ranks[0],
        "random, expected rank": random_experiments_to(0.0, len(target), len(top)),
    }


if __name__ == "__main__":
    main()
