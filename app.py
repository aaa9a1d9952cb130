"""formulate's Streamlit app: plan membranes, log outcomes, watch the campaign.

Run with ``streamlit run app.py`` from the folder that holds ``campaigns/`` (this machine
only; a lab server is ``formulate serve``). The pages are :mod:`formulate.ui.app`.
"""

from formulate.ui.app import run

run()
