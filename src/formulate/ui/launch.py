"""The script ``formulate serve`` hands to Streamlit (the same app as the checkout's app.py)."""

from formulate.ui.app import run

run()
