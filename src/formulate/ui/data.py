"""Data page: every membrane, its formulation, outcomes, units, provenance and status."""

from __future__ import annotations

import streamlit as st

from formulate.data import STATUSES
from formulate.report.summary import awaiting, objective_summary, status_counts
from formulate.ui.context import Context


def render(ctx: Context) -> None:
    table = ctx.table()
    counts = status_counts(table)
    for col, (status, n) in zip(st.columns(len(counts)), counts.items(), strict=True):
        col.metric(status, n)
    st.subheader("Objectives")
    st.dataframe(objective_summary(ctx.campaign, table), hide_index=True)
    st.subheader("Membranes")
    st.caption(
        "Conductivity in S/cm, life in h; `*_censored` marks a cell still running (the "
        "value is a lower bound); provenance: stated = the paper's text, measured = "
        "logged here, emulated = virtual lab, imported = from a file, proposed = a pending "
        "proposal; awaiting = objectives not measured yet."
    )
    left, right = st.columns(2)
    statuses = left.multiselect("Status", STATUSES, default=list(STATUSES), key="data_status")
    provenances = sorted(table["provenance"].dropna().unique()) if len(table) else []
    chosen = right.multiselect("Provenance", provenances, default=provenances, key="data_prov")
    shown = table[table["status"].isin(statuses) & table["provenance"].isin(chosen)]
    if len(shown):  # what each membrane still awaits, beside its status
        shown = shown.copy()
        shown.insert(shown.columns.get_loc("status") + 1, "awaiting", awaiting(ctx.campaign, shown))
    st.dataframe(shown, hide_index=True)
    with st.expander("Every measurement, corrections included (append-only)"):
        st.dataframe(ctx.store.measurements(ctx.campaign.name, history=True), hide_index=True)
