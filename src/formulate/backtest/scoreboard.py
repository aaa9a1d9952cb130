"""The benchmark suite's scoreboard: per-seed scores of every member's runs, ``ours`` paired
with each other strategy (wins, ties, losses, Wilcoxon signed-rank), a planner change against
the landed planner (:func:`compare`), and the files people read (markdown, CSV, one plot).

The primary score per seed is the area under the progress curve: the share of the pool's top
5% found, averaged over experiments 1..budget (one objective), or the hypervolume share,
likewise (several). It rewards finding good rows early and finding many; unlike the
experiments to the first top-5% row (also reported) it rarely ties.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from formulate.backtest.metrics import experiments_to
from formulate.backtest.report import Report
from formulate.backtest.runner import open_backtest
from formulate.backtest.suite import Member, Suite, ours
from formulate.errors import FormulateError, Problem


def seed_scores(folder: Path) -> pd.DataFrame:
    """One row per (strategy, seed) of a member's folder: experiments to the first top-5% and
    top-1% row (inf: never), the share of the top 5% found at the budget, the hypervolume
    share at the budget (several objectives) and, with categoricals, experiments to the first
    row of the best family (:attr:`Report.best_family`; inf: never)."""
    report = Report(open_backtest(folder))
    curves = report.curves()
    rows = []
    for (strategy, seed), g in curves.groupby(["strategy", "seed"], sort=False):
        g = g.sort_values("experiment")
        row = {"strategy": strategy, "seed": int(seed), "budget": int(g["experiment"].max())}
        if report.is_pool:
            row["n to top 5%"] = experiments_to(g["top5% found"], 1e-9)
            row["n to top 1%"] = experiments_to(g["top1% found"], 1e-9)
            row["top 5% found"] = float(g["top5% found"].iloc[-1])
            row["top 5% AUC"] = float(g["top5% found"].mean())
        if "best family found" in g:
            row["n to best family"] = experiments_to(g["best family found"].astype(float), 1.0)
        if report.multi:
            row["HV share"] = float(g["hypervolume fraction"].iloc[-1])
            row["HV AUC"] = float(g["hypervolume fraction"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def primary(scores: pd.DataFrame) -> pd.Series:
    """The per-seed score compared between strategies, larger is better: the mean hypervolume
    share over the run (several objectives), else the mean share of the top 5% found."""
    if "HV AUC" not in scores:
        return scores["top 5% AUC"]
    if "top 5% AUC" not in scores:
        return scores["HV AUC"]
    return scores["HV AUC"].fillna(scores["top 5% AUC"])  # tables of several members


def paired(scores: pd.DataFrame, mine: str, other: str) -> dict[str, float]:
    """Seed-paired comparison of ``mine`` with ``other`` on the seeds both ran: wins, ties,
    losses of ``mine`` and the two-sided Wilcoxon signed-rank p-value (1.0 when every seed
    ties)."""
    from scipy.stats import wilcoxon

    a = scores[scores["strategy"] == mine].set_index("seed")
    b = scores[scores["strategy"] == other].set_index("seed")
    seeds = a.index.intersection(b.index)
    x, y = primary(a.loc[seeds]).to_numpy(), primary(b.loc[seeds]).to_numpy()
    d = x - y
    wins, losses = int((d > 1e-12).sum()), int((d < -1e-12).sum())
    p = 1.0 if wins + losses == 0 else float(wilcoxon(x, y, zero_method="zsplit").pvalue)
    return {
        "seeds": len(seeds),
        "wins": wins,
        "ties": len(seeds) - wins - losses,
        "losses": losses,
        "p": p,
    }


def verdict(result: dict[str, float], alpha: float = 0.05) -> str:
    """``better``, ``worse`` (significant at ``alpha``) or ``no difference``."""
    if result["p"] >= alpha:
        return "no difference"
    return "better" if result["wins"] > result["losses"] else "worse"


SCORE_KEYS = ("member", "strategy", "seed", "budget", "ours")
"""The columns every ``scores.csv`` row has (the scores themselves depend on the member)."""


def read_scores(
    path: Path, keys: Sequence[str] = SCORE_KEYS, kind: str = "scores.csv"
) -> pd.DataFrame:
    """A stored ``scores.csv`` (:func:`write_scoreboard`), or another ``kind`` of per-seed
    scores with the columns ``keys``, its columns checked."""
    if not path.is_file():
        raise FormulateError(
            f"no scores at {path}",
            [Problem(str(path), "not found", f"give a scoreboard's {kind}")],
        )
    scores = pd.read_csv(path)
    missing = [c for c in keys if c not in scores]
    if missing:
        raise FormulateError(
            f"{path} is not a scoreboard's {kind}",
            [Problem(str(path), f"no column {missing}", f"give a scoreboard's {kind}")],
        )
    return scores


def suite_scores(
    output: Path, members: Sequence[Member], stored: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every member's per-seed scores (:func:`seed_scores`) under ``output``, with a
    ``member`` column and ``ours`` marking each member's own strategy; ``stored`` (an earlier
    ``scores.csv``) adds the (member, strategy, seed) runs the folders lack."""
    parts = []
    for member in members:
        folder = output / member.name
        if (folder / "runs").is_dir():
            scores = seed_scores(folder)
            scores.insert(0, "member", member.name)
            scores["ours"] = scores["strategy"] == ours(member)
            parts.append(scores)
    run = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if stored is None or stored.empty:
        return run
    keep = stored[stored["member"].isin({m.name for m in members})]
    return with_stored(run, keep, "member")


def with_stored(run: pd.DataFrame, stored: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per-seed scores of runs made here, plus the ``stored`` ones of the (``by``, strategy,
    seed) they lack (``by``: ``member`` or ``task``)."""
    if not run.empty:
        key = [by, "strategy", "seed"]
        have = pd.MultiIndex.from_frame(run[key])
        stored = stored[~pd.MultiIndex.from_frame(stored[key]).isin(have)]
    return pd.concat([run, stored], ignore_index=True).dropna(axis=1, how="all")


def compare(new: pd.DataFrame, old: pd.DataFrame) -> pd.DataFrame:
    """A planner change's effect, member by member: ``ours`` in ``new`` against ``ours`` in
    ``old`` (two :func:`suite_scores` tables, e.g. this tree's quick suite and the stored
    one) on the seeds both ran: wins, ties, losses of the new, the Wilcoxon p and the median
    primary score of each."""
    rows = []
    for member, a in new[new["ours"]].groupby("member", sort=False):
        b = old[(old["member"] == member) & old["ours"]]
        if b.empty:
            continue
        both = pd.concat([a.assign(strategy="new"), b.assign(strategy="old")], ignore_index=True)
        result = paired(both, "new", "old")
        rows.append(
            {
                "member": member,
                **result,
                "verdict": verdict(result),
                "new median": round(float(primary(a).median()), 3),
                "old median": round(float(primary(b).median()), 3),
            }
        )
    return pd.DataFrame(rows)


def scoreboard(
    everything: pd.DataFrame, members: Sequence[Member]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The medians table (member x strategy) and the paired table (member x other strategy)
    of every member with scores in ``everything`` (:func:`suite_scores`)."""
    medians, pairs = [], []
    for member in members:
        scores = everything[everything["member"] == member.name] if len(everything) else everything
        if scores.empty:
            continue
        scores = scores.dropna(axis=1, how="all").sort_values(["strategy", "seed"], kind="stable")
        mine = ours(member)
        for strategy, s in scores.groupby("strategy", sort=False):
            row: dict[str, object] = {"member": member.name, "strategy": strategy, "seeds": len(s)}
            budget = int(s["budget"].max())
            for col in ("n to top 5%", "n to top 1%"):
                if col in s:
                    row[col] = _quartiles(s[col], budget, "{:.0f}")
            family = s["n to best family"].dropna() if "n to best family" in s else ()
            if len(family):
                row["best family found"] = f"{int(np.isfinite(family).sum())}/{len(family)}"
                row["n to best family"] = _quartiles(family, budget, "{:.0f}")
            for col in ("top 5% found", "HV share", "top 5% AUC", "HV AUC"):
                if col in s:
                    row[f"{col} at {budget}"] = _quartiles(s[col], budget, "{:.2f}")
            medians.append(row)
            if strategy != mine and mine in set(scores["strategy"]):
                result = paired(scores, mine, str(strategy))
                pairs.append(
                    {
                        "member": member.name,
                        "ours": mine,
                        "versus": strategy,
                        **result,
                        "verdict": verdict(result),
                    }
                )
    return pd.DataFrame(medians), pd.DataFrame(pairs)


def _quartiles(values: pd.Series, budget: int, fmt: str) -> str:
    v = values.to_numpy(dtype=float)
    q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75], method="inverted_cdf")

    def text(x: float) -> str:
        return f">{budget}" if math.isinf(x) else fmt.format(x)

    return f"{text(med)} [{text(q1)}, {text(q3)}]"


def write_scoreboard(
    output: Path, suite: Suite, docs: Path | None = None, stored: pd.DataFrame | None = None
) -> dict[str, Path]:
    """``scoreboard.md``, ``scoreboard.csv`` (medians), ``paired.csv``, ``scores.csv`` (every
    run's scores, for :func:`compare`) and ``scoreboard.png`` in ``docs`` (default:
    ``output``), from every member run under ``output`` and the ``stored`` scores."""
    scores = suite_scores(output, suite.members, stored)
    medians, pairs = scoreboard(scores, suite.members)
    if medians.empty:
        raise FormulateError(
            f"no suite runs in {output}",
            [Problem(str(output), "no member folder with runs", "run 'formulate backtest suite'")],
        )
    docs = docs or output
    docs.mkdir(parents=True, exist_ok=True)
    names = ("scoreboard.md", "scoreboard.csv", "paired.csv", "scores.csv", "scoreboard.png")
    paths = {name: docs / name for name in names}
    medians.to_csv(paths["scoreboard.csv"], index=False)
    scores.to_csv(paths["scores.csv"], index=False)
    pairs.to_csv(paths["paired.csv"], index=False)
    paths["scoreboard.md"].write_text(_markdown(suite, medians, pairs), encoding="utf-8")
    if pairs.empty:  # ours alone (a planner change's run, for `compare`): nothing to pair
        paths.pop("scoreboard.png").unlink(missing_ok=True)
    else:
        _plot(pairs, suite, paths["scoreboard.png"])
    return paths


def _table(frame: pd.DataFrame) -> str:
    cells = frame.fillna("").astype(str)
    lines = ["| " + " | ".join(cells.columns) + " |", "|" + "---|" * len(cells.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join(lines)


def _markdown(suite: Suite, medians: pd.DataFrame, pairs: pd.DataFrame) -> str:
    by_name = {m.name: m for m in suite.members}
    judged = pairs[pairs["member"].map(lambda n: by_name[n].judge)] if len(pairs) else pairs
    lines = [
        "# Benchmark suite scoreboard",
        "",
        "Public experimental tables from other labs (`benchmarks/`), each replayed as a pool: "
        "the same random initial rows per seed for every strategy, then one row a step. "
        "`ours` is each member campaign's own strategy. Medians over seeds, [25%, 75%]; "
        "`>N`: not reached within the budget. Emulated members (formulate's own virtual lab) "
        "are listed apart and judge nothing.",
        "",
        "## Seed-paired: ours against each strategy",
        "",
        "Per seed one score, the area under the progress curve: the share of the top 5% "
        "found (one objective) or the hypervolume share (several), averaged over the run's "
        "experiments. W/T/L: seeds ours wins, ties, loses; p: two-sided Wilcoxon "
        "signed-rank.",
        "",
    ]
    if len(judged):
        wide = judged.assign(
            cell=judged.apply(
                lambda r: (
                    f"{r.wins}/{r.ties}/{r.losses}, p={r.p:.2g}"
                    + (" **better**" if r.verdict == "better" else "")
                    + (" **worse**" if r.verdict == "worse" else "")
                ),
                axis=1,
            )
        ).pivot(index="member", columns="versus", values="cell")
        lines += [_table(wide.reset_index()), ""]
        counts = judged.groupby("versus")["verdict"].value_counts().unstack(fill_value=0)
        lines += [
            "Verdicts over the judging members (p < 0.05):",
            "",
            _table(counts.reset_index()),
            "",
        ]
    emulated = pairs[~pairs["member"].isin(judged["member"])] if len(pairs) else pairs
    if len(emulated):
        lines += [
            "Emulated members (not judges):",
            "",
            _table(emulated.drop(columns=["verdict"]).round(3)),
            "",
        ]
    lines += [
        "## Medians per member",
        "",
        "`best family found`: seeds that tried the family (combination of categorical "
        "levels) holding most of the pool's top 5%, of the seeds whose run files were read "
        "(a stored score has none); `n to best family`: experiments to its first row.",
        "",
    ]
    for name, part in medians.groupby("member", sort=False):
        member = by_name[str(name)]
        tags = ", ".join(member.tags) or "-"
        lines += [
            f"### {name}",
            "",
            f"{member.title} ({tags}).",
            "",
            _table(part.drop(columns=["member"]).dropna(axis=1, how="all")),
            "",
        ]
    return "\n".join(lines)


def _plot(pairs: pd.DataFrame, suite: Suite, path: Path) -> Path:
    """One heatmap: members x other strategies, colour (wins - losses) / seeds, W/T/L and the
    p-value written in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    members = [m.name for m in suite.members if m.name in set(pairs["member"])]
    others = list(dict.fromkeys(pairs["versus"]))
    grid = np.full((len(members), len(others)), np.nan)
    fig, ax = plt.subplots(figsize=(1.6 * len(others) + 2.6, 0.45 * len(members) + 1.4))
    for r in pairs.itertuples(index=False):
        i, j = members.index(r.member), others.index(r.versus)
        grid[i, j] = (r.wins - r.losses) / max(r.seeds, 1)
        mark = "*" if r.p < 0.05 else ""
        ink = "white" if abs(grid[i, j]) > 0.6 else "black"
        text = f"{r.wins}/{r.ties}/{r.losses}{mark}"
        ax.text(j, i, text, ha="center", va="center", fontsize=7, color=ink)
    ax.imshow(grid, cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(others)), others, fontsize=8, rotation=20)
    ax.set_yticks(range(len(members)), members, fontsize=8)
    ax.set_title("ours vs each strategy, seed-paired: wins/ties/losses (* p < 0.05)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
