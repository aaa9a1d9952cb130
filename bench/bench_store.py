"""Benchmark: how fast the data side of the loop is (import, log, table) on a SQLite file.

Prints figures; asserts nothing. Run: ``python bench/bench_store.py [--membranes 100 500]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from formulate.data import campaign_table, import_table, make_measurement, open_store
from formulate.errors import Problem
from formulate.lab.plugins import measure_formulations
from formulate.spec.campaign import load_campaign


def random_formulations(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        filler = rng.choice(["none", "cluster_chain", "nanowire"])
        solvent = rng.choice(["THF_DCM", "ACN", "DMF"])
        polymer = "PEO" if solvent == "THF_DCM" else rng.choice(["PEO", "PVDF_HFP", "PAN"])
        rows.append(
            {
                "membrane": f"R{i}",
                "filler": filler,
                "filler_wt_pct": None if filler == "none" else float(rng.integers(1, 31) / 2),
                "polymer": polymer,
                "solvent": solvent,
                "thf_fraction": round(float(rng.random()), 3) if solvent == "THF_DCM" else None,
                "eo_li_ratio": round(float(rng.uniform(6, 30)), 2),
            }
        )
    return pd.DataFrame(rows)


def timed(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_size(n: int, template: Path) -> tuple[float, float, float]:
    """(import s, table s, log-one s) for a campaign of ``n`` emulated membranes."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "c"
        shutil.copytree(template, folder)
        campaign = load_campaign(folder)
        store = open_store(campaign)
        frame = random_formulations(n, seed=n)
        wide = frame.merge(measure_formulations(campaign, frame, seed=0), on="membrane")
        start = time.perf_counter()
        import_table(campaign, store, wide)
        t_import = time.perf_counter() - start
        t_table = timed(lambda: campaign_table(campaign, store))
        values = iter(range(10**6))

        def log_one() -> None:
            value = f"{1e-4 + next(values) * 1e-9}"
            m = make_measurement(campaign, "R0", "ionic_conductivity", value, where="bench")
            assert not isinstance(m, Problem)
            store.add(campaign.name, [], [m])

        return t_import, t_table, timed(log_one)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--membranes", type=int, nargs="+", default=[100, 500])
    args = parser.parse_args()
    template = Path(str(resources.files("formulate") / "templates" / "cheng2023"))
    print(f"{'membranes':>10} {'import (s)':>11} {'table (ms)':>11} {'log one (ms)':>13}")
    for n in args.membranes:
        t_import, t_table, t_log = bench_size(n, template)
        print(f"{n:>10} {t_import:>11.2f} {t_table * 1e3:>11.1f} {t_log * 1e3:>13.1f}")


if __name__ == "__main__":
    main()
