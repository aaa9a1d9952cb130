"""Backtest metrics and the report: curves, experiments to a target, Top%, EF and AF.

Definitions (Liang et al., npj Comput. Mater. 7, 188 (2021), for Top%, EF and AF):

* **best so far** per objective, in the property's unit, of the *true* values (the pool's
  values; the noise-free emulator); **simple regret** on the model scale against the best of
  the reference set (the pool; 4096 noise-free emulator points), so it can go below 0 on the
  emulator when a strategy beats every reference point.
* **hypervolume** (several objectives) of the true values on the model scale, sign-adjusted,
  above the campaign's reference point (from the reference set where the campaign has none),
  as a fraction of the reference set's hypervolume.
* **top rows** (a pool): the ceil(p * N) best rows, ranked by value (one objective) or by
  Pareto layer and then mean z-score (several). **Top%(n)**: the share of them found in the
  first n experiments. The random baseline is the exact expectation of uniform sampling
  without replacement: Top%(n) = n / N, and it needs on average j (N + 1) / (M + 1)
  experiments to find j of M top rows.
* **EF(n)** = Top%(n) / Top%_random(n); **AF** = experiments random needs to reach a target /
  experiments the strategy needs (medians over seeds). Pools use the target "one top-5% row";
  the emulator, which has no finite set of rows, uses "95% of the reference hypervolume"
  (one objective: the reference set's top 5%) and the simulated ``random`` strategy.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from botorch.utils.multi_objective.hypervolume import Hypervolume
from botorch.utils.multi_objective.pareto import is_non_dominated

from formulate.backtest import Backtest, backtest_campaign
from formulate.campaign import Campaign
from formulate.progress import reference_point
from formulate.surrogates import to_model_scale

TOP = (0.01, 0.05)
HV_TARGETS = (0.8, 0.95)
"""Hypervolume fractions whose experiments-to-reach are reported; AF uses the first."""


# --- definitions on plain arrays -------------------------------------------------------------


def pareto_layers(Y: np.ndarray) -> np.ndarray:
    """Non-dominated sorting rank of each row of ``Y`` (n x m, larger is better), 0 = front."""
    rank = np.full(len(Y), -1)
    left = np.arange(len(Y))
    layer = 0
    while len(left):
        front = is_non_dominated(torch.as_tensor(Y[left]), deduplicate=False).numpy()
        rank[left[front]] = layer
        left = left[~front]
        layer += 1
    return rank


def top_rows(Y: np.ndarray, fraction: float) -> np.ndarray:
    """Indices of the ceil(fraction * n) best rows of ``Y`` (n x m, larger is better): by
    value for one column, by Pareto layer then mean z-score for several."""
    Y = np.asarray(Y, dtype=float).reshape(len(Y), -1)
    m = max(1, math.ceil(fraction * len(Y)))
    z = ((Y - Y.mean(0)) / np.where(Y.std(0) > 0, Y.std(0), 1.0)).mean(1)
    layer = pareto_layers(Y) if Y.shape[1] > 1 else np.zeros(len(Y))
    order = np.lexsort((-z, layer))
    return np.sort(order[:m])


def top_percent(found: list[int] | np.ndarray, top: set[int] | np.ndarray) -> np.ndarray:
    """Top%(n) for n = 1..len(found): share of the ``top`` rows among the first n found."""
    top = set(int(t) for t in top)
    hits = np.cumsum([int(r) in top for r in found])
    return hits / len(top)


def random_top_percent(n: np.ndarray | int, rows: int) -> np.ndarray:
    """Expected Top%(n) of uniform random sampling without replacement from ``rows``."""
    return np.minimum(np.asarray(n, dtype=float) / rows, 1.0)


def enhancement_factor(curve: np.ndarray, rows: int) -> np.ndarray:
    """EF(n) = Top%(n) / Top%_random(n), n = 1..len(curve)."""
    n = np.arange(1, len(curve) + 1)
    return np.asarray(curve) / random_top_percent(n, rows)


def experiments_to(curve: np.ndarray, target: float) -> float:
    """First n (1-based) where ``curve`` reaches ``target``; inf if never."""
    hit = np.nonzero(np.asarray(curve) >= target - 1e-12)[0]
    return float(hit[0] + 1) if len(hit) else math.inf


def random_experiments_to(share: float, rows: int, top: int) -> float:
    """Expected experiments uniform random sampling needs to find ceil(share * top) of the
    ``top`` rows among ``rows`` (the negative hypergeometric mean j (N + 1) / (M + 1))."""
    j = max(1, math.ceil(share * top - 1e-12))
    return j * (rows + 1) / (top + 1)


def acceleration_factor(n_random: float, n_strategy: float) -> float:
    """AF = experiments random needs / experiments the strategy needs (inf-safe)."""
    if math.isinf(n_strategy):
        return 0.0
    return n_random / n_strategy


# --- scores of a campaign -------------------------------------------------------------------


def score_matrix(campaign: Campaign, frame: pd.DataFrame, prefix: str = "") -> np.ndarray:
    """Sign-adjusted model-scale objectives (n x m, larger is better; NaN where missing)."""
    cols = []
    for o in campaign.objectives:
        sign = 1.0 if o.direction == "maximize" else -1.0
        x = pd.to_numeric(frame[prefix + o.property], errors="coerce").to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            cols.append(sign * to_model_scale(x, o.transform))
    return np.stack(cols, axis=1)


def _hv(Y: np.ndarray, ref: np.ndarray) -> float:
    Y = Y[np.isfinite(Y).all(1)]
    Y = Y[(ref < Y).all(1)]
    if not len(Y):
        return 0.0
    Yt = torch.as_tensor(Y)
    return float(Hypervolume(torch.as_tensor(ref)).compute(Yt[is_non_dominated(Yt)]))


def hv_curve(Y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Hypervolume after each of the n experiments (rows of ``Y`` in order)."""
    return np.array([_hv(Y[: i + 1], ref) for i in range(len(Y))])


# --- the report ------------------------------------------------------------------------------


class Report:
    """Curves and the summary table of a backtest folder."""

    def __init__(self, bt: Backtest) -> None:
        self.bt = bt
        self.settings = bt.settings
        self.campaign = backtest_campaign(bt.settings)
        self.reference = bt.reference()
        self.traces = bt.traces()
        self.is_pool = self.settings.kind == "pool"
        R = score_matrix(self.campaign, self.reference)
        finite = np.nonzero(np.isfinite(R).all(1))[0]
        self.R = R[finite]
        self.multi = len(self.campaign.objectives) > 1
        observed = {o.property: self.R[:, i] for i, o in enumerate(self.campaign.objectives)}
        self.ref = reference_point(self.campaign, observed)
        self.best_hv = _hv(self.R, self.ref) if self.multi else math.nan
        self.tops = (
            {p: set(finite[top_rows(self.R, p)].tolist()) for p in TOP} if self.is_pool else {}
        )
        self.thresholds = {p: float(np.quantile(self.R[:, 0], 1 - p)) for p in TOP}

    def curves(self) -> pd.DataFrame:
        """One row per (strategy, seed, experiment): best so far per objective (units),
        regret (model scale), hypervolume fraction, Top% (pool)."""
        rows = []
        for (strategy, seed), trace in self.traces.groupby(["strategy", "seed"], sort=False):
            trace = trace.sort_values("experiment")
            Y = score_matrix(self.campaign, trace, prefix="true_")
            part = pd.DataFrame(
                {"strategy": strategy, "seed": seed, "experiment": trace["experiment"]}
            )
            for i, o in enumerate(self.campaign.objectives):
                y = np.where(np.isfinite(Y[:, i]), Y[:, i], -np.inf)
                best = np.maximum.accumulate(y)
                part[f"regret {o.property}"] = self.R[:, i].max() - best
                true = pd.to_numeric(trace[f"true_{o.property}"], errors="coerce")
                best_units = (true.cummax() if o.direction == "maximize" else true.cummin()).ffill()
                part[f"best {o.property}"] = best_units.to_numpy()
            if self.multi:
                part["hypervolume fraction"] = hv_curve(Y, self.ref) / self.best_hv
            if self.is_pool:
                # pool rows are indexed like the reference set
                for p, top in self.tops.items():
                    part[f"top{p:.0%} found"] = top_percent(
                        trace["row"].astype(int).to_numpy(), top
                    )
            rows.append(part)
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()

    def summary(self, curves: pd.DataFrame | None = None) -> pd.DataFrame:
        """One row per strategy: medians over seeds (with the 25-75% range)."""
        curves = self.curves() if curves is None else curves
        budget = int(curves["experiment"].max())
        rows = []
        n_random_emulated = self._emulated_random_n(curves)
        for strategy in self.settings.strategies:
            c = curves[curves["strategy"] == strategy]
            if c.empty:
                continue
            per_seed = [g.sort_values("experiment") for _, g in c.groupby("seed")]
            row: dict[str, object] = {"strategy": strategy, "seeds": len(per_seed)}
            for name, n in self._targets(per_seed).items():
                row[name] = _median_text(n, budget)
            n_target = self._target_n(per_seed)
            if self.is_pool:
                rows_n = len(self.reference)
                top5 = len(self.tops[0.05])
                final = np.array([g["top5% found"].iloc[-1] for g in per_seed])
                row[f"Top5% found at {budget}"] = f"{np.median(final):.2f}"
                ef = final / random_top_percent(budget, rows_n)
                row[f"EF at {budget}"] = f"{np.median(ef):.2f}"
                n_random = random_experiments_to(1 / top5, rows_n, top5)
                row["AF (top 5%)"] = _af_text(n_random, _median(n_target), budget)
            elif n_random_emulated is not None:
                target = "top 5%" if not self.multi else f"{HV_TARGETS[0]:.0%} HV"
                row[f"AF ({target})"] = _af_text(n_random_emulated, _median(n_target), budget)
                if self.multi:
                    final = np.median([g["hypervolume fraction"].iloc[-1] for g in per_seed])
                    rnd = curves[
                        (curves["strategy"] == "random") & (curves["experiment"] == budget)
                    ]
                    row[f"EF at {budget} (HV)"] = (
                        f"{final / rnd['hypervolume fraction'].median():.2f}"
                    )
            if self.multi:
                hv = np.array([g["hypervolume fraction"].iloc[-1] for g in per_seed])
                row[f"HV fraction at {budget}"] = _iqr_text(hv)
            for o in self.campaign.objectives:
                best = np.array([g[f"best {o.property}"].iloc[-1] for g in per_seed], dtype=float)
                unit = self.campaign.all_properties()[o.property].unit
                row[f"best {o.property} [{unit or '-'}]"] = _iqr_text(best, "{:.3g}")
            steps = self.traces[(self.traces["strategy"] == strategy) & (self.traces["step"] > 0)]
            walls = steps.drop_duplicates(["seed", "step"])["wall_s"]
            row["steps/s"] = f"{len(walls) / max(walls.sum(), 1e-9):.2f}"
            rows.append(row)
        return pd.DataFrame(rows)

    def _targets(self, per_seed: list[pd.DataFrame]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for p in TOP:
            if self.is_pool:
                out[f"n to top {p:.0%}"] = [
                    experiments_to(g[f"top{p:.0%} found"], 1e-9) for g in per_seed
                ]
            elif not self.multi:
                o = self.campaign.objectives[0]
                regret = self.R[:, 0].max() - self.thresholds[p]
                out[f"n to top {p:.0%}"] = [
                    experiments_to(-g[f"regret {o.property}"].to_numpy(), -regret) for g in per_seed
                ]
        if self.multi:
            for target in HV_TARGETS:
                out[f"n to {target:.0%} HV"] = [
                    experiments_to(g["hypervolume fraction"], target) for g in per_seed
                ]
        return out

    def _target_n(self, per_seed: list[pd.DataFrame]) -> list[float]:
        targets = self._targets(per_seed)
        key = "n to top 5%" if "n to top 5%" in targets else f"n to {HV_TARGETS[0]:.0%} HV"
        return targets[key]

    def _emulated_random_n(self, curves: pd.DataFrame) -> float | None:
        if self.is_pool or "random" not in set(curves["strategy"]):
            return None
        c = curves[curves["strategy"] == "random"]
        return _median(self._target_n([g.sort_values("experiment") for _, g in c.groupby("seed")]))

    def write(self) -> dict[str, Path]:
        """summary.csv, summary.md, curves.csv and backtest.png in the folder."""
        curves = self.curves()
        if curves.empty:
            from formulate.errors import FormulateError, Problem

            raise FormulateError(
                f"no finished runs in {self.bt.folder}",
                [Problem(str(self.bt.folder / "runs"), "empty", "run the backtest first")],
            )
        table = self.summary(curves)
        folder = self.bt.folder
        paths = {
            "summary.csv": folder / "summary.csv",
            "summary.md": folder / "summary.md",
            "curves.csv": folder / "curves.csv",
            "backtest.png": folder / "backtest.png",
        }
        table.to_csv(paths["summary.csv"], index=False)
        curves.to_csv(paths["curves.csv"], index=False)
        paths["summary.md"].write_text(self.markdown(table), encoding="utf-8")
        self.plot(curves, paths["backtest.png"])
        return paths

    def markdown(self, table: pd.DataFrame) -> str:
        head = f"# Backtest\n\n{self.settings.describe()}.\n\n"
        kind = (
            "Values are the pool's (replicates averaged)."
            if self.is_pool
            else "Strategies saw the emulator's noisy outcomes (provenance: emulated); "
            "scores use its noise-free truth."
        )
        lines = [
            "| " + " | ".join(table.columns) + " |",
            "|" + "---|" * len(table.columns),
        ]
        lines += [
            "| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)
        ]
        return (
            head
            + kind
            + " Medians over seeds, [25%, 75%] in brackets; `>N`: not reached within the "
            "budget in most seeds.\n\n" + "\n".join(lines) + "\n"
        )

    def plot(self, curves: pd.DataFrame, path: Path) -> Path:
        """Median and 25-75% band per strategy of each curve against experiments."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        panels = [f"best {o.property}" for o in self.campaign.objectives]
        panels += ["hypervolume fraction"] if self.multi else []
        panels += ["top5% found"] if self.is_pool else []
        fig, axes = plt.subplots(1, len(panels), figsize=(3.8 * len(panels), 3.4), squeeze=False)
        props = self.campaign.all_properties()
        for ax, panel in zip(axes[0], panels, strict=True):
            for strategy in self.settings.strategies:
                c = curves[curves["strategy"] == strategy]
                if c.empty:
                    continue
                g = c.groupby("experiment")[panel]
                x = g.median().index
                ax.plot(x, g.median(), label=strategy, lw=1.4)
                ax.fill_between(x, g.quantile(0.25), g.quantile(0.75), alpha=0.15)
            prop = panel.removeprefix("best ")
            if prop in props:
                ax.set_title(f"{panel} [{props[prop].unit or '-'}]", fontsize=9)
                if any(
                    o.property == prop and o.transform == "log10" for o in self.campaign.objectives
                ):
                    ax.set_yscale("log")
            else:
                ax.set_title(panel, fontsize=9)
            ax.set_xlabel("experiments")
        axes[0][-1].legend(fontsize=7, loc="lower right")
        fig.suptitle(self.settings.describe(), fontsize=9)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


def _median(values: list[float]) -> float:
    """Median that keeps 'never' (inf) as a value: no averaging across the middle."""
    return float(np.quantile(np.array(values, dtype=float), 0.5, method="inverted_cdf"))


def _af_text(n_random: float, n_strategy: float, budget: int) -> str:
    """AF, or a bound where random or the strategy did not reach the target in the budget."""
    if math.isinf(n_random) and math.isinf(n_strategy):
        return "n/a (neither reached)"
    if math.isinf(n_random):
        return f">{budget / n_strategy:.2f}"
    if math.isinf(n_strategy):
        return f"<{n_random / budget:.2f}"
    return f"{acceleration_factor(n_random, n_strategy):.2f}"


def _median_text(values: list[float], budget: int) -> str:
    v = np.array(values, dtype=float)
    med = _median(values)
    if math.isinf(med):
        return f">{budget}"
    q1, q3 = np.quantile(v, [0.25, 0.75], method="inverted_cdf")
    high = f">{budget}" if math.isinf(q3) else f"{q3:.0f}"
    return f"{med:.0f} [{q1:.0f}, {high}]"


def _iqr_text(values: np.ndarray, fmt: str = "{:.2f}") -> str:
    q1, med, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    return f"{fmt.format(med)} [{fmt.format(q1)}, {fmt.format(q3)}]"


__all__ = [
    "Report",
    "acceleration_factor",
    "enhancement_factor",
    "experiments_to",
    "random_experiments_to",
    "random_top_percent",
    "top_percent",
    "top_rows",
]
