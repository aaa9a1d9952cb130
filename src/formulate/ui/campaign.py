"""The campaign itself in the app: create one (blank by default), read it in plain words, edit
its variables, levels, bounds and objectives as a new version with the data kept."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from formulate.data.table import space_problems
from formulate.errors import FormulateError
from formulate.report.summary import describe
from formulate.spec.campaign import (
    BLANK_TEMPLATE,
    CAMPAIGN_FILE,
    edited_campaign,
    init_campaign,
    save_version,
)
from formulate.ui.context import Context, done, user_errors

TEMPLATES = {
    BLANK_TEMPLATE: "blank: your own space, no data",
    "cheng2023": "cheng2023: the paper's campaign with its stated membranes",
}


def create(root: Path) -> None:
    """The sidebar's "New campaign": a name and a template; the new campaign opens."""
    with st.sidebar.expander("New campaign"):
        name = st.text_input("Name", key="new_name")
        template = st.selectbox(
            "Start from", list(TEMPLATES), format_func=lambda t: TEMPLATES[t], key="new_template"
        )
        if st.button("Create", key="new_create"):
            with user_errors():
                init_campaign(name, str(template), root)
                st.session_state["campaign"] = name  # open what was just created
                done(f"Created campaign {name} from template {template}")


def describe_and_edit(ctx: Context) -> None:
    """The campaign in plain words, and its file to edit: saved as a new version (the old one
    kept under versions/) only when valid; every problem listed otherwise."""
    spec = ctx.campaign
    with st.expander("Design space and objectives: read or edit"):
        st.text("\n".join(describe(spec)))
        file = spec.folder / CAMPAIGN_FILE
        text = st.text_area(
            f"{file.name} (variables, levels, bounds, objectives; comments say what each key "
            "means)",
            file.read_text(encoding="utf-8"),
            height=420,
            key=f"edit_{spec.name}",
        )
        if st.button("Save as a new version (data kept)", key="edit_save"):
            with user_errors():
                problems = space_problems(edited_campaign(spec, text), ctx.table())
                if problems:
                    raise FormulateError("nothing was saved", problems)
                save_version(spec, text)
                done(f"Saved a new version of {spec.name}; the previous one is in versions/.")
