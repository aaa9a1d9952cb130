"""Data page: every membrane, its formulation, outcomes in display units, provenance and status;
filters start with everything shown and say what they hide."""

from __future__ import annotations

import streamlit as st

from formulate.data import STATUSES
from formulate.report.display import csv_text, history_view
from formulate.report.summary import membrane_view, objective_view, row_provenance, status_counts
from formulate.ui.context import Context, show_table


def render(ctx: Context) -> None:
    table = ctx.table()
    counts = status_counts(table)
    for col, (status, n) in zip(st.columns(len(counts)), counts.items(), strict=True):
        col.metric(status, n)
    st.subheader("Objectives")
    show_table(objective_view(ctx.campaign, table))
    st.subheader("Membranes")
    st.caption(
        "Each outcome in the unit in its header (three significant digits); >= marks a lower "
        "bound (a cell still running). Provenance of a membrane's current values: stated = "
        "the paper's text, measured = logged here, emulated = virtual lab, imported = from a "
        "file, mixed = several; proposed = a pending proposal with no value yet; awaiting = "
        "objectives not measured yet. Every value's own provenance is in the history below."
    )
    left, right = st.columns(2)  # filters name what they hide: new values are shown
    hide_status = left.multiselect("Hide status", STATUSES, default=[], key="data_hide_status")
    origin = row_provenance(table)
    provenances = sorted(origin.dropna().unique()) if len(table) else []
    hide_prov = right.multiselect("Hide provenance", provenances, key="data_hide_prov")
    keep = ~table["status"].isin(hide_status) & ~origin.isin(hide_prov)
    hidden = int((~keep).sum())
    st.caption(f"Showing {len(table) - hidden} of {len(table)} membranes.")
    if hidden:
        st.info(f"{hidden} of {len(table)} membranes hidden by the filters above.")
    view = membrane_view(ctx.campaign, table[keep], wide=True)
    show_table(view)
    st.download_button(
        "Download these membranes (CSV, units in the headers)",
        csv_text(view),
        f"{ctx.campaign.name}-membranes.csv",
        key="data_download",
    )
    with st.expander("Every measurement, corrections included (append-only)"):
        history = ctx.store.measurements(ctx.campaign.name, history=True)
        makers = ctx.store.membranes(ctx.campaign.name)
        people = sorted({*history["recorded_by"].dropna(), *makers["recorded_by"].dropna()} - {""})
        by = st.multiselect("Recorded by (none chosen: everyone)", people, key="data_by")
        if by:
            history = history[history["recorded_by"].isin(by)]
            added = makers.loc[makers["recorded_by"].isin(by), "membrane"]
            st.caption(
                f"{len(history)} value(s) recorded and {len(added)} membrane(s) added by "
                + ", ".join(by)
            )
        show_table(history_view(ctx.campaign, history))
