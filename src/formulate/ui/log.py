"""Log outcomes: one value at a time, or a whole CSV; nothing is written until all is valid."""

from __future__ import annotations

from typing import IO

import pandas as pd
import streamlit as st

from formulate.data import PENDING, read_table
from formulate.report.display import logged, value_text
from formulate.ui.context import Context, done, unit_of, user_errors, viewer_note


def render(ctx: Context) -> None:
    if not ctx.can("member"):
        st.info(viewer_note(ctx, "log outcomes and mark films"))
        return
    table = ctx.table()
    if table.empty:
        st.info("No membranes yet: import some, or propose a batch on the Plan page.")
        return
    props = [o.property for o in ctx.campaign.objectives]
    props += sorted(p for p in ctx.campaign.all_properties() if p not in props)
    with st.form("log_form", clear_on_submit=False):
        st.subheader("Log one outcome")
        membrane = st.selectbox("Membrane", table["membrane"].tolist(), key="log_membrane")
        prop = st.selectbox(
            "Property", props, key="log_property", format_func=lambda p: f"{p} [{unit_of(ctx, p)}]"
        )
        value = st.text_input(
            "Value (a number alone is in the unit shown beside the property; another unit "
            "may be written, e.g. 0.52 mS/cm or 1500 h)",
            key="log_value",
        )
        censored = st.checkbox("Still running (the value is a lower bound)", key="log_censored")
        surprising = st.checkbox(
            "The value is real (store it even outside the plausible range)", key="log_surprising"
        )
        note = st.text_input("Note", key="log_note")
        if st.form_submit_button("Log outcome"):
            _log(ctx, membrane, prop, value, censored, note, surprising)
    with st.form("fail_form"):
        st.subheader("A film that did not form")
        failed = st.selectbox("Membrane", table["membrane"].tolist(), key="fail_membrane")
        why = st.text_input("What happened", key="fail_note")
        if st.form_submit_button("Mark failed"):
            with user_errors():
                ctx.api().failed(failed, why, ctx.who)
                done(f"{failed} marked failed (film_formed = 0).")
    st.subheader("Upload outcomes (CSV)")
    st.caption(
        "One row per membrane (`membrane` and outcome columns, units in headers or "
        "cells) or one row per measurement (`membrane,property,value,unit`)."
    )
    upload = st.file_uploader("CSV file", type=["csv"], key="log_upload")
    real = st.checkbox(
        "Values outside the plausible ranges are real (store them)", key="log_upload_surprising"
    )
    clicked = st.button("Import file", key="log_import", disabled=upload is None)
    if clicked and upload is not None:
        _import(ctx, upload, upload.name, real)
    _withdraw(ctx, table)


def _withdraw(ctx: Context, table: pd.DataFrame) -> None:
    """Retract a wrong value; abandon membranes that will not be made."""
    with st.form("retract_form"):
        st.subheader("Retract a wrong value (it stays in the history)")
        membrane = st.selectbox("Membrane", table["membrane"].tolist(), key="retract_membrane")
        prop = st.selectbox("Property", list(ctx.campaign.all_properties()), key="retract_property")
        why = st.text_input("Why", key="retract_note")
        if st.form_submit_button("Retract"):
            with user_errors():
                value = ctx.api().retract(membrane, prop, by=ctx.who, reason=why)
                shown = value_text(ctx.campaign, prop, value)
                done(f"Retracted {membrane} {ctx.campaign.label(prop)} = {shown}")
    open_ = table.loc[table["status"].isin(PENDING), "membrane"].tolist()
    if not ctx.can("admin"):
        return
    with st.form("abandon_form"):
        st.subheader("Abandon membranes that will not be made")
        chosen = st.multiselect("Pending membranes", open_, key="abandon_membranes")
        why = st.text_input("Why", key="abandon_note")
        if st.form_submit_button("Abandon"):
            with user_errors():
                gone = ctx.api().abandon(chosen, note=why)
                done(f"Abandoned {', '.join(gone)}")


def _log(
    ctx: Context,
    membrane: str,
    prop: str,
    value: str,
    censored: bool,
    note: str,
    surprising: bool = False,
) -> None:
    with user_errors():
        made = ctx.api().log_value(
            membrane,
            prop,
            value,
            censored=censored,
            by=ctx.who,
            note=note,
            surprising=surprising,
            where="Value",
            source="app",
        )
        done(logged(ctx.campaign, membrane, made, value))


def _import(ctx: Context, upload: IO[bytes], name: str, surprising: bool = False) -> None:
    """An uploaded table, as ``formulate import`` reads it (provenance ``imported``)."""
    with user_errors():
        frame = read_table(upload, name)
        plan = ctx.api().log(frame, provenance="imported", surprising=surprising, name=name)
        read = "".join(f" Read: {line}." for line in plan.readings.lines())
        done(plan.said(name) + read)
