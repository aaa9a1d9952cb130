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
from formulate.data.accounts import expired, has_accounts, role_of, sign_in, sso_account
from formulate.data.schema import utcnow
from formulate.errors import FormulateError
from formulate.ui.context import plain

HOURS_ENV = "FORMULATE_SESSION_HOURS"
"""How long a sign-in lasts, in hours (default :data:`SESSION_HOURS`; ``formulate serve``
sets it from its settings)."""
SESSION_HOURS = 8.0
REQUIRED_ENV = "FORMULATE_LOGIN"
"""Set to ``required`` (``formulate serve`` does) to ask for sign-in even before any account."""
SSO_ENV = "FORMULATE_SSO"
"""Set to ``1`` (``formulate serve`` with ``sso = true``) to offer single sign-on through the
OpenID Connect provider in ``.streamlit/secrets.toml`` ``[auth]`` (Streamlit's ``st.login``)."""
_KEY = "_signed_in"


def session_hours() -> float:
    return float(os.environ.get(HOURS_ENV) or SESSION_HOURS)


def login_required(store: Store) -> bool:
    return has_accounts(store) or os.environ.get(REQUIRED_ENV) == "required"


def account_for(store: Store, campaign: str) -> tuple[Account | None, str | None]:
    """Who uses the app and their role on ``campaign``: ``(None, None)`` for a store without
    accounts (one person, no login). Otherwise the signed-in account, after the sign-in form
    when there is none (the page stops there: nothing else is drawn)."""
    if not login_required(store):
        return None, None
    signed: tuple[str, str, datetime] | None = st.session_state.get(_KEY)
    if signed is not None and expired(signed[2], session_hours()):
        _sign_out(signed, f"Your session ended after {session_hours():g} hours: sign in again.")
        signed = None
    if signed is None and _sso() and st.user.is_logged_in:
        signed = _from_provider(store)
    if signed is None:
        _form(store)
        st.stop()
    account = Account(signed[0], signed[1])
    role = role_of(store, account.name, campaign)
    with st.sidebar:
        st.caption(f"Signed in as **{plain(account.name)}** ({role or 'no role here'})")
        if st.button("Sign out", key="sign_out"):
            _sign_out(signed)
            st.rerun()
    if role is None:
        st.error(
            plain(f"{account.name} has no role on campaign {campaign}: ask one of its admins.")
        )
        st.stop()
    return account, role


def _sso() -> bool:
    return os.environ.get(SSO_ENV) == "1"


def _sign_out(signed: tuple[str, str, datetime], why: str = "") -> None:
    """End the session here (and the provider's cookie for single sign-on)."""
    st.session_state.pop(_KEY, None)
    if why:
        st.info(why)
    if signed[1] == "sso" and st.user.is_logged_in:
        st.logout()


def _from_provider(store: Store) -> tuple[str, str, datetime] | None:
    """The account of the person the OpenID Connect provider signed in (by its subject)."""
    subject = str(st.user.get("sub", ""))
    account = sso_account(store, subject)
    if account is None:
        st.error(
            plain(
                f"The provider signed you in as {subject}, and no account here has that "
                f"subject. Ask an admin: formulate users add CAMPAIGN NAME --sso {subject}"
            )
        )
        st.button("Sign out of the provider", key="sso_out", on_click=st.logout)
        st.stop()
    signed = (account.name, account.how, utcnow())
    st.session_state[_KEY] = signed
    return signed


def _form(store: Store) -> None:
    if not has_accounts(store):
        st.error(
            "This server asks everyone to sign in, and its store has no account yet. On the "
            "server: `formulate users add CAMPAIGN NAME --role admin` creates the first."
        )
        return
    st.subheader("Sign in")
    if _sso():
        st.button("Sign in with your institution", key="sso_in", on_click=st.login)
    with st.form("sign_in"):
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
