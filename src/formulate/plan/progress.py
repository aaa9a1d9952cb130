"""Campaign progress: Pareto front, hypervolume and best values as membranes come in.

Values are compared on the objectives' model scales (log10 conductivity, logit t+, log10
life), sign-adjusted so that larger is better; a censored life counts at its bound (what is
known for sure).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from botorch.utils.multi_objective.hypervolume import Hypervolume
from botorch.utils.multi_objective.pareto import is_non_dominated

from formulate.spec.campaign import Campaign


def scores(campaign: Campaign, table: pd.DataFrame) -> pd.DataFrame:
    """Sign-adjusted model-scale objective values of the membranes that have all of them."""
    props = [o.property for o in campaign.objectives]
    if table.empty or not set(props) <= set(table.columns):
        return pd.DataFrame(columns=["membrane", *props])
    done = table.dropna(subset=props)
    out = pd.DataFrame({"membrane": done["membrane"].to_numpy()}, index=done.index)
    for o in campaign.objectives:
        out[o.property] = o.score(done[o.property].to_numpy(dtype=float))
    return out


def reference_point(
    campaign: Campaign, observed: Mapping[str, np.ndarray], use_campaign: bool = True
) -> np.ndarray:
    """The campaign's ``reference`` values (model scale, sign-adjusted; ``m``), or 10% of the
    observed range below the worst observed value (``observed``: sign-adjusted model-scale
    values per objective) where none is given or ``use_campaign`` is False."""
    ref = []
    for o in campaign.objectives:
        if use_campaign and o.reference is not None:
            ref.append(float(o.score([o.reference])[0]))
        else:
            y = np.asarray(observed.get(o.property, []), dtype=float)
            y = y if len(y) else np.zeros(1)
            ref.append(float(y.min() - 0.1 * (np.ptp(y) + 1e-9)))
    return np.array(ref)


def _columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {c: frame[c].to_numpy(dtype=float) for c in frame.columns if c != "membrane"}


def pareto_front(campaign: Campaign, table: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``table`` on the Pareto front of the objectives (measured membranes only)."""
    s = scores(campaign, table)
    if s.empty:
        return table.iloc[:0]
    Y = torch.as_tensor(s[[o.property for o in campaign.objectives]].to_numpy())
    mask = is_non_dominated(Y).numpy()
    return table.loc[s.index[mask]]


def hypervolume(campaign: Campaign, table: pd.DataFrame, ref: np.ndarray | None = None) -> float:
    """Hypervolume dominated by the measured membranes above the reference point."""
    s = scores(campaign, table)
    if s.empty:
        return 0.0
    Y = torch.as_tensor(s[[o.property for o in campaign.objectives]].to_numpy())
    ref_t = torch.as_tensor(reference_point(campaign, _columns(s)) if ref is None else ref)
    Y = Y[(ref_t < Y).all(dim=-1)]
    if len(Y) == 0:
        return 0.0
    return float(Hypervolume(ref_t).compute(Y[is_non_dominated(Y)]))


def history(campaign: Campaign, table: pd.DataFrame) -> pd.DataFrame:
    """Hypervolume and best value per objective after each batch (batch 0: data not proposed
    by formulate), against one fixed reference point."""
    ref = reference_point(campaign, _columns(scores(campaign, table)))
    batches = table["batch"].fillna(0).astype(int) if len(table) else pd.Series(dtype=int)
    columns = [
        "batch",
        "membranes",
        "hypervolume",
        *(f"best {o.property}" for o in campaign.objectives),
    ]
    rows = []
    for b in sorted(batches.unique()):
        seen = table[batches <= b]
        values = {
            o.property: seen.get(o.property, pd.Series(dtype=float)) for o in campaign.objectives
        }
        row = {
            "batch": int(b),
            "membranes": int(values[campaign.objectives[0].property].notna().sum()),
            "hypervolume": hypervolume(campaign, seen, ref),
        }
        for o in campaign.objectives:
            row[f"best {o.property}"] = o.best(values[o.property])
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def plot_history(campaign: Campaign, hist: pd.DataFrame, path: Path) -> Path:
    """Hypervolume and best value per objective against measured membranes, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = 1 + len(campaign.objectives)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.2))
    axes[0].plot(hist["membranes"], hist["hypervolume"], "o-")
    axes[0].set_title("hypervolume (model scale)", fontsize=9)
    for ax, o in zip(axes[1:], campaign.objectives, strict=True):
        shown = campaign.to_display(o.property, hist[f"best {o.property}"].astype(float))
        ax.plot(hist["membranes"], shown, "o-")
        if o.transform == "log10":
            ax.set_yscale("log")
        unit = campaign.display_unit(o.property) or "-"
        ax.set_title(f"best {campaign.label(o.property)} [{unit}]", fontsize=9)
    for ax in axes:
        ax.set_xlabel("membranes measured")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
