"""Benchmark: what a prior source costs a proposal, from the CLI, on the realistic campaign.

The target is :func:`formulate.testing.realistic_campaign` (failed films, every intermediate,
late and censored lives, a pending batch of 4) at 30 and 100 membranes under
``campaigns/cheng2023``; the source is another realistic campaign of 120 membranes (another
seed: other formulations, other noise) under ``campaigns/earlier``, named by a ``[[prior]]``
entry. Each line is ``formulate propose campaigns/cheng2023 --batch 4 --dry-run`` timed as a
user runs it (a fresh process), first with no fitted model on disk (cold) and then again
(models on disk), for: no source, the source as a task of a multi-task GP (``transfer =
"multitask"``), the same tasks under Kennedy and O'Hagan's covariance (``transfer =
"autoregressive"``) and the source stacked (``transfer = "stacked"``). The issue's target: a
proposal with sources costs at most twice one without.

Asserts nothing; prints a table (and ``-o FILE.csv``).

Run: ``python bench/bench_transfer.py [--sizes 30 100] [--repeats 2] [--modes none stacked]``
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

MODES = ("none", "multitask", "autoregressive", "stacked")
PRIOR = '\n[[prior]]\ncampaign = "../earlier"\ndiffers = "another batch of the lab (emulated)"\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 100])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("-o", "--output", help="CSV of every figure")
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            folder = _campaigns(root, n)
            for mode in args.modes:
                _set_mode(folder, mode)
                shutil.rmtree(folder / ".formulate-cache", ignore_errors=True)
                cold = _propose(root)
                warm = statistics.median(_propose(root) for _ in range(args.repeats))
                rows.append({"membranes": n, "source": mode, "cold_s": cold, "on_disk_s": warm})
                print(f"done: {n} membranes, {mode}", file=sys.stderr)
    frame = pd.DataFrame(rows)
    base = frame[frame["source"] == "none"].set_index("membranes")
    for col in ("cold_s", "on_disk_s") if len(base) else ():
        frame[f"{col} / none"] = frame[col] / frame["membranes"].map(base[col])
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    if args.output:
        frame.to_csv(args.output, index=False)


def _campaigns(root: Path, n: int) -> Path:
    """The target (``n`` membranes) and the source (120) as realistic campaign folders, each
    with its own SQLite store."""
    from formulate.testing import Realistic, realistic_folder

    realistic_folder(root / "source", Realistic(membranes=120, seed=7))
    realistic_folder(root, Realistic(membranes=n, seed=n))
    shutil.move(root / "source" / "campaigns" / "cheng2023", root / "campaigns" / "earlier")
    return root / "campaigns" / "cheng2023"


def _set_mode(folder: Path, mode: str) -> None:
    file = folder / "campaign.toml"
    text = file.read_text().split(PRIOR)[0]
    text = re.sub(r'\ntransfer = "[a-z]+"', "", text)
    if mode != "none":
        text = text.replace("[strategy]", f'[strategy]\ntransfer = "{mode}"', 1) + PRIOR
    file.write_text(text)


def _propose(root: Path) -> float:
    """Seconds of ``formulate propose campaigns/cheng2023 --batch 4 --dry-run`` in ``root``."""
    start = time.perf_counter()
    subprocess.run(
        ["formulate", "propose", "campaigns/cheng2023", "--batch", "4", "--dry-run"],
        cwd=root,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
