"""The campaign itself in the app: create one (blank by default), read it in plain words, edit
its variables, levels, bounds and objectives as a new version with the data kept."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from formulate.data.lifecycle import edit_campaign
from formulate.report.summary import describe
from formulate.spec.campaign import (
    BLANK_TEMPLATE,
    CAMPAIGN_FILE,
    Campaign,
    init_campaign,
)
from formulate.spec.priors import prior_entry
from formulate.ui.context import Context, done, user_errors

TEMPLATES = {
    BLANK_TEMPLATE: "blank: your own space, no data",
    "cheng2023": "cheng2023: the paper's campaign with its stated membranes",
}


_OPEN_NEXT = "_open_campaign"


def chosen(names: list[str]) -> str:
    """The sidebar's campaign selector (a campaign just created is selected)."""
    if (new := st.session_state.pop(_OPEN_NEXT, None)) in names:
        st.session_state["campaign"] = new  # before the widget exists: allowed
    return str(st.sidebar.selectbox("Campaign", names, key="campaign"))


def create(root: Path, ctx: Context | None = None) -> None:
    """The sidebar's "New campaign": a name and a template; the new campaign opens. On a store
    with accounts (``ctx.role`` set) the one who creates it is its first admin."""
    with st.sidebar.expander("New campaign"):
        name = st.text_input("Name", key="new_name")
        template = st.selectbox(
            "Start from", list(TEMPLATES), format_func=lambda t: TEMPLATES[t], key="new_template"
        )
        if st.button("Create", key="new_create"):
            with user_errors():
                made = init_campaign(name, str(template), root)
                if ctx is not None and ctx.role is not None:
                    _first_admin(ctx, made)
                st.session_state[_OPEN_NEXT] = name  # open what was just created
                done(f"Created campaign {name} from template {template}")


def _first_admin(ctx: Context, made: Campaign) -> None:
    """The signed-in creator becomes admin of the new campaign where it shares their store (a
    lab-wide ``FORMULATE_DB_URL``); a campaign with a store of its own starts without accounts."""
    from formulate.data.accounts import set_role

    if made.store_url() == ctx.campaign.store_url():
        set_role(ctx.store, ctx.who, made.name, "admin")


def describe_and_edit(ctx: Context) -> None:
    """The campaign in plain words, and its file to edit: saved as a new version (the old one
    kept under versions/) only when valid; every problem listed otherwise."""
    spec = ctx.campaign
    with st.expander("Design space and objectives: read or edit"):
        st.text("\n".join(describe(spec)))
        file = spec.folder / CAMPAIGN_FILE
        if not ctx.can("admin"):
            st.code(file.read_text(encoding="utf-8"), language="toml")
            st.caption("Admins of the campaign edit its design space.")
            return
        text = st.text_area(
            f"{file.name} (variables, levels, bounds, objectives; comments say what each key "
            "means)",
            file.read_text(encoding="utf-8"),
            height=420,
            key=f"edit_{spec.name}",
        )
        if st.button("Save as a new version (data kept)", key="edit_save"):
            with user_errors():
                edit_campaign(spec, ctx.store, text)
                done(f"Saved a new version of {spec.name}; the previous one is in versions/.")
    if ctx.can("admin"):
        _add_prior(ctx)


def _add_prior(ctx: Context) -> None:
    """Pick an earlier campaign as a prior source (a ``[[prior]]`` entry added to the file,
    saved as a new version): the models then learn how far it carries."""
    spec = ctx.campaign
    others = sorted(
        p.parent.name
        for p in spec.folder.parent.glob(f"*/{CAMPAIGN_FILE}")
        if p.parent.resolve() != spec.folder.resolve()
    )
    with st.expander("Learn from an earlier campaign (prior knowledge)"):
        if not others:
            st.caption(
                "No other campaign beside this one. A table of past experiments is a "
                "[[prior]] entry with table = 'FILE.csv' in the file above."
            )
            return
        earlier = st.selectbox("Earlier campaign", others, key="prior_campaign")
        differs = st.text_input(
            "What was different there (a temperature, a polymer, a salt, a lab)",
            key="prior_differs",
        )
        trust = st.slider(
            "How well do you expect it to predict this campaign? (prior correlation; the data "
            "update it)",
            0.05,
            0.95,
            0.6,
            0.05,
            key="prior_trust",
        )
        if st.button("Add as a prior source", key="prior_add"):
            with user_errors():
                file = spec.folder / CAMPAIGN_FILE
                entry = prior_entry(f"../{earlier}", differs, trust)
                edit_campaign(spec, ctx.store, file.read_text(encoding="utf-8") + entry)
                done(f"{spec.name} now learns from {earlier}; the previous file is in versions/.")
