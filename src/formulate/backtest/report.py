"""The backtest report: a results folder's runs as a summary table (CSV, markdown), curves
and plots. The metrics are defined in :mod:`formulate.backtest.metrics`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from formulate.backtest.metrics import (
    HV_TARGETS,
    TOP,
    acceleration_factor,
    experiments_to,
    hv_curve,
    hypervolume,
    median_runs,
    random_median_experiments_to,
    random_top_percent,
    score_matrix,
    top_percent,
    top_rows,
)
from formulate.backtest.runner import Backtest
from formulate.backtest.settings import backtest_campaign
from formulate.errors import summed_warnings
from formulate.plan.pool import families
from formulate.plan.progress import reference_point
from formulate.spec.strategies import STRATEGIES


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
        self.best_hv = hypervolume(self.R, self.ref) if self.multi else math.nan
        self.tops = (
            {p: set(finite[top_rows(self.R, p)].tolist()) for p in TOP} if self.is_pool else {}
        )
        self.thresholds = {p: float(np.quantile(self.R[:, 0], 1 - p)) for p in TOP}
        self.best_family = self._best_family(finite)

    def _best_family(self, finite: np.ndarray) -> str | None:
        """The family (combination of categorical levels) holding most of the reference set's
        top 5% (a pool's rows, or the emulator's reference formulations), ties going to the
        best row's; None without categoricals, or where it is a single row of a pool (every
        combination one row: the best family is the best row)."""
        if not self.campaign.space.categorical_names() or not len(finite):
            return None
        family = families(self.campaign.space, self.reference.iloc[finite])
        best = str(family[top_rows(self.R, 0)[0]])
        counts = pd.Series(family[top_rows(self.R, 0.05)]).value_counts()
        leaders = set(counts.index[counts == counts.max()])
        chosen = best if best in leaders else str(min(leaders))
        return None if self.is_pool and (family == chosen).sum() < 2 else chosen

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
                best_units = (true.cummax() if o.sign > 0 else true.cummin()).ffill()
                part[f"best {o.property}"] = best_units.to_numpy()
            if self.multi:
                part["hypervolume fraction"] = hv_curve(Y, self.ref) / self.best_hv
            if self.is_pool:
                # pool rows are indexed like the reference set
                for p, top in self.tops.items():
                    part[f"top{p:.0%} found"] = top_percent(
                        trace["row"].astype(int).to_numpy(), top
                    )
            if self.best_family is not None:
                mine = families(self.campaign.space, trace) == self.best_family
                part["best family found"] = np.maximum.accumulate(mine)
            rows.append(part)
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()

    def summary(self, curves: pd.DataFrame | None = None) -> pd.DataFrame:
        """One row per strategy: medians over seeds (with the 25-75% range)."""
        curves = self.curves() if curves is None else curves
        budget = int(curves["experiment"].max())
        rows = []
        n_random_runs = self._random_runs_n(curves)
        random_final = self._random_final(curves, budget)
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
                for p in TOP:  # how far each strategy gets into the pool's best rows
                    for share in SHARES:
                        n = [experiments_to(g[f"top{p:.0%} found"], share) for g in per_seed]
                        row[f"n to {share:.0%} of top {p:.0%}"] = _median_text(n, budget)
                    found = np.array([g[f"top{p:.0%} found"].iloc[-1] for g in per_seed])
                    row[f"Top{p:.0%} found at {budget}"] = _iqr_text(found)
                final = np.array([g["top5% found"].iloc[-1] for g in per_seed])
                expected = random_final if random_final else random_top_percent(budget, rows_n)
                row[f"EF at {budget}"] = f"{final.mean() / float(expected):.2f}"
                n_random = (
                    n_random_runs
                    if n_random_runs is not None
                    else random_median_experiments_to(1 / top5, rows_n, top5)
                )
                row["AF (top 5%)"] = _af_text(n_random, median_runs(n_target), budget)
            elif n_random_runs is not None:
                target = "top 5%" if not self.multi else f"{HV_TARGETS[0]:.0%} HV"
                row[f"AF ({target})"] = _af_text(n_random_runs, median_runs(n_target), budget)
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
                best = [g[f"best {o.property}"].iloc[-1] for g in per_seed]
                shown = self.campaign.to_display(o.property, best)  # mS/cm, as a lab reads it
                unit = self.campaign.display_unit(o.property)
                row[f"best {o.property} [{unit or '-'}]"] = _iqr_text(shown, "{:.3g}")
            steps = self.traces[(self.traces["strategy"] == strategy) & (self.traces["step"] > 0)]
            walls = steps.drop_duplicates(["seed", "step"])["wall_s"]
            row["s per proposal (median, max)"] = (
                f"{walls.median():.2g}, {walls.max():.2g}" if len(walls) else ""
            )
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

    def _random_runs_n(self, curves: pd.DataFrame) -> float | None:
        """Median experiments the backtest's own ``random`` runs needed to reach the target
        (None without such runs): the random side of AF, estimated as the strategies' side."""
        if "random" not in set(curves["strategy"]):
            return None
        c = curves[curves["strategy"] == "random"]
        return median_runs(
            self._target_n([g.sort_values("experiment") for _, g in c.groupby("seed")])
        )

    def _random_final(self, curves: pd.DataFrame, budget: int) -> float | None:
        """Mean top-5% share the ``random`` runs found by the budget (a pool; None without
        such runs): the random side of EF, a mean like the strategies' side."""
        if not self.is_pool or "random" not in set(curves["strategy"]):
            return None
        c = curves[(curves["strategy"] == "random") & (curves["experiment"] == budget)]
        return float(c["top5% found"].mean())

    def notes(self) -> list[str]:
        """Lines for people under the table: how many proposals of each model-based strategy
        came from the warm-up rule, and the library warnings collected while proposing."""
        steps = self.traces[self.traces["step"] > 0]
        lines = []
        rule = self.campaign.strategy.warm_up_rule()
        for strategy in self.settings.strategies:
            if not STRATEGIES[strategy].model:
                continue
            mine = steps[steps["strategy"] == strategy]
            if mine.empty or "warm_up" not in mine:  # runs stored before the column existed
                continue
            warm = mine["warm_up"].astype(str).str.lower().eq("true").groupby(mine["seed"]).sum()
            total = mine.groupby("seed").size()
            lines.append(
                f"{strategy}: {median_runs(list(warm)):g} of {median_runs(list(total)):g} "
                f"proposals per seed (median; most {int(warm.max())}) came from the warm-up rule "
                f"({rule}) and are marked warm_up in the run files."
            )
        counts = summed_warnings(steps.get("warnings", []))
        if counts:
            runs = steps.dropna(subset=["warnings"]).groupby(["strategy", "seed"]).ngroups
            kinds = "; ".join(f"{kind} (x{n:,})" for kind, n in counts.most_common(5))
            lines.append(
                f"Library warnings while proposing, collected over {runs} run(s) instead of "
                f"printed: {kinds}."
            )
        return lines

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
        notes = "".join(f"\n- {line}" for line in self.notes())
        return (
            head
            + kind
            + " Medians over seeds, [25%, 75%] in brackets; `>N`: not reached within the "
            "budget in most seeds.\n\n" + "\n".join(lines) + "\n" + notes + ("\n" if notes else "")
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
                prop = panel.removeprefix("best ")
                shown = c[panel]
                if prop in props:  # in the unit a lab reads (mS/cm), as in the table
                    shown = pd.Series(self.campaign.to_display(prop, c[panel]), index=c.index)
                g = shown.groupby(c["experiment"])
                x = g.median().index
                ax.plot(x, g.median(), label=strategy, lw=1.4)
                ax.fill_between(x, g.quantile(0.25), g.quantile(0.75), alpha=0.15)
            prop = panel.removeprefix("best ")
            if prop in props:
                ax.set_title(f"{panel} [{self.campaign.display_unit(prop) or '-'}]", fontsize=9)
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


SHARES = (0.5, 0.8)
"""Shares of the pool's top rows whose experiments-to-find are reported."""


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
    med = median_runs(values)
    if math.isinf(med):
        return f">{budget}"
    q1, q3 = np.quantile(v, [0.25, 0.75], method="inverted_cdf")
    high = f">{budget}" if math.isinf(q3) else f"{q3:.0f}"
    return f"{med:.0f} [{q1:.0f}, {high}]"


def _iqr_text(values: np.ndarray, fmt: str = "{:.2f}") -> str:
    q1, med, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    return f"{fmt.format(med)} [{fmt.format(q1)}, {fmt.format(q3)}]"
