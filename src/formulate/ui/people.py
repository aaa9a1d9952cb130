"""People and roles in the app: an admin adds accounts and changes roles on the campaign; on a
store without accounts, the person using it may start sharing by creating the first admin."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from formulate.data.access import ROLES
from formulate.data.accounts import accounts, add_account, set_role
from formulate.ui.context import Context, done, show_table, user_errors


def render(ctx: Context) -> None:
    """The sidebar's "People and roles" (admins; or the first account of a store)."""
    if not ctx.can("admin"):
        return
    first = ctx.role is None  # no account yet: one person, no sign-in
    with st.sidebar.expander("Start sharing: your admin account" if first else "People and roles"):
        if first:
            st.caption(
                "Once the store has an account, everyone signs in and each write is checked "
                "against the writer's role. Create your own admin account first."
            )
        else:
            show_table(pd.DataFrame(accounts(ctx.store, ctx.campaign.name)))
        _add(ctx, first)
        if not first:
            _change(ctx)


def _add(ctx: Context, first: bool) -> None:
    with st.form("people_add", clear_on_submit=True):
        name = st.text_input("New account (name)", key="people_name")
        role = "admin" if first else st.selectbox("Role", ROLES, index=1, key="people_role")
        password = st.text_input(
            "Password (at least 10 characters; empty for single sign-on)",
            type="password",
            key="people_password",
        )
        subject = "" if first else st.text_input("Single sign-on subject", key="people_sso")
        if st.form_submit_button("Add"):
            with user_errors():
                add_account(
                    ctx.store,
                    name.strip(),
                    ctx.campaign.name,
                    role,
                    password=password or None,
                    sso_subject=subject.strip() or None,
                )
                done(f"Added {name.strip()} as {role} of {ctx.campaign.name}.")


def _change(ctx: Context) -> None:
    names = [a["account"] for a in accounts(ctx.store, ctx.campaign.name)]
    with st.form("people_role"):
        name = st.selectbox("Whose role", names, key="people_change_name")
        role = st.selectbox("New role", [*ROLES, "none"], key="people_change_role")
        if st.form_submit_button("Change the role"):
            with user_errors():
                set_role(ctx.store, name, ctx.campaign.name, None if role == "none" else role)
                done(f"{name}: {role} on {ctx.campaign.name}.")
