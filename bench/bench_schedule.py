"""Benchmark: ``formulate schedule`` on a realistic campaign, as a lab runs it.

A campaign of ``N`` membranes from :func:`formulate.testing.realistic_campaign` (failed films,
censored lives, a pending batch) is imported into a fresh folder with the Li|Li lives of its
last ``--untested`` made membranes removed (made, not yet on the cycler) and two cells on test.
Timed: :func:`formulate.plan.schedule.schedule` cold (models fitted) and warm (models from
the campaign's cache), and the CLI command in a fresh process (imports included). Asserts
nothing.

Run: ``python bench/bench_schedule.py [--membranes 50] [--untested 20] [--slots 4]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

LIFE = "li_symmetric_life"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--membranes", type=int, default=50)
    parser.add_argument("--untested", type=int, default=20)
    parser.add_argument("--slots", type=int, default=4)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from formulate.data import campaign_table
    from formulate.data.cell_tests import cell_tests, start_test
    from formulate.plan.schedule import schedule
    from formulate.testing import Realistic, realistic_folder

    def untested(table):  # type: ignore[no-untyped-def]
        """The last ``--untested`` measured membranes, made but not yet on the cycler."""
        made = table.index[table["status"] == "measured"][-args.untested :]
        table.loc[made, [LIFE, f"{LIFE}_censored"]] = [float("nan"), False]
        return table

    with tempfile.TemporaryDirectory() as tmp:
        how = Realistic(membranes=args.membranes, seed=2)
        campaign, store = realistic_folder(Path(tmp), how, untested)
        folder = campaign.folder
        table = campaign_table(campaign, store)
        made = table.index[table[LIFE].isna() & (table["status"] == "measured")]
        on_test = table.loc[made[:2], "membrane"]
        for membrane in on_test:
            start_test(campaign, store, membrane, LIFE, at=datetime.now(UTC) - timedelta(days=5))
        rows = []
        for label in ("schedule, cold (fits the models)", "schedule, warm (models cached)"):
            start = time.perf_counter()
            now = campaign_table(campaign, store)
            ranked = schedule(campaign, now, cell_tests(campaign, store), LIFE, args.slots)
            rows.append((label, time.perf_counter() - start))
        start = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).parent / "formulate"), "schedule", str(folder),
             "--slots", str(args.slots)],
            check=True, capture_output=True,
        )  # fmt: skip
        rows.append(("CLI `formulate schedule` (fresh process)", time.perf_counter() - start))
        print(f"{args.membranes} membranes, {args.untested} made without a life, 2 on test")
        print(ranked[["membrane", "value_per_day", "days"]].to_string(index=False))
        for label, seconds in rows:
            print(f"{label:45s} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
