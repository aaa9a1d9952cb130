"""Cycler page: the channels, what runs on them and for how long, the next candidates; starting
or stopping a cell records it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from formulate.data.cell_tests import cell_tests, start_test, stop_test
from formulate.ui.context import Context, cached, done, plain, user_errors

LIFE = "li_symmetric_life"


def render(ctx: Context) -> None:
    from formulate.plan.schedule import candidates, nothing_to_schedule

    spec = ctx.campaign
    props = [o.property for o in spec.objectives]
    prop = st.selectbox(
        "Measurement",
        props,
        index=props.index(LIFE) if LIFE in props else 0,
        key="cycler_property",
        format_func=spec.label,
    )
    table = ctx.table()  # read once per run: the ranking and the form share it
    tests = cell_tests(spec, ctx.store)
    running = tests[(tests["state"] == "running") & (tests["property"] == prop)]
    limit = spec.measurement(prop).instruments
    st.subheader(f"Channels: {len(running)} of {limit} in use")
    if running.empty:
        st.info("Nothing on test. Start a cell below.")
    else:
        st.dataframe(_channels(running), hide_index=True)
        if ctx.can("member"):
            _stop(ctx, running, prop)
    free = max(limit - len(running), 0)
    st.subheader("Next on test")
    st.caption(
        "Made membranes whose film formed, without this measurement and not on test, ranked "
        "by the expected gain in hypervolume from its result per instrument-day (a life test "
        "runs until the cell fails or reaches "
        f"{spec.measurement(prop).duration_days:g} days)."
    )
    slots = st.number_input("How many", 1, 24, max(free, 1), key="cycler_slots")
    if st.button("Rank the candidates", key="cycler_rank"):
        from formulate.plan.schedule import schedule

        with user_errors(), st.spinner("Fitting the models and ranking..."):
            ranked = cached(
                ctx, f"schedule {prop} {slots}", schedule, spec, table, tests, prop, slots
            )
            st.session_state["cycler_ranked"] = ranked
            if len(ranked):  # the form offers the best candidate first
                st.session_state["cycler_membrane"] = ranked["membrane"].iloc[0]
    ranked = st.session_state.get("cycler_ranked")
    pool = candidates(spec, table, tests, prop)
    if ranked is not None and not ranked.empty:
        pairs = zip(ranked["membrane"], ranked["reason"], strict=True)
        st.markdown(
            "\n".join(f"{i}. **{plain(m)}**: {plain(r)}" for i, (m, r) in enumerate(pairs, 1))
        )
    elif ranked is not None or pool.empty:
        st.info(nothing_to_schedule(spec, table, tests, prop))
    if ctx.can("member"):
        _start(ctx, pool["membrane"].tolist(), prop, ranked)


def _channels(running: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "channel": running["channel"],
            "membrane": running["membrane"],
            "started (UTC)": running["started_at"].map(lambda t: f"{t:%Y-%m-%d %H:%M}"),
            "running for [h]": running["hours"].round(0).astype(int),
            "days": (running["hours"] / 24).round(1),
        }
    )


def _start(ctx: Context, pool: list[str], prop: str, ranked: pd.DataFrame | None) -> None:
    """Start a cell: the candidates (made, film formed, no result, not on test), the ranking's
    best first."""
    first = list(ranked["membrane"]) if ranked is not None else []
    options = first + [m for m in pool if m not in first]
    if not options:
        return
    if st.session_state.get("cycler_membrane") not in options:
        st.session_state["cycler_membrane"] = options[0]
    with st.form("cycler_start"):
        left, right = st.columns(2)
        membrane = left.selectbox("Membrane", options, key="cycler_membrane")
        channel = right.text_input("Channel", key="cycler_channel")
        if st.form_submit_button("Start the cell now") and membrane:
            with user_errors():
                start_test(ctx.campaign, ctx.store, membrane, prop, channel.strip(), by=ctx.who)
                st.session_state["cycler_ranked"] = None
                on = f"Started {membrane} on {ctx.campaign.label(prop)}"
                done(on + (f", channel {channel}" if channel else ""))


def _stop(ctx: Context, running: pd.DataFrame, prop: str) -> None:
    with st.expander("Take a cell off (stopped: its life exceeds its hours)"):
        membrane = st.selectbox("Cell", running["membrane"].tolist(), key="cycler_stop_membrane")
        if st.button("Stop it now", key="cycler_stop") and membrane:
            with user_errors():
                hours = stop_test(ctx.campaign, ctx.store, membrane, prop)
                done(f"Stopped {membrane} after {hours:.0f} h")
