"""What every page needs: the campaign, its store, its table, who is working."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from formulate.api import OpenCampaign
from formulate.data import Store, campaign_table, open_store
from formulate.data.access import ROLES
from formulate.errors import FormulateError
from formulate.spec.campaign import Campaign, load_campaign
from formulate.units import significant

T = TypeVar("T")


@dataclass
class Context:
    """A page's campaign, its store (acting as the signed-in account, if any), the name
    records carry, and that account's role (None: a store without accounts, one person)."""

    campaign: Campaign
    store: Store
    who: str
    role: str | None = None

    def can(self, needs: str) -> bool:
        """Whether the role allows what needs ``needs`` (pages hide what it does not; the
        store refuses it anyway)."""
        return self.role is None or ROLES.index(self.role) >= ROLES.index(needs)

    def table(self) -> pd.DataFrame:
        """The campaign now (read fresh: others may have logged meanwhile)."""
        return campaign_table(self.campaign, self.store)

    def api(self) -> OpenCampaign:
        """The campaign as the Python API opens it: the app writes and proposes through it,
        so the app, the CLI and a notebook obey the same functions."""
        return OpenCampaign(self.campaign, self.store)

    def version(self) -> str:
        """What the campaign's records look like now (changes with every write)."""
        return self.store.data_version(self.campaign.name)


def viewer_note(ctx: Context, what: str) -> str:
    """What a viewer reads where the controls they cannot use would be."""
    return (
        f"You are a {ctx.role} of {ctx.campaign.name}: you can read and download. Members "
        f"{what}; ask one of the campaign's admins for the role."
    )


def store_of(campaign: Campaign) -> Store:
    """The campaign's store, opened (checked, migrated, seeded) once per server and URL, not
    on every rerun: the integrity check of a 100 MB SQLite file alone takes 0.2 s."""
    return _open(str(campaign.folder), campaign.store_url())


@st.cache_resource(show_spinner=False, max_entries=16)
def _open(folder: str, url: str) -> Store:
    return open_store(load_campaign(folder), url)


_CACHE_SIZE = 32
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: str) -> str:
    """``text`` as written, for Streamlit's markdown messages: every markdown character
    escaped (ids such as ``M[/]`` or ``*x*``, emoji codes, LaTeX dollars)."""
    return _MARKDOWN.sub(r"\\\1", text)


def cached(ctx: Context, what: str, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` computed once per campaign, data version and ``what`` (a plot's settings)
    in this server: changing a plot or opening another tab does not recompute the others, and
    any write (from this page or another person's) starts afresh."""
    store: dict[tuple[str, str, str], Any] = st.session_state.setdefault("_computed", {})
    key = (str(ctx.campaign.folder), ctx.version(), what)
    if key not in store:
        if len(store) >= _CACHE_SIZE:
            store.pop(next(iter(store)))
        store[key] = fn(*args)
    return store[key]


_DONE = "_done_message"


def done(message: str) -> None:
    """After a write: rerun the page so that the open tab is drawn from the store as it is now
    (tabs drawn before the write would otherwise show what was there before), and show
    ``message`` at the top of that run (see :func:`show_done`)."""
    st.session_state[_DONE] = message
    st.rerun()


def show_done() -> None:
    """The message of the write that caused this run, once."""
    message = st.session_state.pop(_DONE, None)
    if message:
        st.success(plain(message))


@contextmanager
def user_errors() -> Iterator[None]:
    """Show a user mistake as one message (with every problem), never a traceback."""
    try:
        yield
    except FormulateError as err:
        st.error(plain(err.summary))
        if err.problems:
            st.dataframe(
                pd.DataFrame(
                    [{"where": p.where, "what": p.what, "fix": p.fix} for p in err.problems]
                ),
                hide_index=True,
            )


def show_table(frame: pd.DataFrame) -> None:
    """``frame`` as a table people read: numbers to three significant digits, empty cells
    blank (not a grey "None")."""
    out = frame.copy()
    for col in out.columns:
        if out[col].isna().any() or out[col].dtype == float:
            out[col] = ["" if _missing(v) else significant(v) for v in out[col]]
    st.dataframe(out, hide_index=True)


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str | list | tuple) and bool(pd.isna(value)))


def unit_of(ctx: Context, prop: str) -> str:
    """The unit ``prop`` is shown and typed in (mS/cm for conductivity); "-" for none."""
    return ctx.campaign.display_unit(prop) or "-"


Page = Callable[[Context], None]
