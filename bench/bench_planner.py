"""Benchmark: how fast and how good is ``propose`` (batch of 4, 3 objectives)?

On the same emulated data (20 and 100 membranes of the cheng2023 space):

* ours: ``formulate.planner.propose`` with qLogNEHVI, cold (models fitted) and warm (models
  cached), median of repeats; with the default ``gp-physics`` and with ``gp-onehot``;
* exhaustive BoTorch: ``optimize_acqf_mixed`` over every allowed categorical combination
  (one-hot encoding, inactive variables fixed, 10 restarts, 512 raw samples), models fitted;
* Optuna's GPSampler: 4 sequential asks on a study holding the same trials.

The batches of ours (gp-onehot) and the exhaustive method are scored by the same qLogNEHVI
(same models, same samples): the ratio exp(log value ours - log value exhaustive) says how
much of the exhaustive acquisition value ours reaches. Prints figures; asserts nothing.

Run: ``python bench/bench_planner.py [--sizes 20 100] [--repeats 5] [--skip-exhaustive]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import torch
from botorch.optim import optimize_acqf_mixed

from formulate.model import surrogates
from formulate.plan import acquisition
from formulate.plan.planner import Request, fit_models, propose
from formulate.spec.campaign import Campaign, load_campaign
from formulate.spec.pool import combinations
from formulate.spec.space import Discrete
from formulate.testing import emulated


def timed(fn, repeats: int, cold: bool) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        if cold:
            surrogates._MEMORY.clear()
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def fresh_acqf(campaign: Campaign, table: pd.DataFrame) -> tuple[Any, Any]:
    """qLogNEHVI on the gp-onehot models, and their encoder. Built anew for each use: BoTorch's
    optimizers leave pending points in its cached box decomposition."""
    fitted = fit_models(campaign, table, "gp-onehot")
    encoder = next(iter(fitted.objectives.values())).encoder
    acqf = acquisition.build(
        acquisition.AcquisitionInputs(
            strategy="qlognehvi",
            campaign=campaign,
            model=fitted.model_list(),
            models=fitted.objectives,
            X_baseline=encoder.encode(table),
            constraints=tuple(c for _, c in fitted.constraints),
        )
    )
    return acqf, encoder


def exhaustive(campaign: Campaign, table: pd.DataFrame, q: int) -> tuple[float, torch.Tensor]:
    """Plain BoTorch: optimize_acqf_mixed over every allowed combination, from scratch."""
    start = time.perf_counter()
    surrogates._MEMORY.clear()
    acqf, encoder = fresh_acqf(campaign, table)
    space = campaign.space
    fixed = []
    for combo in combinations(space):
        feats = {}
        for i, col in enumerate(encoder.columns):
            if "=" in col:
                name, level = col.split("=")
                feats[i] = 1.0 if combo[name] == level else 0.0
            elif not space.is_active(col, combo):
                feats[i] = 0.0
        fixed.append(feats)
    bounds = torch.stack([torch.zeros(encoder.dim), torch.ones(encoder.dim)]).double()
    X, _ = optimize_acqf_mixed(
        acqf, bounds=bounds, q=q, num_restarts=10, raw_samples=512, fixed_features_list=fixed
    )
    X = snap(campaign, encoder.columns, X)
    return time.perf_counter() - start, X


def snap(campaign: Campaign, columns: list[str], X: torch.Tensor) -> torch.Tensor:
    """Round discrete variables (relaxed by the exhaustive method) to their grid."""
    X = X.clone()
    for i, col in enumerate(columns):
        var = campaign.space.variables.get(col)
        if isinstance(var, Discrete):
            low, high = var.bounds
            grid = (torch.tensor(var.grid, dtype=X.dtype) - low) / (high - low)
            active = X[:, i] > 0
            X[active, i] = grid[(X[active, i, None] - grid).abs().argmin(-1)]
    return X


def optuna_asks(campaign: Campaign, table: pd.DataFrame, q: int) -> float:
    """Optuna's GPSampler: a study with the same trials, then q sequential asks."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    space = campaign.space
    dists: dict[str, optuna.distributions.BaseDistribution] = {}
    for name in space.names():
        var = space.variables[name]
        if name in space.categorical_names():
            dists[name] = optuna.distributions.CategoricalDistribution(list(space.levels(name)))
        else:
            low, high = space.bounds(name)
            step = var.step if isinstance(var, Discrete) else None
            dists[name] = optuna.distributions.FloatDistribution(low, high, step=step)
    directions = [o.direction for o in campaign.objectives]
    study = optuna.create_study(directions=directions, sampler=optuna.samplers.GPSampler(seed=0))
    for rec in table.to_dict("records"):
        params = {k: rec[k] for k in space.names() if rec[k] is not None and not pd.isna(rec[k])}
        values = [float(o.to_model_scale([rec[o.property]])[0]) for o in campaign.objectives]
        study.add_trial(
            optuna.trial.create_trial(
                params=params, distributions={k: dists[k] for k in params}, values=values
            )
        )
    start = time.perf_counter()
    for _ in range(q):
        trial = study.ask()
        combo = {
            n: trial.suggest_categorical(n, list(space.levels(n)))
            for n in space.categorical_names()
        }
        for n in space.numeric_names():
            if space.is_active(n, combo):
                d = dists[n]
                trial.suggest_float(n, d.low, d.high, step=d.step)  # type: ignore[attr-defined]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-exhaustive", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    template = Path(str(resources.files("formulate") / "templates" / "cheng2023"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(template, Path(tmp) / "c")
        campaign = load_campaign(Path(tmp) / "c")
        for n in args.sizes:
            table = emulated(campaign, n, seed=n).assign(batch=None)
            cache = campaign.folder / ".formulate-cache"
            for family in ("gp-physics", "gp-onehot"):
                req = Request(batch_size=4, surrogate=family)
                shutil.rmtree(cache, ignore_errors=True)
                cold, _ = timed(lambda r=req, t=table: propose(campaign, t, r), 1, cold=True)
                warm, ours = timed(
                    lambda r=req, t=table: propose(campaign, t, r), args.repeats, cold=False
                )
                rows.append({"membranes": n, "method": f"ours ({family}), cold", "s": cold})
                rows.append({"membranes": n, "method": f"ours ({family}), warm", "s": warm})
            t_optuna = optuna_asks(campaign, table, 4)
            rows.append({"membranes": n, "method": "Optuna GPSampler, 4 asks", "s": t_optuna})
            if not args.skip_exhaustive:
                t_exh, X_exh = exhaustive(campaign, table, 4)
                acqf, encoder = fresh_acqf(campaign, table)
                X_ours = encoder.encode(ours)  # type: ignore[attr-defined]
                with torch.no_grad():
                    ratio = float(torch.exp(acqf(X_ours[None]) - acqf(X_exh[None])))  # type: ignore[operator]
                rows.append(
                    {
                        "membranes": n,
                        "method": "exhaustive BoTorch (optimize_acqf_mixed)",
                        "s": t_exh,
                        "acq value ours / exhaustive": ratio,
                    }
                )
    frame = pd.DataFrame(rows)
    for _, group in frame.groupby("membranes"):
        base = float(group.loc[group["method"] == "ours (gp-physics), warm", "s"].iloc[0])
        frame.loc[group.index, "x ours (gp-physics, warm)"] = group["s"] / base
    with pd.option_context(
        "display.width", 200, "display.precision", 3, "display.max_columns", None
    ):
        print(frame.to_string(index=False))


if __name__ == "__main__":
    main()
