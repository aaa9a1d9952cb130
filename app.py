"""formulate's Streamlit app: plan membranes, log outcomes, watch the campaign.

Run with ``streamlit run app.py`` from the folder that holds ``campaigns/``. Thin: every
number comes from the formulate package, the same functions the CLI uses.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from formulate.errors import FormulateError
from formulate.spec.campaign import CAMPAIGN_FILE, load_campaign
from formulate.ui import backtests, cycler, data, insights, log, plan
from formulate.ui import campaign as campaign_page
from formulate.ui.context import Context, plain, show_done, store_of
from formulate.ui.login import REQUIRED_ENV, account_for

st.set_page_config(page_title="formulate", layout="wide")
st.title("formulate: plan composite solid-electrolyte membranes")

root = Path("campaigns")
names = sorted(p.parent.name for p in root.glob(f"*/{CAMPAIGN_FILE}"))
if not names:
    if os.environ.get(REQUIRED_ENV) != "required":  # a shared server: campaigns made there
        campaign_page.create(root)
    st.info(
        f"No campaigns under {root.resolve()}. Create one in the sidebar, or run "
        "`formulate init NAME`."
    )
    st.stop()
name = campaign_page.chosen(names)
try:
    campaign = load_campaign(root / name)
    store = store_of(campaign)
except FormulateError as err:
    st.error(plain(err.message()))
    st.stop()
account, role = account_for(store, campaign.name)  # the sign-in form alone until signed in
if account is None:
    who = st.sidebar.text_input("Your name (recorded with what you log)", key="who")
    ctx = Context(campaign, store, who)
else:
    ctx = Context(campaign, store.acting_as(account), account.name, role)
if ctx.can("admin"):
    campaign_page.create(root, ctx)
show_done()
st.header(campaign.title or campaign.name)
st.caption(campaign.description)
campaign_page.describe_and_edit(ctx)

pages = {
    "Data": data.render,
    "Log outcomes": log.render,
    "Plan": plan.render,
    "Cycler": cycler.render,
    "Insights": insights.render,
    "Backtests": backtests.render,
}
# keyed: the open tab stays open when the page reruns after a write; only the open tab runs
# (a button's rerun does not redraw Insights' plots or the cycler's ranking)
tabs = st.tabs(list(pages), key="page", on_change="rerun")
for tab, render in zip(tabs, pages.values(), strict=True):
    if tab.open:
        with tab:
            render(ctx)
