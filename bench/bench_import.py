"""Benchmark: ``formulate import`` of a large wide CSV, run as a user runs it (a subprocess),
timed, with its peak memory (the child's max RSS).

The table is a lab's: random feasible formulations on the campaign's grid, conductivity
written in mS/cm, t+, a Li|Li life that is censored (``>``) for one row in five, the
intermediates, notes. A second run imports the same file with one bad cell in its last row
and must be refused in full, the store unchanged.

Then ``formulate status`` on the store, as JSON and as the table a person reads (issue 29's
target: 10 s or less at 100,000 membranes).

Prints figures; asserts nothing. Run: ``python bench/bench_import.py [--rows 100000]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_store import random_formulations

from formulate.spec.campaign import init_campaign


def lab_table(rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` membranes with outcomes, as a lab's spreadsheet holds them."""
    rng = np.random.default_rng(seed)
    table = random_formulations(rows, seed)
    table["ionic_conductivity [mS/cm]"] = np.round(10 ** rng.uniform(-4, -0.3, rows), 5)
    table["transference_number"] = np.round(rng.uniform(0.1, 0.8, rows), 3)
    life = np.round(rng.uniform(10, 2000, rows), 1).astype(str)
    censored = rng.random(rows) < 0.2
    table["li_symmetric_life [h]"] = np.where(censored, np.char.add(">", life), life)
    table["crystallinity"] = np.round(rng.uniform(0, 0.6, rows), 3)
    table["notes"] = [f"cast {i % 28 + 1} Nov" for i in range(rows)]
    return table


CLI = (
    "import sys\n"
    "from formulate.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "hwm = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]\n"
    "print(f'PEAK_KB {hwm}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)
"""``formulate ARGS`` (the console script's own entry point) that reports its peak memory:
VmHWM, the high-water mark of this program alone (``ru_maxrss`` would carry over the bench's
own memory at fork)."""


def run(args: list[str]) -> tuple[float, int, float, str]:
    """Seconds, exit code, peak MB of ``formulate ARGS`` in its own process, and its output."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    lines = (done.stdout + done.stderr).strip().splitlines()
    peak_mb = int(lines[-1].split()[1]) / 1024
    return seconds, done.returncode, peak_mb, "\n".join(lines[:-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        spec = init_campaign("big", "cheng2023", Path(tmp) / "campaigns")
        good = Path(tmp) / "good.csv"
        table = lab_table(opts.rows)
        table.to_csv(good, index=False)
        bad = Path(tmp) / "bad.csv"
        table.iloc[-1, table.columns.get_loc("transference_number")] = 1.7
        table.to_csv(bad, index=False)
        db = spec.folder / "formulate.db"
        run(["status", str(spec.folder), "--json"])
        size = db.stat().st_size
        seconds, code, peak, text = run(["import", str(spec.folder), str(bad)])
        unchanged = db.stat().st_size == size
        print(
            f"refused ({opts.rows:,} rows, 1 bad): {seconds:.1f} s, exit {code}, peak "
            f"{peak:.0f} MB, store unchanged: {unchanged}; {text.splitlines()[-1][:100]}"
        )
        seconds, code, peak, text = run(["import", str(spec.folder), str(good)])
        print(f"imported {opts.rows:,} rows: {seconds:.1f} s, exit {code}, peak {peak:.0f} MB")
        print(f"  {text.splitlines()[-1][:160]}")
        for how in (["--json"], []):  # the table a person reads: its newest 40 rows
            seconds, code, peak, text = run(["status", str(spec.folder), *how])
            shown = " ".join(how) or "(table)"
            print(f"status {shown} afterwards: {seconds:.1f} s, exit {code}, peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
