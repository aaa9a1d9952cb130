"""The whole lab, day by day, on the virtual lab: which made membranes go on the cycler.

Every week the lab makes a batch of membranes (the same formulations, drawn at random from the
campaign's space, for every policy of a seed); conductivity arrives a day later, t+ three days
later; a film that fails gets no test. A Li|Li life is known only for membranes a policy puts
on one of the ``channels``: a cell runs until it fails (its noisy emulated life) or reaches
the horizon, and while it runs its life is known to exceed its hours so far. Each day, free
channels are filled by the policy:

* ``schedule``: :func:`formulate.plan.schedule.schedule`, value per cycler-day; a channel
  stays free rather than hold a film that cannot move the front whatever its life (no
  expected gain) until one that can arrives;
* ``fcfs``: first come, first served (the oldest untested film);
* ``random``: any untested film.

Scored on the noise-free emulator: each day, the hypervolume of what is *known* (true
conductivity and t+ of films measured so far, the life each cell has demonstrated: its true
life once failed, its hours while running) as a fraction of the hypervolume of every film of
the seed with its true life capped at the horizon (what instant knowledge would give). The
table: cycler-weeks used and calendar weeks until 80% and 95% of that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from formulate.backtest.metrics import hypervolume
from formulate.backtest.workers import worker_pool
from formulate.errors import collected_warnings, summed_warnings, warnings_cell, warnings_line
from formulate.lab.virtual import Noise, VirtualLab
from formulate.plan.progress import reference_point
from formulate.spec.campaign import Campaign

POLICIES = ("schedule", "fcfs", "random")
LIFE = "li_symmetric_life"
TARGETS = (0.8, 0.95)
ARRIVAL_DAYS = {"ionic_conductivity": 1, "transference_number": 3}


@dataclass(frozen=True)
class LabWeeks:
    """One simulated lab: ``weeks`` of ``per_week`` membranes, ``channels`` cyclers, cells
    stopped at ``horizon_h``; days simulated past the last batch until every cell is done."""

    weeks: int = 12
    per_week: int = 4
    channels: int = 4
    horizon_h: float = 1500.0


def membranes(campaign: Campaign, lab: LabWeeks, seed: int) -> pd.DataFrame:
    """The seed's membranes: formulation, day made, noisy outcomes (``seen_``) and truth."""
    space = campaign.space
    n = lab.weeks * lab.per_week
    table = pd.DataFrame(space.sample(n, seed=20_000 + seed))
    table.insert(
        0, "membrane", [f"W{i // lab.per_week + 1}-{i % lab.per_week + 1}" for i in range(n)]
    )
    table["made_day"] = [7 * (i // lab.per_week) for i in range(n)]
    fillers = space.levels("filler") if "filler" in space.categorical_names() else None
    noisy = VirtualLab(seed, horizon_h=1e12, fillers=fillers).measure(table)
    exact = VirtualLab(seed, Noise.off(), horizon_h=1e12, fillers=fillers).measure(table)
    for o in campaign.objectives:
        table[f"seen_{o.property}"] = noisy[o.property].to_numpy(dtype=float)
        table[f"true_{o.property}"] = exact[o.property].to_numpy(dtype=float)
    table["formed"] = noisy["film_formed"].to_numpy() == 1
    table[f"true_{LIFE}"] = np.minimum(table[f"true_{LIFE}"], lab.horizon_h)
    return table


def simulate(campaign: Campaign, lab: LabWeeks, policy: str, seed: int) -> pd.DataFrame:
    """One policy on one seed: per day, channels in use, cycler-days used so far and the known
    hypervolume fraction."""
    made = membranes(campaign, lab, seed)
    rng = np.random.default_rng(seed)
    ref = reference_point(campaign, {})  # the campaign's reference values
    best = hypervolume(_known(campaign, made, made["formed"], np.full(len(made), np.inf)), ref)
    start = np.full(len(made), np.nan)  # day each cell went on test
    rows, used = [], 0.0
    last = lab.weeks * 7 + int(np.ceil(lab.horizon_h / 24)) + 7
    for day in range(last + 1):
        hours = (day - start) * 24.0
        life = made[f"seen_{LIFE}"].to_numpy(dtype=float)
        running = ~np.isnan(start) & (hours < np.minimum(life, lab.horizon_h))
        free = lab.channels - int(running.sum())
        waiting = made["formed"] & (made["made_day"] + 1 <= day) & np.isnan(start)
        if free > 0 and waiting.any():
            picks = _pick(campaign, lab, policy, made, start, day, waiting, free, rng)
            start[made["membrane"].isin(picks).to_numpy()] = day
            running = ~np.isnan(start) & ((day - start) * 24.0 < np.minimum(life, lab.horizon_h))
        used += float(running.sum())
        shown = np.where(np.isnan(start), np.nan, np.minimum((day - start) * 24.0, np.inf))
        known = _known(campaign, made, made["made_day"] + 3 <= day, shown)
        rows.append({"day": day, "running": int(running.sum()), "cycler_days": used,
                     "fraction": hypervolume(known, ref) / best if best > 0 else 1.0})  # fmt: skip
        if not waiting.any() and not running.any() and day > lab.weeks * 7:
            break
    out = pd.DataFrame(rows)
    out.insert(0, "seed", seed)
    out.insert(0, "policy", policy)
    return out


def _known(
    campaign: Campaign, made: pd.DataFrame, measured: pd.Series, hours: np.ndarray
) -> np.ndarray:
    """Sign-adjusted model-scale points of what is known: true conductivity and t+ of films
    measured, the life a cell has shown (its true life, or its hours while it runs)."""
    ok = made["formed"].to_numpy() & np.asarray(measured) & ~np.isnan(hours)
    cols = []
    for o in campaign.objectives:
        true = made[f"true_{o.property}"].to_numpy(dtype=float)
        value = np.minimum(true, np.maximum(hours, 1e-6)) if o.property == LIFE else true
        cols.append(o.score(value[ok]))
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0))


def _pick(
    campaign: Campaign,
    lab: LabWeeks,
    policy: str,
    made: pd.DataFrame,
    start: np.ndarray,
    day: int,
    waiting: pd.Series,
    free: int,
    rng: np.random.Generator,
) -> list[str]:
    """Membranes (ids) the policy puts on the free channels today."""
    ids = made.loc[waiting, "membrane"].tolist()
    if policy == "fcfs":
        return ids[:free]
    if policy == "random":
        return [str(m) for m in rng.permutation(ids)[:free]]
    from formulate.plan.schedule import GAIN_TOL, schedule

    table, tests = _lab_view(campaign, lab, made, start, day)
    ranked = schedule(campaign, table, tests, LIFE, free, disk_cache=False)
    worth = ranked["gain"].isna() | (ranked["gain"] > GAIN_TOL)  # NaN: first come (no model)
    return ranked.loc[worth, "membrane"].tolist()  # a channel stays free rather than waste


def _lab_view(
    campaign: Campaign, lab: LabWeeks, made: pd.DataFrame, start: np.ndarray, day: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the lab knows on ``day``, as a campaign table and its cell tests."""
    names = campaign.space.names()
    known = made[made["made_day"] + 1 <= day]
    table = known[["membrane", *names]].copy()
    table["status"] = np.where(known["formed"], "measured", "failed")
    for prop, delay in ARRIVAL_DAYS.items():
        arrived = known["formed"] & (known["made_day"] + delay <= day)
        table[prop] = known[f"seen_{prop}"].where(arrived)
    hours = (day - start[known.index]) * 24.0
    life = known[f"seen_{LIFE}"].to_numpy(dtype=float)
    done = np.nan_to_num(hours, nan=-1.0) >= np.minimum(life, lab.horizon_h)
    table[LIFE] = np.where(done, np.minimum(life, lab.horizon_h), hours)
    table[f"{LIFE}_censored"] = ~done | (life >= lab.horizon_h)
    table.loc[np.isnan(hours), [LIFE, f"{LIFE}_censored"]] = [np.nan, False]
    on = ~np.isnan(hours) & ~done
    tests = pd.DataFrame(
        {"membrane": known.loc[on, "membrane"], "property": LIFE, "state": "running"}
    )
    return table.reset_index(drop=True), tests


def summary(traces: pd.DataFrame) -> pd.DataFrame:
    """Per policy: cycler-weeks and calendar weeks to each target, medians [25%, 75%] over
    seeds (``>N`` when most seeds never got there), and the seeds."""
    rows = []
    for policy, runs in traces.groupby("policy", sort=False):
        row: dict[str, object] = {"policy": policy, "seeds": runs["seed"].nunique()}
        for target in TARGETS:
            cycler, calendar = [], []
            for _, run in runs.groupby("seed"):
                hit = run[run["fraction"] >= target]
                cycler.append(hit["cycler_days"].iloc[0] / 7 if len(hit) else np.inf)
                calendar.append(hit["day"].iloc[0] / 7 if len(hit) else np.inf)
            row[f"cycler-weeks to {target:.0%}"] = _text(cycler)
            row[f"weeks to {target:.0%}"] = _text(calendar)
            row[f"_cycler_{target}"] = float(np.median(cycler))
        rows.append(row)
    return pd.DataFrame(rows)


def _text(values: list[float]) -> str:
    v = np.asarray(values, dtype=float)
    q = np.quantile(v, [0.5, 0.25, 0.75])
    return " ".join([_num(q[0]), f"[{_num(q[1])}, {_num(q[2])}]"])


def _num(x: float) -> str:
    return ">max" if not np.isfinite(x) else f"{x:.1f}"


def _one(campaign_ref: str, lab: LabWeeks, policy: str, seed: int) -> pd.DataFrame:
    """One (policy, seed) in a worker process."""
    import torch

    from formulate.spec.campaign import load_campaign

    torch.set_num_threads(1)
    with collected_warnings() as caught:  # summarised in the report, never printed
        trace = simulate(load_campaign(campaign_ref), lab, policy, seed)
    return trace.assign(warnings=warnings_cell(caught))


def run(
    campaign_ref: str, lab: LabWeeks, seeds: int, policies: tuple[str, ...] = POLICIES,
    workers: int = 1,
) -> pd.DataFrame:  # fmt: skip
    """Every (policy, seed), on ``workers`` processes; the traces of :func:`simulate`."""
    jobs = [(p, s) for s in range(seeds) for p in policies]
    if workers <= 1:
        parts = [_one(campaign_ref, lab, p, s) for p, s in jobs]
    else:
        with worker_pool(workers) as pool:
            futures = [pool.submit(_one, campaign_ref, lab, p, s) for p, s in jobs]
            parts = [f.result() for f in futures]
    return pd.concat(parts, ignore_index=True)


def write(folder: Path, traces: pd.DataFrame, lab: LabWeeks) -> dict[str, Path]:
    """traces.csv, summary.csv, summary.md and cycler.png in ``folder``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    table = summary(traces)
    shown = table[[c for c in table.columns if not c.startswith("_")]]
    paths = {n: folder / n for n in ("traces.csv", "summary.csv", "summary.md", "cycler.png")}
    traces.to_csv(paths["traces.csv"], index=False)
    shown.to_csv(paths["summary.csv"], index=False)
    lines = ["| " + " | ".join(shown.columns) + " |", "|" + "---|" * len(shown.columns)]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in shown.itertuples(index=False)]
    paths["summary.md"].write_text(
        f"# Cycler scheduling\n\n{describe(lab, traces['seed'].nunique())}\n\n"
        + "\n".join(lines) + "\n\n" + ratio_line(table) + "\n" + warnings_note(traces),
        encoding="utf-8",
    )  # fmt: skip
    fig, ax = plt.subplots(figsize=(7, 4))
    for policy, runs in traces.groupby("policy", sort=False):
        grid = np.linspace(0, traces["cycler_days"].max() / 7, 60)
        curves = [
            np.interp(grid, r["cycler_days"] / 7, r["fraction"]) for _, r in runs.groupby("seed")
        ]
        ax.plot(grid, np.median(curves, axis=0), label=str(policy))
        ax.fill_between(grid, *np.quantile(curves, [0.25, 0.75], axis=0), alpha=0.2)
    ax.set(xlabel="cycler-weeks used", ylabel="known share of the hypervolume", ylim=(0, 1.02))
    ax.legend()
    fig.tight_layout()
    fig.savefig(paths["cycler.png"], dpi=120)
    plt.close(fig)
    return paths


def describe(lab: LabWeeks, seeds: int) -> str:
    return (
        f"Virtual lab (emulated), {seeds} seeds: {lab.per_week} membranes a week for "
        f"{lab.weeks} weeks, {lab.channels} cycler channels, cells stopped at "
        f"{lab.horizon_h:g} h; medians [25%, 75%] over seeds."
    )


def ratio_line(table: pd.DataFrame) -> str:
    """How many times fewer cycler-weeks ``schedule`` needs than ``fcfs`` to reach 80%."""
    by = table.set_index("policy")
    if not {"schedule", "fcfs"} <= set(by.index):
        return ""
    fcfs, ours = by.loc["fcfs", "_cycler_0.8"], by.loc["schedule", "_cycler_0.8"]
    ratio = fcfs / ours if np.isfinite(fcfs) and ours > 0 else float("nan")
    return f"Cycler-weeks to 80%, first come first served / schedule (medians): {ratio:.2f}x."


def warnings_note(traces: pd.DataFrame) -> str:
    """The library warnings the runs collected, in one line (empty when none)."""
    counts = summed_warnings(traces.drop_duplicates(["policy", "seed"]).get("warnings", []))
    return f"\n{warnings_line(counts)}\n" if counts else ""
