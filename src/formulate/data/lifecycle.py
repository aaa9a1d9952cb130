"""A membrane's life after it is made: marked made, measured or failed (a film that did not
form), abandoned (never to be made), and a value retracted. All append-only: the history keeps
what was there before."""

from __future__ import annotations

from formulate.data.cells import suggest
from formulate.data.records import NewMeasurement
from formulate.data.schema import PENDING
from formulate.data.store import Store
from formulate.data.table import campaign_table, space_problems
from formulate.errors import FormulateError, Problem
from formulate.spec.campaign import Campaign, edited_campaign, save_version


def mark(
    campaign: Campaign, store: Store, membrane: str, status: str, note: str = "", who: str = ""
) -> None:
    """Move a membrane along its statuses; ``failed`` (a film that did not form) also records
    ``film_formed`` = 0 with the reason, in the same transaction, so the planner's film model
    learns it exactly as from the virtual lab."""
    if status != "failed":
        store.set_status(campaign.name, membrane, status, note)
        return
    failure = NewMeasurement(
        membrane=membrane,
        property="film_formed",
        value=0.0,
        unit="",
        provenance="measured",
        recorded_by=who,
        note=note,
        source="marked failed",
    )
    store.add(campaign.name, [], [failure], status_updates={membrane: "failed"}, note=note)


def abandon(
    campaign: Campaign,
    store: Store,
    membranes: list[str] | None = None,
    batch: int | None = None,
    note: str = "",
) -> list[str]:
    """Abandon pending or made membranes (named, or every open one of ``batch``) in one
    transaction: they leave the planner's pending set and are kept, marked, in the history.
    Returns the membranes abandoned.

    Raises:
        FormulateError: nothing named, an unknown or finished membrane, a batch with nothing
            open; nothing is changed.
    """
    table = store.membranes(campaign.name)
    chosen = list(membranes or [])
    if batch is not None:
        in_batch = table[(table["batch"] == batch) & table["status"].isin(PENDING)]
        if in_batch.empty:
            raise FormulateError(
                f"nothing was abandoned: batch {batch} has no pending or made membrane",
                [Problem("--batch", str(batch), "see 'formulate status' for open batches")],
            )
        chosen += in_batch["membrane"].tolist()
    if not chosen:
        raise FormulateError(
            "nothing was abandoned",
            [Problem("MEMBRANE", "none named", "name membranes or --batch")],
        )
    store.add(
        campaign.name, status_updates=dict.fromkeys(chosen, "abandoned"), note=note, needs="admin"
    )
    return chosen


def retract(
    campaign: Campaign,
    store: Store,
    membrane: str,
    prop: str,
    temperature_C: float | None = None,
    who: str = "",
    reason: str = "",
) -> float:
    """Withdraw the current value of ``prop`` of ``membrane`` (at ``temperature_C``; default:
    the campaign's reference temperature for a temperature-dependent property); the value
    before it is current again (see :meth:`Store.retract`). Returns the value withdrawn.

    Raises:
        FormulateError: an unknown property or membrane, or no current value; nothing changes.
    """
    props = campaign.all_properties()
    if prop not in props:
        raise FormulateError(
            f"nothing was retracted: unknown property '{prop}'",
            [Problem("PROPERTY", prop, suggest(prop, props))],
        )
    at = campaign.temperature_of(prop, temperature_C)
    return store.retract(campaign.name, membrane, prop, at, who, reason)


def edit_campaign(campaign: Campaign, store: Store, text: str) -> Campaign:
    """Save ``text`` as the campaign file's next version (the current one kept under
    ``versions/``; the records untouched): an admin's write, refused with every problem when
    it would orphan the campaign's records (a level or variable they use, a narrower bound).

    Raises:
        FormulateError: not an admin of the campaign, or the edited file's problems.
    """
    store.transaction(campaign.name, lambda _: None, needs="admin")  # the role, checked first
    problems = space_problems(edited_campaign(campaign, text), campaign_table(campaign, store))
    if problems:
        raise FormulateError("nothing was saved", problems)
    return save_version(campaign, text)
