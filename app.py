"""formulate's Streamlit app: plan membranes, log outcomes, watch the campaign.

Run with ``streamlit run app.py`` from the folder that holds ``campaigns/``. Thin: every
number comes from the formulate package, the same functions the CLI uses.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from formulate.errors import FormulateError
from formulate.spec.campaign import CAMPAIGN_FILE, init_campaign, load_campaign
from formulate.ui import backtests, data, insights, log, plan
from formulate.ui.context import Context, done, plain, show_done, store_of, user_errors

st.set_page_config(page_title="formulate", layout="wide")
st.title("formulate: plan composite solid-electrolyte membranes")

root = Path("campaigns")
with st.sidebar.expander("New campaign from a template"):
    new_name = st.text_input("Name", key="new_name")
    if st.button("Create", key="new_create"):
        with user_errors():
            init_campaign(new_name, "cheng2023", root)
            st.session_state["campaign"] = new_name  # open what was just created
            done(f"Created campaign {new_name}")
names = sorted(p.parent.name for p in root.glob(f"*/{CAMPAIGN_FILE}"))
if not names:
    st.info(
        f"No campaigns under {root.resolve()}. Create one in the sidebar, or run "
        "`formulate init NAME`."
    )
    st.stop()
name = st.sidebar.selectbox("Campaign", names, key="campaign")
who = st.sidebar.text_input("Your name (recorded with what you log)", key="who")
try:
    campaign = load_campaign(root / name)
    store = store_of(campaign)
except FormulateError as err:
    st.error(plain(err.message()))
    st.stop()

ctx = Context(campaign, store, who)
show_done()
st.header(campaign.title or campaign.name)
st.caption(campaign.description)
with st.expander("Design space and objectives in plain words"):
    st.text("\n".join(campaign.describe()))

pages = {
    "Data": data.render,
    "Log outcomes": log.render,
    "Plan": plan.render,
    "Insights": insights.render,
    "Backtests": backtests.render,
}
# keyed: the open tab stays open when the page reruns after a write
for tab, render in zip(st.tabs(list(pages), key="page"), pages.values(), strict=True):
    with tab:
        render(ctx)
