"""formulate's Streamlit app: pick a campaign and see its design space, data and objectives.

Run with ``streamlit run app.py``. Thin: every number comes from the formulate package.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from formulate.campaign import CAMPAIGN_FILE, load_campaign
from formulate.dataio import campaign_table, open_store
from formulate.errors import FormulateError
from formulate.summary import objective_summary, status_counts

st.set_page_config(page_title="formulate", layout="wide")
st.title("formulate: plan composite solid-electrolyte membranes")

root = Path(st.session_state.get("campaigns_root", "campaigns"))
names = sorted(p.parent.name for p in root.glob(f"*/{CAMPAIGN_FILE}"))
if not names:
    st.info(f"No campaigns under {root}/. Create one with `formulate init NAME`.")
    st.stop()
name = st.sidebar.selectbox("Campaign", names)
try:
    campaign = load_campaign(root / name)
    store = open_store(campaign)
except FormulateError as err:
    st.error(err.message())
    st.stop()

st.header(campaign.title or campaign.name)
st.caption(campaign.description)
with st.expander("Design space and objectives", expanded=False):
    st.text("\n".join(campaign.describe()))

table = campaign_table(campaign, store)
counts = status_counts(table)
cols = st.columns(len(counts))
for col, (status, n) in zip(cols, counts.items(), strict=True):
    col.metric(status, n)

st.subheader("Objectives")
st.dataframe(objective_summary(campaign, table), hide_index=True)
st.subheader("Membranes")
st.caption(
    "Conductivity in S/cm, life in h (a *_censored* flag marks a cell still running); "
    "provenance says where each membrane comes from (stated = the paper's text)."
)
st.dataframe(table, hide_index=True)
