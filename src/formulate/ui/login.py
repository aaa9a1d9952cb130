"""Sign-in for a shared campaign: a store with accounts (or a server started to require them)
shows only this form until someone signs in; sessions end after :data:`SESSION_HOURS`.

The check of what each role may do is not here but in the store's writes
(:mod:`formulate.data.access`); the pages only hide the controls a role cannot use.
"""

from __future__ import annotations

import os
from datetime import datetime

import streamlit as st

from formulate.data import Store
from formulate.data.access import Account
from formulate.data.accounts import expired, has_accounts, role_of, sign_in
from formulate.data.schema import utcnow
from formulate.errors import FormulateError
from formulate.ui.context import plain

SESSION_HOURS = float(os.environ.get("FORMULATE_SESSION_HOURS", "8"))
"""How long a sign-in lasts (hours; ``$FORMULATE_SESSION_HOURS``)."""
REQUIRED_ENV = "FORMULATE_LOGIN"
"""Set to ``required`` (``formulate serve`` does) to ask for sign-in even before any account."""
_KEY = "_signed_in"


def login_required(store: Store) -> bool:
    return has_accounts(store) or os.environ.get(REQUIRED_ENV) == "required"


def account_for(store: Store, campaign: str) -> tuple[Account | None, str | None]:
    """Who uses the app and their role on ``campaign``: ``(None, None)`` for a store without
    accounts (one person, no login). Otherwise the signed-in account, after the sign-in form
    when there is none (the page stops there: nothing else is drawn)."""
    if not login_required(store):
        return None, None
    signed: tuple[str, str, datetime] | None = st.session_state.get(_KEY)
    if signed is not None and expired(signed[2], SESSION_HOURS):
        del st.session_state[_KEY]
        st.info(f"Your session ended after {SESSION_HOURS:g} hours: sign in again.")
        signed = None
    if signed is None:
        _form(store)
        st.stop()
    account = Account(signed[0], signed[1])
    role = role_of(store, account.name, campaign)
    with st.sidebar:
        st.caption(f"Signed in as **{plain(account.name)}** ({role or 'no role here'})")
        if st.button("Sign out", key="sign_out"):
            del st.session_state[_KEY]
            st.rerun()
    if role is None:
        st.error(
            plain(f"{account.name} has no role on campaign {campaign}: ask one of its admins.")
        )
        st.stop()
    return account, role


def _form(store: Store) -> None:
    if not has_accounts(store):
        st.error(
            "This server asks everyone to sign in, and its store has no account yet. On the "
            "server: `formulate users add CAMPAIGN NAME --role admin` creates the first."
        )
        return
    with st.form("sign_in"):
        st.subheader("Sign in")
        name = st.text_input("Account", key="login_name")
        password = st.text_input("Password", type="password", key="login_password")
        if st.form_submit_button("Sign in"):
            try:
                account = sign_in(store, name.strip(), password)
            except FormulateError as err:
                st.error(plain(err.message()))
                return
            st.session_state[_KEY] = (account.name, account.how, utcnow())
            st.rerun()
