"""Plan page: ask for the next batch, read the predictions and reasons, accept it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from formulate.report.display import csv_text
from formulate.report.summary import proposal_view
from formulate.spec.campaign import Campaign
from formulate.spec.strategies import STRATEGIES
from formulate.ui.context import Context, done, plain, show_table, user_errors, viewer_note


def render(ctx: Context) -> None:
    spec = ctx.campaign
    if not ctx.can("member"):
        st.info(viewer_note(ctx, "propose and accept batches"))
        return
    names = [o.property for o in spec.objectives]
    left, right = st.columns(2)
    strategies = list(STRATEGIES)
    strategy = left.selectbox(
        "Strategy",
        strategies,
        key="plan_strategy",
        index=strategies.index(spec.strategy.acquisition),
        format_func=lambda s: f"{s}: {STRATEGIES[s].summary}",
    )
    batch = right.number_input(
        "Membranes in the batch", 1, 24, spec.strategy.batch_size, key="plan_batch"
    )
    weights, target = None, None
    if strategy == "parego":
        weights = {n: st.slider(f"weight of {n}", 0.1, 5.0, 1.0, key=f"w_{n}") for n in names}
    if strategy == "qlognei":
        target = st.selectbox("Objective", names, key="plan_target")
    if st.button("Propose", key="plan_propose", type="primary"):
        _propose(ctx, int(batch), strategy, weights, target)
    _accepted(spec)
    proposals: pd.DataFrame | None = st.session_state.get("proposals")
    if proposals is None:
        return
    st.subheader("Proposals")
    capped = [
        f"{spec.label(p)} as a test to {spec.measurement(p).horizon_h:g} h shows it"
        for p in spec.censorable()
        if p in {o.property for o in spec.objectives}
    ]
    st.caption(
        "Predicted mean and 95% interval per objective, in the unit of its header"
        + "".join(f" ({c}: no prediction goes past the test)" for c in capped)
        + "; the chance to beat the best value so far in each reason."
    )
    if "warm_up" in proposals and proposals["warm_up"].astype(bool).all():
        st.warning(
            plain(
                f"Warm-up batch: {spec.strategy.warm_up_rule()} (the campaign's min_measured); "
                "these proposals spread over the space, they are not predictions."
            )
        )
    for note in proposals.attrs.get("notes", []):
        st.info(plain(f"For the whole batch: {note}"))
    view = proposal_view(spec, proposals)
    show_table(view.drop(columns="reason"))
    st.markdown(
        "\n".join(f"{i}. {plain(r)}" for i, r in enumerate(view["reason"], start=1)),
        help="Why each proposal (numbered as in the table): the objective that drives it and "
        "the chance that it beats the best value so far of each objective.",
    )
    st.download_button(
        "Download (not stored yet: no membrane ids)",
        csv_text(view),
        "proposals.csv",
        key="plan_download",
    )
    if st.button("Accept as a pending batch", key="plan_accept", type="primary"):
        with user_errors():
            stored = ctx.api().accept(proposals, source="app")
            st.session_state["proposals"] = None
            st.session_state["accepted"] = stored
            done(f"Batch {stored['batch'].iloc[0]} stored: " + ", ".join(stored["membrane"]))


def _propose(
    ctx: Context,
    batch: int,
    strategy: str,
    weights: dict[str, float] | None,
    target: str | None,
) -> None:
    """Propose a batch into the session, each step said on one still line. Not ``st.status``:
    its spinner, drawn by the browser on the same cores, slowed the proposal (on 2 cores the
    first Propose took 1.16-1.50x the in-process call with it, 1.05-1.25x with this line;
    ``bench/bench_app_browser.py``, four runs each)."""
    line = st.empty()
    line.caption("Proposing...")

    def say(what: str) -> None:
        line.caption(what + "...")

    with user_errors():
        try:
            st.session_state["proposals"] = ctx.api().propose(
                batch,
                strategy=strategy,
                weights=weights,
                target=target,
                step=say,
            )
        finally:
            line.empty()
        line.caption(":material/check_circle: Proposed")


def _accepted(spec: Campaign) -> None:
    """The batch accepted last, with its membrane ids, to download for the lab."""
    stored: pd.DataFrame | None = st.session_state.get("accepted")
    if stored is None or stored.empty:
        return
    batch = int(stored["batch"].iloc[0])
    view = proposal_view(spec, stored)
    with st.expander(f"Batch {batch}, accepted: membrane ids for the lab", expanded=False):
        show_table(view)
        st.download_button(
            f"Download batch {batch} (CSV with membrane ids)",
            csv_text(view),
            f"{spec.name}-batch-{batch}.csv",
            key="plan_download_batch",
        )
