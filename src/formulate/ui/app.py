"""The app's script: every page of formulate's Streamlit app, drawn for one rerun.

``streamlit run app.py`` (the checkout's launcher) and ``formulate serve`` (this package's
:mod:`formulate.ui.launch`) both call :func:`run` on every rerun. Thin: every number comes from
the formulate package, the same functions the CLI uses.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from formulate.data import Store
from formulate.errors import FormulateError
from formulate.spec.campaign import CAMPAIGN_FILE, Campaign, load_campaign
from formulate.ui import backtests, cycler, data, insights, log, people, plan
from formulate.ui import campaign as campaign_page
from formulate.ui.context import Context, plain, show_done, store_of
from formulate.ui.login import REQUIRED_ENV, account_for

# Streamlit sweeps every generation after each rerun (``gc.collect(2)``, its option
# ``runner.postScriptGC``), and the page waits for the sweep: with torch, BoTorch and pandas
# loaded (some 350,000 objects) it took 0.2 s of every click. Those objects live as long as
# the server, so they are set aside once, here (``gc.freeze``); each sweep then looks only at
# what the reruns made since.
gc.collect()
gc.freeze()

PAGES: dict[str, Callable[[Context], None]] = {
    "Data": data.render,
    "Log outcomes": log.render,
    "Plan": plan.render,
    "Cycler": cycler.render,
    "Insights": insights.render,
    "Backtests": backtests.render,
}


def run() -> None:
    """Draw the app: the campaign chosen in the sidebar, the sign-in where its store has
    accounts, then the open tab."""
    st.set_page_config(page_title="formulate", layout="wide")
    st.title("formulate: plan composite solid-electrolyte membranes")
    root = Path("campaigns")
    ctx = _context(root, *_chosen_campaign(root))
    show_done()
    st.header(ctx.campaign.title or ctx.campaign.name)
    st.caption(ctx.campaign.description)
    campaign_page.describe_and_edit(ctx)
    # keyed: the open tab stays open when the page reruns after a write; only the open tab
    # runs (a button's rerun does not redraw Insights' plots or the cycler's ranking)
    tabs = st.tabs(list(PAGES), key="page", on_change="rerun")
    for tab, render in zip(tabs, PAGES.values(), strict=True):
        if tab.open:
            with tab:
                render(ctx)


def _chosen_campaign(root: Path) -> tuple[Campaign, Store]:
    """The campaign chosen in the sidebar and its store (the page stops with what to do when
    there is none, or when it cannot be opened)."""
    names = sorted(p.parent.name for p in root.glob(f"*/{CAMPAIGN_FILE}"))
    if not names:
        if os.environ.get(REQUIRED_ENV) != "required":  # a shared server: campaigns made there
            campaign_page.create(root)
        st.info(
            f"No campaigns under {root.resolve()}. Create one in the sidebar, or run "
            "`formulate init NAME`."
        )
        st.stop()
    try:
        campaign = load_campaign(root / campaign_page.chosen(names))
        return campaign, store_of(campaign)
    except FormulateError as err:
        st.error(plain(err.message()))
        st.stop()


def _context(root: Path, campaign: Campaign, store: Store) -> Context:
    """Who works on the campaign: the signed-in account and its role on a store with accounts
    (the sign-in form alone until then), else the name typed in the sidebar."""
    account, role = account_for(store, campaign.name)
    if account is None:
        who = st.sidebar.text_input("Your name (recorded with what you log)", key="who")
        ctx = Context(campaign, store, who)
    else:
        ctx = Context(campaign, store.acting_as(account), account.name, role)
    if ctx.can("admin"):
        campaign_page.create(root, ctx)
    people.render(ctx)
    return ctx
