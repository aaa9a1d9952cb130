"""Benchmark: how fast the planner proposes a batch of 4 on a realistic campaign, beside peers.

The data is :func:`formulate.testing.realistic_campaign` (failed films, every intermediate,
late and censored lives, a pending batch of 4) at 20, 100 and 300 membranes. Each line runs in
a fresh Python process, so "cold" means what a user meets (no fitted model in memory or on
disk) and peak memory is the process's own:

* ``ours, cold`` / ``ours, warm``: ``propose`` in-process, first call and then with the fitted
  models cached (median of ``--repeats``);
* ``CLI propose, cold`` / ``CLI propose, models on disk``: ``formulate propose --dry-run`` on a
  store holding the campaign, timed as a user runs it (process start included);
* ``Optuna GPSampler, 4 asks``: a study holding the same finished trials, then 4 asks;
* ``exhaustive optimize_acqf_mixed``: BoTorch's mixed optimizer over every allowed combination
  of levels with the same qLogNEHVI, and the ratio of our batch's acquisition value to its;
* ``BayBE recommend(4)`` and ``Ax get_next_trials(4)`` when they are installed
  (``pip install 'formulate[peers]'``), each on the same finished membranes.

Asserts nothing; prints a table (and ``-o FILE.csv``).

Run: ``python bench/bench_planner.py [--sizes 20 100 300] [--repeats 3] [--skip exhaustive]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

METHODS = ("ours", "cli", "optuna", "exhaustive", "baybe", "ax")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 100, 300])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], choices=METHODS)
    parser.add_argument("-o", "--output", help="CSV of every figure")
    parser.add_argument("--one", nargs=2, metavar=("METHOD", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]), args.repeats)))
        return
    rows = []
    for n in args.sizes:
        for method in METHODS:
            if method in args.skip:
                continue
            done = subprocess.run(
                [sys.executable, __file__, "--one", method, str(n), "--repeats", str(args.repeats)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                tail = done.stderr.strip().splitlines()[-1:] or ["failed"]
                rows.append({"membranes": n, "method": method, "note": tail[0][:80]})
                continue
            rows += [{"membranes": n, **r} for r in json.loads(done.stdout.splitlines()[-1])]
            print(f"done: {n} membranes, {method}", file=sys.stderr)
    frame = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    if args.output:
        frame.to_csv(args.output, index=False)


def one(method: str, n: int, repeats: int) -> list[dict]:
    """One method on the realistic campaign of ``n`` membranes, in this (fresh) process."""
    warnings.simplefilter("ignore")
    from formulate.spec.campaign import load_campaign
    from formulate.testing import TEMPLATE, Realistic, realistic_campaign

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(TEMPLATE, Path(tmp) / "c")
        campaign = load_campaign(Path(tmp) / "c")
        table = realistic_campaign(campaign, Realistic(membranes=n, seed=n))
        out = RUNNERS[method](campaign, table, repeats)
    who = resource.RUSAGE_CHILDREN if method == "cli" else resource.RUSAGE_SELF
    peak = resource.getrusage(who).ru_maxrss / 1024
    return [{**r, "peak MB": peak} for r in out]


def _ours(campaign, table, repeats: int) -> list[dict]:
    from formulate.plan.planner import Request, propose

    request = Request(batch_size=4)
    start = time.perf_counter()
    propose(campaign, table, request)
    cold = time.perf_counter() - start
    warm = []
    for _ in range(repeats):
        start = time.perf_counter()
        propose(campaign, table, request)
        warm.append(time.perf_counter() - start)
    return [
        {"method": "ours (qLogNEHVI), cold", "s": cold},
        {"method": "ours (qLogNEHVI), warm", "s": statistics.median(warm)},
    ]


def _cli(campaign, table, repeats: int) -> list[dict]:
    from formulate.data import import_table, open_store
    from formulate.data.cells import canonical_headers

    store = open_store(campaign)
    table = canonical_headers(campaign, _importable(table))
    import_table(campaign, store, table, provenance="emulated")
    store.engine.dispose()
    command = ["formulate", "propose", str(campaign.folder), "--batch", "4", "--dry-run"]
    exe = shutil.which("formulate") or str(Path(sys.executable).parent / "formulate")
    rows = []
    for label in ("CLI propose --dry-run, cold", "CLI propose --dry-run, models on disk"):
        start = time.perf_counter()
        done = subprocess.run([exe, *command[1:]], capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-300:])
        rows.append({"method": label, "s": wall})
    return rows


def _importable(table: pd.DataFrame) -> pd.DataFrame:
    """The realistic table as a wide import (the paper's three membranes are seeded already)."""
    keep = [c for c in table.columns if c not in ("assumed",)]
    out = table[keep].copy()
    out["membrane"] = "R" + out["membrane"]
    return out


def _optuna(campaign, table, repeats: int) -> list[dict]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    space = campaign.space
    dists: dict[str, optuna.distributions.BaseDistribution] = {}
    for name in space.names():
        if name in space.categorical_names():
            dists[name] = optuna.distributions.CategoricalDistribution(list(space.levels(name)))
        else:
            low, high = space.bounds(name)
            var = space.variables[name]
            step = getattr(var, "step", None)
            dists[name] = optuna.distributions.FloatDistribution(low, high, step=step)
    study = optuna.create_study(
        directions=[o.direction for o in campaign.objectives],
        sampler=optuna.samplers.GPSampler(seed=0),
    )
    props = [o.property for o in campaign.objectives]
    for rec in table.dropna(subset=props).to_dict("records"):
        params = {k: rec[k] for k in space.names() if not pd.isna(rec[k])}
        values = [float(o.to_model_scale([rec[o.property]])[0]) for o in campaign.objectives]
        study.add_trial(
            optuna.trial.create_trial(
                params=params, distributions={k: dists[k] for k in params}, values=values
            )
        )
    start = time.perf_counter()
    for _ in range(4):
        trial = study.ask()
        combo = {
            n: trial.suggest_categorical(n, list(space.levels(n)))
            for n in space.categorical_names()
        }
        for n in space.numeric_names():
            if space.is_active(n, combo):
                d = dists[n]
                trial.suggest_float(n, d.low, d.high, step=d.step)  # type: ignore[attr-defined]
    return [{"method": "Optuna GPSampler, 4 asks", "s": time.perf_counter() - start}]


def _exhaustive(campaign, table, repeats: int) -> list[dict]:
    """Both sides on gp-onehot models: its encoding is the design space itself, which BoTorch's
    mixed optimizer needs (physics features are functions of the variables)."""
    import torch
    from botorch.optim import optimize_acqf_mixed

    from formulate.plan.planner import Request, propose
    from formulate.plan.pool import combinations

    ours = propose(campaign, table, Request(batch_size=4, surrogate="gp-onehot"))
    start = time.perf_counter()
    acqf, encoder = _acqf(campaign, table)
    fixed = []
    for combo in combinations(campaign.space):
        feats = {}
        for i, col in enumerate(encoder.columns):
            if "=" in col:
                name, level = col.split("=")
                feats[i] = 1.0 if combo[name] == level else 0.0
            elif not campaign.space.is_active(col, combo):
                feats[i] = 0.0
        fixed.append(feats)
    bounds = torch.stack([torch.zeros(encoder.dim), torch.ones(encoder.dim)]).double()
    X, _ = optimize_acqf_mixed(
        acqf, bounds=bounds, q=4, num_restarts=10, raw_samples=512, fixed_features_list=fixed
    )
    X = _snap(campaign, encoder.columns, X)
    wall = time.perf_counter() - start
    with torch.no_grad():
        acqf, _ = _acqf(campaign, table)
        ours_value = acqf(encoder.encode(ours)[None])
        acqf, _ = _acqf(campaign, table)
        theirs = acqf(X[None])
    ratio = float(torch.exp(ours_value - theirs))
    return [{"method": "exhaustive optimize_acqf_mixed", "s": wall, "acq value ours/exh": ratio}]


def _snap(campaign, columns: list[str], X):
    """Round discrete variables (relaxed by the mixed optimizer) to their grid."""
    import torch

    X = X.clone()
    for i, col in enumerate(columns):
        var = campaign.space.variables.get(col)
        if var is not None and getattr(var, "kind", "") == "discrete":
            low, high = var.bounds
            grid = (torch.tensor(var.grid, dtype=X.dtype) - low) / (high - low)
            active = X[:, i] > 0
            X[active, i] = grid[(X[active, i, None] - grid).abs().argmin(-1)]
    return X


def _acqf(campaign, table):
    """qLogNEHVI as the planner builds it on gp-onehot models (a fresh one each time)."""
    from formulate.plan import acquisition
    from formulate.plan.planner import Request, acquisition_inputs, fit_models

    fitted = fit_models(campaign, table, "gp-onehot")
    encoder = next(iter(fitted.objectives.values())).encoder
    inputs = acquisition_inputs(campaign, table, fitted, Request(strategy="qlognehvi"))
    return acquisition.build(inputs), encoder


def _baybe(campaign, table, repeats: int) -> list[dict]:
    from baybe import Campaign as BayBECampaign
    from baybe.objectives import ParetoObjective
    from baybe.parameters import CategoricalParameter, NumericalContinuousParameter
    from baybe.searchspace import SearchSpace
    from baybe.targets import NumericalTarget

    space = campaign.space
    params = [
        CategoricalParameter(n, values=list(space.levels(n))) for n in space.categorical_names()
    ]
    params += [
        NumericalContinuousParameter(n, bounds=space.bounds(n)) for n in space.numeric_names()
    ]
    targets = [
        NumericalTarget(o.property, minimize=o.sign < 0)  # type: ignore[call-arg]
        for o in campaign.objectives
    ]
    bb = BayBECampaign(SearchSpace.from_product(params), ParetoObjective(targets))
    props = [o.property for o in campaign.objectives]
    done = table.dropna(subset=props).copy()
    for n in space.numeric_names():  # BayBE has no inactive variables: the middle of the range
        low, high = space.bounds(n)
        done[n] = pd.to_numeric(done[n], errors="coerce").fillna((low + high) / 2)
    for o in campaign.objectives:
        done[o.property] = o.to_model_scale(done[o.property].to_numpy(dtype=float))
    bb.add_measurements(done[[*space.names(), *props]])
    start = time.perf_counter()
    bb.recommend(batch_size=4)
    return [{"method": "BayBE recommend(4)", "s": time.perf_counter() - start}]


def _ax(campaign, table, repeats: int) -> list[dict]:
    from ax import ChoiceParameterConfig, Client, RangeParameterConfig

    space = campaign.space
    client = Client(random_seed=0)
    parameters = [
        ChoiceParameterConfig(name=n, values=list(space.levels(n)), parameter_type="str")
        for n in space.categorical_names()
    ] + [
        RangeParameterConfig(name=n, bounds=space.bounds(n), parameter_type="float")
        for n in space.numeric_names()
    ]
    client.configure_experiment(parameters=parameters)
    names = {o.property: f"y{i}" for i, o in enumerate(campaign.objectives)}
    client.configure_optimization(
        objective=", ".join(
            ("" if o.sign > 0 else "-") + names[o.property] for o in campaign.objectives
        )
    )
    props = [o.property for o in campaign.objectives]
    for rec in table.dropna(subset=props).to_dict("records"):
        params = {}
        for n in space.names():
            value = rec[n]
            if pd.isna(value):
                low, high = space.bounds(n)
                value = (low + high) / 2
            params[n] = value if n in space.categorical_names() else float(value)
        index = client.attach_trial(parameters=params)
        raw = {
            names[o.property]: float(o.to_model_scale([rec[o.property]])[0])
            for o in campaign.objectives
        }
        client.complete_trial(trial_index=index, raw_data=raw)
    start = time.perf_counter()
    client.get_next_trials(max_trials=4)
    return [{"method": "Ax get_next_trials(4)", "s": time.perf_counter() - start}]


RUNNERS = {
    "ours": _ours,
    "cli": _cli,
    "optuna": _optuna,
    "exhaustive": _exhaustive,
    "baybe": _baybe,
    "ax": _ax,
}


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
