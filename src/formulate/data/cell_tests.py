"""Cells on instruments: a membrane's cell started on a channel to measure one property.

A test is *running* from its start, *stopped* when a person takes the cell off, and *finished*
once a value of its property is logged for the membrane after the start (the cell shorted at
820 h, the conductivity was read). Nobody types "still running at N h": while a cell runs, or
once stopped, a censorable property (a cycling life) is known to exceed its running time, and
the campaign's table says so (:func:`with_running_bounds`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from formulate.data.schema import CampaignRow, CellTestRow, MembraneRow, utcnow
from formulate.data.store import Store
from formulate.errors import FormulateError, Problem
from formulate.spec.campaign import Campaign
from formulate.units import convert

STATES = ("running", "stopped", "finished")
COLUMNS = ("membrane", "property", "channel", "started_at", "stopped_at", "state", "hours")
_OPEN_STATUSES = ("pending", "made", "measured")
BACKDATE = timedelta(days=365)
"""How long before the campaign entered its store a recorded start or stop may be: a lab
that adopts formulate records the cells already running (none runs for years)."""
MIN_BOUND_H = 1.0
"""A cell that has run less than this tells nothing yet (a bound of 0 h is no value)."""


def start_test(
    campaign: Campaign,
    store: Store,
    membrane: str,
    prop: str,
    channel: str = "",
    at: datetime | None = None,
    by: str = "",
) -> None:
    """Record that a cell of ``membrane`` went on an instrument to measure ``prop`` (a pending
    membrane becomes made: its cell exists).

    Raises:
        FormulateError: an unknown property or membrane, a failed or abandoned membrane, one
            already on test for ``prop``, a busy channel, or every instrument in use.
    """
    known = campaign.all_properties()
    if prop not in known:
        raise FormulateError(
            f"unknown property '{prop}'",
            [Problem("--property", prop, f"use one of {sorted(known)}")],
        )
    when = _when(at, _created(store, campaign.name))
    running = cell_tests(campaign, store, when)
    running = running[(running["state"] == "running") & (running["property"] == prop)]
    problems = _start_problems(campaign, running, membrane, prop, channel)
    if problems:
        raise FormulateError(f"cannot start a {prop} test of {membrane}", problems)

    def write(s: Session) -> None:
        row = store.find_membrane(s, campaign.name, membrane)
        if row.status not in _OPEN_STATUSES:
            raise FormulateError(
                f"membrane {membrane} is {row.status}",
                [Problem(membrane, f"{row.status}: no cell can be built", "choose another")],
            )
        if row.status == "pending":
            row.status, row.updated_at = "made", utcnow()
        s.add(
            CellTestRow(
                membrane_id=row.id, property=prop, channel=channel, started_at=when,
                recorded_by=store.who(by),
            )
        )  # fmt: skip

    store.transaction(campaign.name, write)


def _start_problems(
    campaign: Campaign, running: pd.DataFrame, membrane: str, prop: str, channel: str
) -> list[Problem]:
    problems = []
    mine = running[running["membrane"] == membrane]
    if len(mine):
        since = mine["started_at"].iloc[0]
        problems.append(
            Problem(membrane, f"on test for {prop} since {since:%Y-%m-%d %H:%M}", "stop it first")
        )
    if channel and (running["channel"] == channel).any():
        busy = running.loc[running["channel"] == channel, "membrane"].iloc[0]
        problems.append(Problem(f"channel {channel}", f"runs {busy}", "choose a free channel"))
    limit = campaign.measurement(prop).instruments
    if len(running) >= limit:
        problems.append(
            Problem(
                prop,
                f"all {limit} instrument(s) in use",
                f"stop a test, or raise [measurements.{prop}] instruments in the campaign",
            )
        )
    return problems


def stop_test(
    campaign: Campaign, store: Store, membrane: str, prop: str, at: datetime | None = None
) -> float:
    """Record that the running ``prop`` test of ``membrane`` was taken off its instrument;
    returns how long it ran, in hours (a censorable value is then known to exceed it).

    Raises:
        FormulateError: no such test running, or ``at`` before its start or in the future.
    """
    when = _when(at, _created(store, campaign.name))

    def write(s: Session) -> float:
        row = store.find_membrane(s, campaign.name, membrane)
        test = s.scalars(
            select(CellTestRow).where(
                CellTestRow.membrane_id == row.id,
                CellTestRow.property == prop,
                CellTestRow.stopped_at.is_(None),
            )
        ).first()
        if test is None:
            raise FormulateError(
                f"no {prop} test of {membrane} is running",
                [Problem(membrane, "not on test", "see 'formulate test list'")],
            )
        started = _aware(test.started_at)
        if when < started:
            raise FormulateError(
                f"cannot stop the test of {membrane} before it started",
                [
                    Problem(
                        "--at",
                        f"{when:%Y-%m-%d %H:%M}",
                        f"use a time after {started:%Y-%m-%d %H:%M}",
                    )
                ],
            )
        test.stopped_at = when
        return (when - started).total_seconds() / 3600.0

    return store.transaction(campaign.name, write)


def cell_tests(
    campaign: Campaign,
    store: Store,
    now: datetime | None = None,
    values: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every cell test of the campaign, oldest first, with its state and ``hours`` run (to
    ``now`` while running, to its stop, or to the value's logging when finished). ``values``:
    the campaign's current measurements, when the caller has read them already."""
    now = _aware(now or utcnow())
    with Session(store.engine) as s:
        rows = s.execute(
            select(CellTestRow, MembraneRow.membrane)
            .join(MembraneRow, MembraneRow.id == CellTestRow.membrane_id)
            .where(MembraneRow.campaign == campaign.name)
            .order_by(CellTestRow.id)
        ).all()
    if not rows:
        return pd.DataFrame(columns=list(COLUMNS))
    values = store.measurements(campaign.name) if values is None else values
    records = []
    for test, membrane in rows:
        started = _aware(test.started_at)
        logged = values[
            (values["membrane"] == membrane)
            & (values["property"] == test.property)
            & (pd.to_datetime(values["recorded_at"], utc=True) >= started)
            & ~values["censored"].astype(bool)
        ]
        end = _aware(test.stopped_at) if test.stopped_at else None
        state = "stopped" if end else "running"
        if len(logged):
            state, end = "finished", min(end or now, _aware(logged["recorded_at"].iloc[-1]))
        hours = ((end or now) - started).total_seconds() / 3600.0
        records.append(
            {"membrane": membrane, "property": test.property, "channel": test.channel,
             "started_at": started, "stopped_at": test.stopped_at, "state": state,
             "hours": max(hours, 0.0)}
        )  # fmt: skip
    return pd.DataFrame(records, columns=list(COLUMNS))


def with_running_bounds(
    campaign: Campaign, table: pd.DataFrame, tests: pd.DataFrame
) -> pd.DataFrame:
    """``table`` with each running or stopped test of a censorable property as what it shows:
    the value exceeds the hours run (censored), unless a larger bound or a value was logged.
    Hours are converted to the property's unit."""
    out = table.copy()
    props = campaign.all_properties()
    open_tests = tests[tests["state"].isin(("running", "stopped"))]
    for test in open_tests.itertuples():
        prop = str(test.property)
        if prop not in campaign.censorable() or float(test.hours) < MIN_BOUND_H:
            continue
        flag = f"{prop}_censored"
        if prop not in out:
            out[prop], out[flag] = np.nan, False
        rows = out.index[out["membrane"] == test.membrane]
        bound = convert(float(test.hours), "h", props[prop].unit or "h")
        for i in rows:
            value, censored = out.at[i, prop], bool(out.at[i, flag])
            if pd.isna(value) or (censored and float(value) < bound):
                out.at[i, prop], out.at[i, flag] = bound, True
    return out


def _when(at: datetime | None, since: datetime | None = None) -> datetime:
    """When a start or stop happened: ``at`` (a time zone assumed UTC), default now; never
    in the future (a record says what was done) nor more than :data:`BACKDATE` before
    ``since`` (when the campaign entered its store: cells already running then are recorded
    with their real start; a year 0001 is a typo).

    Raises:
        FormulateError: ``at`` is later than now or too early.
    """
    now = utcnow()
    when = _aware(at or now)
    if when > now + timedelta(minutes=5):
        raise FormulateError(
            f"{when:%Y-%m-%d %H:%M} UTC is in the future",
            [Problem("--at", f"{when:%Y-%m-%d %H:%M}", "record a start or stop once it happened")],
        )
    if since is not None and when < _aware(since) - BACKDATE:
        raise FormulateError(
            f"{when:%Y-%m-%d %H:%M} UTC is more than a year before the campaign entered its "
            f"store ({_aware(since):%Y-%m-%d} UTC)",
            [
                Problem(
                    "--at",
                    f"{when:%Y-%m-%d %H:%M}",
                    "check the date; for a cell started before the campaign, log its hours so "
                    "far as a lower bound (formulate log CAMPAIGN MEMBRANE li_symmetric_life "
                    "'>800 h')",
                )
            ],
        )
    return when


def _created(store: Store, campaign: str) -> datetime | None:
    """When ``campaign`` entered ``store`` (None: not yet)."""
    with Session(store.engine) as s:
        row = s.get(CampaignRow, campaign)
        return None if row is None else row.created_at


def _aware(when: datetime) -> datetime:
    """A datetime with a time zone (naive ones, as SQLite returns them, are UTC)."""
    return when if when.tzinfo else when.replace(tzinfo=UTC)
