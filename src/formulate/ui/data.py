"""Data page: every membrane, its formulation, outcomes in display units, provenance and status;
filters start with everything shown and say what they hide."""

from __future__ import annotations

import streamlit as st

from formulate.data import STATUSES
from formulate.report.display import csv_text
from formulate.report.summary import membrane_view, objective_view, status_counts
from formulate.ui.context import Context


def render(ctx: Context) -> None:
    table = ctx.table()
    counts = status_counts(table)
    for col, (status, n) in zip(st.columns(len(counts)), counts.items(), strict=True):
        col.metric(status, n)
    st.subheader("Objectives")
    st.dataframe(objective_view(ctx.campaign, table), hide_index=True)
    st.subheader("Membranes")
    st.caption(
        "Each outcome in the unit in its header (three significant digits); >= marks a lower "
        "bound (a cell still running). Provenance: stated = the paper's text, measured = "
        "logged here, emulated = virtual lab, imported = from a file, proposed = a pending "
        "proposal; awaiting = objectives not measured yet."
    )
    left, right = st.columns(2)  # filters name what they hide: new values are shown
    hide_status = left.multiselect("Hide status", STATUSES, default=[], key="data_hide_status")
    provenances = sorted(table["provenance"].dropna().unique()) if len(table) else []
    hide_prov = right.multiselect("Hide provenance", provenances, key="data_hide_prov")
    keep = ~table["status"].isin(hide_status) & ~table["provenance"].isin(hide_prov)
    hidden = int((~keep).sum())
    st.caption(f"Showing {len(table) - hidden} of {len(table)} membranes.")
    if hidden:
        st.info(f"{hidden} of {len(table)} membranes hidden by the filters above.")
    view = membrane_view(ctx.campaign, table[keep], wide=True)
    st.dataframe(view, hide_index=True)
    st.download_button(
        "Download these membranes (CSV, units in the headers)",
        csv_text(view),
        f"{ctx.campaign.name}-membranes.csv",
        key="data_download",
    )
    with st.expander("Every measurement, corrections included (append-only, canonical units)"):
        st.dataframe(ctx.store.measurements(ctx.campaign.name, history=True), hide_index=True)
