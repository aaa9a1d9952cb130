"""What a categorical without descriptors costs a proposal (docs/results/speed.md).

The paper's template with its polymers named only (no descriptors), so the polymer sits on
BoTorch's categorical kernel beside the numeric variables; ``propose`` of a batch in-process
on the realistic campaign, cold (no model fitted) and then warm, each call timed.

    python bench/bench_plain_levels.py [--membranes 100] [--batch 4] [--repeats 3]

Put another checkout's ``src`` first on ``PYTHONPATH`` to time it the same way.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from formulate.plan.planner import Request, propose
from formulate.spec.campaign import Campaign, load_campaign
from formulate.testing import TEMPLATE, Realistic, realistic_campaign

PLAIN = "levels = { PEO = {}, PVDF_HFP = {}, PAN = {} }"


def plain_polymer_campaign(folder: Path) -> Campaign:
    """A copy of the template in ``folder`` whose polymer levels carry no descriptors."""
    shutil.copytree(TEMPLATE, folder, ignore=shutil.ignore_patterns("*.db*"))
    toml = folder / "campaign.toml"
    lines = toml.read_text().splitlines()
    at = [i for i, line in enumerate(lines) if line.startswith("levels.P")]
    toml.write_text("\n".join([*lines[: at[0]], PLAIN, *lines[at[-1] + 1 :]]) + "\n")
    return load_campaign(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--membranes", type=int, default=100)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3, help="calls in a row, the first cold")
    args = parser.parse_args()
    campaign = plain_polymer_campaign(Path(tempfile.mkdtemp()) / "plain")
    table = realistic_campaign(campaign, Realistic(membranes=args.membranes, seed=0))
    for call in range(args.repeats):
        start = time.perf_counter()
        propose(campaign, table, Request(batch_size=args.batch, seed=0))
        label = "cold" if call == 0 else "warm"
        print(f"{label}: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
