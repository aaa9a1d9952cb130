"""Backtests page: stored backtest results and plots; start a small one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import streamlit as st

from formulate.ui.context import Context, plain, show_table, user_errors

ROOT = Path("backtests")
"""Where the app looks for results folders (as the CLI writes them by default)."""


def stored(root: Path = ROOT) -> list[Path]:
    """Results folders (holding ``backtest.json``) under ``root``, newest first."""
    from formulate.backtest import SETTINGS_FILE

    found = [p.parent for p in root.glob(f"**/{SETTINGS_FILE}")] if root.is_dir() else []
    return sorted(found, key=lambda p: (p / SETTINGS_FILE).stat().st_mtime, reverse=True)


def render(ctx: Context) -> None:
    listing = st.container()  # drawn after the start form: a run just made is listed
    made = None
    if ctx.can("member"):
        st.subheader("Start a small backtest")
        made = start(ctx)
    with listing:
        _listing(made)


def _listing(made: Path | None) -> None:
    """The stored backtests, the one just run (``made``) selected."""
    st.subheader("Stored backtests")
    folders = stored()
    if made is not None:
        st.session_state["bt_folder"] = made
    if not folders:
        st.info(
            "No backtests yet. Start a small one below, or run "
            "`formulate backtest emulator cheng2023` / `formulate backtest pool FILE.csv "
            "--spec campaigns/NAME` for a full one."
        )
    else:
        folder = st.selectbox("Results folder", folders, format_func=str, key="bt_folder")
        show(folder)


def show(folder: Path) -> None:
    """A folder's settings, summary table, plot and downloads (rebuilt from stored runs)."""
    from formulate.backtest import Report, open_backtest

    with user_errors():
        bt = open_backtest(folder)
        st.caption(bt.settings.describe())
        missing = len(bt.missing())
        if missing:
            st.warning(f"{missing} run(s) not finished; the table shows those that are.")
        report = Report(bt)
        paths = report.write()
        show_table(pd.read_csv(paths["summary.csv"], dtype=str, keep_default_na=False))
        st.image(str(paths["backtest.png"]))
        st.download_button(
            "Download the table (CSV)",
            paths["summary.csv"].read_bytes(),
            file_name=f"{folder.name}-summary.csv",
            key=f"bt_download_{folder}",
        )
        st.caption(
            "n to top p%: experiments until one of the pool's top p% is found; EF: share of "
            "the top 5% found, over random's; AF: experiments random needs over the "
            "strategy's. Medians over seeds [25%, 75%]."
        )


def _has_objective(path: Path, spec: object) -> bool:
    """Whether a CSV's header names one of the campaign's objectives (a wide table)."""
    with path.open(encoding="utf-8") as f:
        header = f.readline()
    return any(o.property in header for o in spec.objectives)  # type: ignore[attr-defined]


def start(ctx: Context) -> Path | None:
    """A few seeds of a few strategies, in this process, with a progress bar: by default the
    campaign's own strategy against random. Returns the folder of a backtest just run."""
    from formulate.backtest import Settings, default_strategies, prepare, run_backtest

    spec = ctx.campaign
    pools = [p.name for p in sorted(spec.folder.glob("*.csv")) if _has_objective(p, spec)]
    kinds = ["emulator (virtual lab)"] + [f"pool: {p}" for p in pools]
    kind = st.selectbox("Oracle", kinds, key="bt_kind", help="what answers the strategies")
    objectives = st.multiselect(
        "Objectives scored",
        [o.property for o in spec.objectives],
        default=[o.property for o in spec.objectives],
        key="bt_objectives",
        format_func=spec.label,
    )
    n_obj = len(objectives) or len(spec.objectives)
    options = list(
        default_strategies(spec.model_copy(update={"objectives": spec.objectives[:n_obj]}))
    )
    own = spec.strategy.acquisition if n_obj == len(spec.objectives) else options[0]
    strategies = st.multiselect(
        "Strategies",
        options,
        default=[s for s in dict.fromkeys((own, "random")) if s in options],
        key="bt_strategies",
        help="the campaign's own strategy against random by default",
    )
    left, middle, right = st.columns(3)
    seeds = left.number_input("Seeds", 1, 10, 2, key="bt_seeds")
    budget = middle.number_input("Experiments per run", 4, 60, 8, key="bt_budget")
    batch = right.number_input("Per step", 1, 12, 1, key="bt_batch")
    if not st.button("Run backtest", key="bt_run"):
        return None
    pool = None if kind.startswith("emulator") else str(spec.folder / kind.removeprefix("pool: "))
    settings = Settings(
        kind="pool" if pool else "emulator",
        campaign=str(spec.folder),
        pool=pool,
        objectives=tuple(objectives),
        strategies=tuple(strategies),
        seeds=int(seeds),
        initial=min(3, int(budget) - 1),
        batch_size=int(batch),
        budget=int(budget),
    )
    name = f"{spec.name}-{settings.kind}-{hashlib.sha256(repr(settings).encode()).hexdigest()[:6]}"
    with user_errors():
        bt = prepare(settings, ROOT / name)
        bar = st.progress(0.0, text="starting")

        def update(event: str, done: int, total: int, steps: int) -> None:
            bar.progress(done / total, text=f"{done} of {total} runs ({steps} steps)")

        with st.spinner("Running the backtest"):
            run_backtest(bt, workers=1, progress=update)
        st.success(plain(f"Stored in {ROOT / name}: selected under Stored backtests"))
        return ROOT / name
    return None
