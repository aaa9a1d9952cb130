"""Benchmark: which surrogate family models the virtual lab best, and how fast they fit.

For each training size and seed: ``n`` random feasible membranes measured by the virtual lab
(noise on, Li|Li horizon 1500 h, so some lives are censored); scored on 200 held-out membranes
measured with noise but no horizon, a life as what a test to the horizon shows (min(life,
1500 h): what the model predicts, :mod:`formulate.model.training`). Prints NLPD (lower is
better) and the coverage of the 50%, 80% and 95% intervals (0.5, 0.8 and 0.95 are right) per
objective and n, averaged over seeds, then the time to fit all three objectives on 100
membranes. Asserts nothing.

Run: ``python bench/bench_surrogates.py [--sizes 10 20 40] [--seeds 5] [--families ...]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from formulate.model import surrogates
from formulate.model.diagnostics import coverage, metrics
from formulate.model.surrogates import fit_campaign
from formulate.spec.campaign import load_campaign
from formulate.spec.objectives import to_model_scale
from formulate.testing import TEMPLATE
from formulate.testing import emulated as emulated_campaign

CAMPAIGN = load_campaign(TEMPLATE)
HORIZON_H = CAMPAIGN.measurement("li_symmetric_life").horizon_h


def emulated(n: int, seed: int, horizon_h: float) -> pd.DataFrame:
    return emulated_campaign(CAMPAIGN, n, seed, horizon_h)


def score(family: str, n: int, seed: int, test: pd.DataFrame) -> list[dict]:
    models = fit_campaign(CAMPAIGN, emulated(n, seed, HORIZON_H), family)
    out = []
    for obj, model in models.items():
        values = test[obj].astype(float).to_numpy()
        if obj in CAMPAIGN.censorable():
            values = np.minimum(values, HORIZON_H)
        truth = to_model_scale(values, model.transform)
        mean, std = model.predict_scale(test, observation_noise=True)
        preds = pd.DataFrame({"observed": truth, "mean": mean, "std": std, "censored": False})
        scores = {**metrics(preds), **coverage(preds)}
        del scores["n"]
        out.append({"family": family, "n": n, "seed": seed, "objective": obj, **scores})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 40])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--families", nargs="+", default=["gp-onehot", "gp-mixed", "gp-physics", "gp-physics-aux"]
    )
    parser.add_argument("-o", "--output", help="CSV of every score")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    test = emulated(200, 10_000, 1e12)
    rows = []
    for family in args.families:
        for n in args.sizes:
            for seed in range(args.seeds):
                rows += score(family, n, seed, test)
    frame = pd.DataFrame(rows)
    table = frame.pivot_table(
        index=["objective", "n"], columns="family", values=["nlpd"], aggfunc="mean"
    )
    calibration = frame.pivot_table(
        index=["objective", "n"],
        columns="family",
        values=["coverage50", "coverage80", "coverage95"],
        aggfunc="mean",
    )
    if args.output:
        frame.to_csv(args.output, index=False)
    with pd.option_context(
        "display.width", 250, "display.precision", 3, "display.max_columns", None
    ):
        print("NLPD (model scale; lower is better), mean over seeds:")
        print(table)
        print("\nCoverage of the 50%, 80% and 95% intervals (calibrated: 0.5, 0.8, 0.95):")
        print(calibration)
        wins = frame.groupby(["objective", "n", "seed"]).apply(
            lambda g: g.loc[g["nlpd"].idxmin(), "family"], include_groups=False
        )
        print("\nbest NLPD, count over objectives x sizes x seeds:")
        print(wins.value_counts().to_string())
    print("\nfit time, 3 objectives on 100 membranes (s):")
    data = emulated(100, 777, 1500.0)
    for family in args.families:
        surrogates._MEMORY.clear()
        start = time.perf_counter()
        fit_campaign(CAMPAIGN, data, family)
        print(f"  {family:<11} {time.perf_counter() - start:6.2f}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
