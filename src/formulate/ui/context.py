"""What every page needs: the campaign, its store, its table, who is working."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from formulate.data import Store, campaign_table
from formulate.errors import FormulateError
from formulate.spec.campaign import Campaign


@dataclass
class Context:
    campaign: Campaign
    store: Store
    who: str

    def table(self) -> pd.DataFrame:
        """The campaign now (read fresh: others may have logged meanwhile)."""
        return campaign_table(self.campaign, self.store)


@contextmanager
def user_errors() -> Iterator[None]:
    """Show a user mistake as one message (with every problem), never a traceback."""
    try:
        yield
    except FormulateError as err:
        st.error(err.summary)
        if err.problems:
            st.dataframe(
                pd.DataFrame(
                    [{"where": p.where, "what": p.what, "fix": p.fix} for p in err.problems]
                ),
                hide_index=True,
            )


def unit_of(ctx: Context, prop: str) -> str:
    return ctx.campaign.all_properties()[prop].unit or "-"


Page = Callable[[Context], None]
