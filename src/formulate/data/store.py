"""Store: membranes and their measurements in a real database (SQLAlchemy 2).

An embedded SQLite file per campaign by default; any database URL (PostgreSQL for a shared
lab server) by setting. One store may hold several campaigns.

Measurements are append-only: a correction is a new row that *supersedes* the old one, and
nothing is ever overwritten or deleted. The planner, the CLI and the app all go through this
narrow API and never write SQL.
"""

from __future__ import annotations

import copy
import dataclasses
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar, cast

import pandas as pd
from sqlalchemy import String, Table, exists, func, insert, select, type_coerce, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, aliased

from formulate.data.access import Account, require
from formulate.data.database import (
    WRITE,
    create_or_upgrade,
    lock_campaign,
    open_engine,
    redact,
    write_failure,
)
from formulate.data.records import (
    MEASUREMENT_COLUMNS,
    MEMBRANE_COLUMNS,
    NewMeasurement,
    NewMembrane,
    check_records,
    current_ids,
    measurement_row,
    membrane_row,
    same_id,
)
from formulate.data.schema import (
    FILM,
    NEXT_STATUS,
    OPEN,
    STATUSES,
    CampaignRow,
    CellTestRow,
    MeasurementRow,
    MembraneRow,
    MetaRow,
    series_key,
    utcnow,
)
from formulate.errors import FormulateError, Problem
from formulate.spec.properties import BUILTIN_PROPERTIES

RETRIES = 8
"""Attempts of a write that lost a race with another writer (same membrane id, same series)."""
CHUNK = 5_000
"""Rows per executemany (and ids per IN list) of a large write."""
FEW = 500
"""Up to this many membranes, a write reads theirs by id; beyond, the whole campaign's."""
T = TypeVar("T")


_MEMBRANES = cast(Table, MembraneRow.__table__)
_MEASUREMENTS = cast(Table, MeasurementRow.__table__)


class Store:
    """The records of one or more campaigns in one database.

    Args:
        url: SQLAlchemy URL, e.g. ``sqlite:///campaigns/x/formulate.db`` or
            ``postgresql+psycopg://user@host/db``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.shown_url = redact(url)
        self.engine = open_engine(url)
        self.writer = self.engine.execution_options(**{WRITE: True})
        self.actor: Account | None = None
        create_or_upgrade(self.engine, url)

    def acting_as(self, account: Account | None) -> Store:
        """This store (the same connections) with ``account`` as the one who writes: each
        write checks its role (:mod:`formulate.data.accounts`) and records its name."""
        other = copy.copy(self)
        other.actor = account
        return other

    def who(self, typed: str = "") -> str:
        """The name a record carries: the signed-in account's, else what was typed."""
        return self.actor.name if self.actor else typed

    def schema_version(self) -> int:
        with Session(self.engine) as s:
            return int(s.scalar(select(MetaRow.value).where(MetaRow.key == "schema_version")) or 0)

    # --- campaigns -----------------------------------------------------------------------

    def campaigns(self) -> list[str]:
        with Session(self.engine) as s:
            return list(s.scalars(select(CampaignRow.name).order_by(CampaignRow.name)))

    def is_seeded(self, campaign: str) -> bool:
        with Session(self.engine) as s:
            return (row := s.get(CampaignRow, campaign)) is not None and row.seeded_at is not None

    # --- writing -------------------------------------------------------------------------

    def add(
        self,
        campaign: str,
        membranes: Sequence[NewMembrane] = (),
        measurements: Sequence[NewMeasurement] = (),
        mark_seeded: bool = False,
        status_updates: Mapping[str, str] | None = None,
        note: str = "",
        notes: Mapping[str, str] | None = None,
        needs: str = "member",
    ) -> None:
        """Add membranes and measurements, then apply ``status_updates`` ({membrane: status},
        with ``note`` appended to their notes) and append ``notes`` ({membrane: text}), in one
        transaction: all of it, or none.

        A measurement supersedes the current value of its series (the membrane's property at
        that temperature). Logging a value moves a pending, made or abandoned membrane to
        ``measured`` (``film_formed`` 0: to ``failed``), and a proposed one takes the value's
        provenance. A write that races another writer's is retried, so each series keeps
        exactly one current value.

        Raises:
            FormulateError: a record breaks :mod:`formulate.data.validate`, a membrane id
                already exists, or a measurement names an unknown membrane; nothing is written.
        """
        updates, notes = status_updates or {}, notes or {}
        if self.actor is not None:  # the signed-in account, not a typed name
            who = self.actor.name
            membranes = [dataclasses.replace(m, recorded_by=who) for m in membranes]
            measurements = [dataclasses.replace(m, recorded_by=who) for m in measurements]
        texts = [note, *notes.values()]
        problems = check_records(campaign, membranes, measurements, BUILTIN_PROPERTIES, *texts)
        if problems:
            raise FormulateError("nothing was written", problems)

        def write(s: Session) -> None:
            self._ensure_campaign(s, campaign)
            self._insert_membranes(s, campaign, membranes)
            self._insert_measurements(s, campaign, measurements)
            for membrane in dict.fromkeys([*updates, *notes]):
                said = "\n".join(t for t in (note, notes.get(membrane, "")) if t)
                self._set_status(s, campaign, membrane, updates.get(membrane), said)
            if mark_seeded:
                row = s.get(CampaignRow, campaign)
                assert row is not None
                row.seeded_at = utcnow()

        self.transaction(campaign, write, needs=None if mark_seeded else needs)

    def transaction(
        self, campaign: str, write: Callable[[Session], T], needs: str | None = "member"
    ) -> T:
        """Run ``write`` in one transaction (the data layer's writers share it), once the actor
        is found to hold role ``needs`` on ``campaign`` (None: the campaign's seed, written
        when it enters its store); retry it when another writer won a race (a unique id or a
        series' first value saved at the same time, a SQLite file busy)."""
        for attempt in range(RETRIES):
            try:
                with Session(self.writer) as s, s.begin():
                    lock_campaign(s, campaign)
                    if needs is not None:
                        require(s, self.actor, campaign, needs)
                    return write(s)
            except (IntegrityError, OperationalError) as err:
                busy = isinstance(err, OperationalError) and "locked" in str(err.orig)
                if not (isinstance(err, IntegrityError) or busy):
                    raise write_failure(self.url, err) from None
                if attempt == RETRIES - 1:
                    raise FormulateError(
                        "nothing was written: other people were saving the same records at the "
                        f"same time ({RETRIES} tries)",
                        [Problem(campaign, str(err.orig).splitlines()[0], "try again")],
                    ) from None
                time.sleep(random.uniform(0.01, 0.1) * (attempt + 1))
        raise AssertionError("unreachable")

    def _ensure_campaign(self, s: Session, campaign: str) -> None:
        if s.get(CampaignRow, campaign) is None:
            s.add(CampaignRow(name=campaign))
            s.flush()

    def _insert_membranes(
        self, s: Session, campaign: str, membranes: Sequence[NewMembrane]
    ) -> None:
        if not membranes:
            return
        ids = [m.membrane for m in membranes]
        existing = set(
            s.scalars(
                select(MembraneRow.membrane).where(
                    MembraneRow.campaign == campaign, MembraneRow.membrane.in_(ids)
                )
            )
        )
        counts = pd.Series(ids, dtype=object).value_counts()
        dupes = sorted(existing | set(counts[counts > 1].index))
        if dupes:
            raise FormulateError(
                "nothing was written: duplicate membrane ids",
                [
                    Problem(f"membrane {d}", "already in the campaign", "use a new id")
                    for d in dupes
                ],
            )
        now = utcnow()
        for start in range(0, len(membranes), CHUNK):  # executemany in chunks: bounded memory
            rows = [membrane_row(campaign, m, now) for m in membranes[start : start + CHUNK]]
            s.connection().execute(insert(_MEMBRANES), rows)

    def _membrane_ids(self, s: Session, campaign: str, names: set[str]) -> dict[str, int]:
        """``{membrane: row id}`` of the named membranes; every one must exist."""
        query = select(MembraneRow.membrane, MembraneRow.id).where(MembraneRow.campaign == campaign)
        if len(names) <= FEW:
            query = query.where(MembraneRow.membrane.in_(names))
        ids = {m: i for m, i in s.execute(query) if m in names}
        missing = sorted(names - set(ids))
        if missing:
            fix = "add the membrane (its formulation) first"
            unknown = [Problem(f"membrane {m}", "unknown", fix) for m in missing]
            raise FormulateError("nothing was written: membranes not in the campaign", unknown)
        return ids

    def _insert_measurements(
        self, s: Session, campaign: str, measurements: Sequence[NewMeasurement]
    ) -> None:
        if not measurements:
            return
        rows = self._membrane_ids(s, campaign, {m.membrane for m in measurements})
        ids, now = list(rows.values()), utcnow()
        seen: Counter[int] = Counter()  # by hash: a collision only adds a round
        rounds = []  # the k-th value of a series in this write goes in round k
        for m in measurements:
            hashed = hash((rows[m.membrane], series_key(m.property, m.temperature_C)))
            rounds.append(seen[hashed])
            seen[hashed] += 1
        del seen
        conn = s.connection()  # Core from here: executemany in chunks, no ORM objects
        for k in range(max(rounds) + 1):  # round k supersedes what round k - 1 made current
            current = self._currents(s, campaign, ids)
            part = [m for m, r in zip(measurements, rounds, strict=True) if r == k]
            for start in range(0, len(part), CHUNK):
                values = []
                for m in part[start : start + CHUNK]:
                    key = (rows[m.membrane], series_key(m.property, m.temperature_C))
                    values.append(measurement_row(m, key, current.get(key), now))
                conn.execute(insert(_MEASUREMENTS), values)
        members = _MEMBRANES.c
        failed = [rows[m.membrane] for m in measurements if m.property == FILM and m.value == 0]
        for chosen, status, was in ((ids, "measured", OPEN), (failed, "failed", STATUSES)):
            for start in range(0, len(chosen), CHUNK):  # a film that did not form: failed
                conn.execute(
                    update(_MEMBRANES)
                    .where(members.id.in_(chosen[start : start + CHUNK]), members.status.in_(was))
                    .values(status=status, updated_at=now)
                )
        proposed = {rows[m.membrane]: m.provenance for m in measurements}
        for provenance in set(proposed.values()):
            chosen = [i for i, p in proposed.items() if p == provenance]
            for start in range(0, len(chosen), CHUNK):
                conn.execute(
                    update(_MEMBRANES)
                    .where(
                        members.id.in_(chosen[start : start + CHUNK]),
                        members.provenance == "proposed",
                    )
                    .values(provenance=provenance)
                )
        s.expire_all()  # the membranes' rows just changed under the session

    def _currents(
        self, s: Session, campaign: str, membrane_ids: list[int]
    ) -> dict[tuple[int, str], int]:
        """The newest row id of every series of these membranes (of the whole campaign when
        there are many): ``{(membrane_id, series): id}`` (a retraction is a newest row too)."""
        m, later = MeasurementRow, aliased(MeasurementRow)
        query = select(m.membrane_id, m.series, m.id).where(
            ~exists().where(later.supersedes_id == m.id)
        )
        if len(membrane_ids) <= FEW:
            query = query.where(m.membrane_id.in_(membrane_ids))
        else:
            query = query.join(MembraneRow, MembraneRow.id == m.membrane_id).where(
                MembraneRow.campaign == campaign
            )
        return {(i, series): row for i, series, row in s.execute(query)}

    def retract(
        self,
        campaign: str,
        membrane: str,
        prop: str,
        temperature_C: float | None = None,
        who: str = "",
        reason: str = "",
    ) -> float:
        """Withdraw the current value of ``prop`` at ``temperature_C`` (None: not
        temperature-specific), as if it had never been logged: a retraction row (a copy of
        the value withdrawn, marked ``retracted``) joins the end of the series, so the history
        keeps everything and the value before it, if any, is current again. Returns the value
        withdrawn (canonical unit).

        Raises:
            FormulateError: no such membrane, or no current value to retract.
        """
        if problems := check_records(campaign, [], [], {}, reason):
            raise FormulateError("nothing was retracted", problems)

        def write(s: Session) -> float:
            row = self.find_membrane(s, campaign, membrane)
            key = series_key(prop, temperature_C)
            chain = list(
                s.scalars(
                    select(MeasurementRow).where(
                        MeasurementRow.membrane_id == row.id, MeasurementRow.series == key
                    )
                )
            )
            live = current_ids({r.id: (r.supersedes_id, r.retracted) for r in chain})
            if not live:
                at = "" if temperature_C is None else f" at {temperature_C:g} C"
                raise FormulateError(
                    f"nothing was retracted: {membrane} has no current {prop}{at}",
                    [Problem(f"{membrane} {prop}", "no current value", "check the temperature")],
                )
            withdrawn = next(r for r in chain if r.id in live)
            followed = {r.supersedes_id for r in chain}
            leaf = next(r.id for r in chain if r.id not in followed)  # the newest row
            s.add(
                MeasurementRow(
                    membrane_id=row.id,
                    property=prop,
                    value=withdrawn.value,
                    unit=withdrawn.unit,
                    censored=withdrawn.censored,
                    temperature_C=withdrawn.temperature_C,
                    method=withdrawn.method,
                    recorded_by=self.who(who),
                    recorded_at=utcnow(),
                    provenance=withdrawn.provenance,
                    source="retracted",
                    note=reason,
                    supersedes_id=leaf,
                    series=key,
                    retracted=True,
                )
            )
            row.updated_at = utcnow()
            return float(withdrawn.value)

        return self.transaction(campaign, write)

    def set_status(self, campaign: str, membrane: str, status: str, note: str = "") -> None:
        """Move a membrane along pending -> made -> measured, or to failed (a film that did not
        form is a real outcome). A note is appended to the membrane's notes."""
        self.add(campaign, status_updates={membrane: status}, note=note)

    def _set_status(
        self, s: Session, campaign: str, membrane: str, status: str | None, note: str = ""
    ) -> None:
        """Move ``membrane`` to ``status`` (None: keep it) and append ``note`` to its notes."""
        row = self.find_membrane(s, campaign, membrane)
        status = status or row.status
        if status not in STATUSES:
            raise FormulateError(
                f"unknown status '{status}'",
                [Problem("status", status, f"use one of {list(STATUSES)}")],
            )
        if status not in NEXT_STATUS[row.status]:
            raise FormulateError(
                f"membrane {membrane} is {row.status}; it cannot go back to {status}",
                [Problem(membrane, f"{row.status} -> {status}", "log a new membrane for a remake")],
            )
        row.status, row.updated_at = status, utcnow()
        if note:
            row.notes = f"{row.notes}\n{note}".strip()

    def find_membrane(self, s: Session, campaign: str, membrane: str) -> MembraneRow:
        row = s.scalars(
            select(MembraneRow).where(
                MembraneRow.campaign == campaign, MembraneRow.membrane == same_id(membrane)
            )
        ).first()
        if row is None:
            known = list(
                s.scalars(
                    select(MembraneRow.membrane).where(MembraneRow.campaign == campaign).limit(8)
                )
            )
            raise FormulateError(
                f"no membrane '{membrane}' in campaign {campaign}",
                [Problem(membrane, "unknown membrane", f"use an existing id, e.g. {known}")],
            )
        return row

    def data_version(self, campaign: str) -> str:
        """A short text that changes with every write to the campaign's records (membranes
        added or moved along, measurements logged, cells started or stopped): a cache key for
        views."""
        queries = [
            select(func.count(MembraneRow.id), func.max(MembraneRow.updated_at)),
            select(func.count(MeasurementRow.id), func.max(MeasurementRow.id)).join(
                MembraneRow, MembraneRow.id == MeasurementRow.membrane_id
            ),
            select(func.count(CellTestRow.id), func.max(CellTestRow.stopped_at)).join(
                MembraneRow, MembraneRow.id == CellTestRow.membrane_id
            ),
        ]
        with Session(self.engine) as s:
            parts = [s.execute(q.where(MembraneRow.campaign == campaign)).one() for q in queries]
        return ":".join(f"{count}:{last}" for count, last in parts)

    def next_batch(self, campaign: str) -> int:
        """The number the next batch of proposals gets (1 for the first)."""
        with Session(self.engine) as s:
            top = s.scalar(
                select(func.max(MembraneRow.batch)).where(MembraneRow.campaign == campaign)
            )
            return int(top or 0) + 1

    # --- reading -------------------------------------------------------------------------

    def membranes(self, campaign: str) -> pd.DataFrame:
        """One row per membrane: id, status, batch, provenance, source, assumed, notes,
        timestamps, who added it, and one column per formulation variable (None: inactive)."""
        c = _MEMBRANES.c
        meta = [c.membrane, c.status, c.batch, c.provenance, c.source, c.assumed, c.notes]
        times = (type_coerce(c.created_at, String), type_coerce(c.updated_at, String))
        query = select(*meta, *times, c.recorded_by, c.formulation).where(c.campaign == campaign)
        with self.engine.connect() as conn:  # rows, not ORM objects: 100,000 in about a second
            rows = list(map(tuple, conn.execute(query.order_by(c.id))))
        frame = pd.DataFrame([r[:-1] for r in rows], columns=list(MEMBRANE_COLUMNS))
        frame["assumed"] = [";".join(a) for a in frame["assumed"]]
        frame["batch"] = pd.to_numeric(frame["batch"])  # NaN where none, as from records
        for col in ("created_at", "updated_at"):  # parsed at once, not row by row
            frame[col] = pd.to_datetime(frame[col], format="ISO8601")
        return pd.concat([frame, pd.DataFrame.from_records([r[-1] for r in rows])], axis=1)

    def measurements(self, campaign: str, history: bool = False) -> pd.DataFrame:
        """Measurements in long form, one row each. Only current values unless ``history``
        (see :func:`current_ids`); with ``history``, ``superseded`` marks rows a later row
        followed, ``retracted`` the rows that withdrew a value and ``current`` the values in
        force."""
        m = _MEASUREMENTS.c
        query = (
            select(
                *(m.id, _MEMBRANES.c.membrane, m.property, m.value, m.unit, m.censored),
                *(m.temperature_C, m.method, m.recorded_by, m.recorded_at, m.provenance),
                *(m.source, m.note, m.supersedes_id, m.retracted),
            )
            .join(_MEMBRANES, _MEMBRANES.c.id == m.membrane_id)
            .where(_MEMBRANES.c.campaign == campaign)
            .order_by(m.id)
        )
        with self.engine.connect() as conn:  # plain tuples: pandas probes Row objects slowly
            rows = list(map(tuple, conn.execute(query)))
        columns = [c for c in MEASUREMENT_COLUMNS[:-1] if c != "superseded"]
        frame = pd.DataFrame(rows, columns=columns)
        frame.insert(14, "superseded", frame["id"].isin(frame["supersedes"].dropna()))
        for flag in ("censored", "retracted"):
            frame[flag] = frame[flag].astype(bool)
        if frame["retracted"].any():  # walk each series back past its retractions
            links = zip(frame["id"], frame["supersedes"], frame["retracted"], strict=True)
            live = current_ids({i: (None if pd.isna(p) else int(p), r) for i, p, r in links})
            frame["current"] = frame["id"].isin(live)
        else:  # no retraction: the newest value of each series is current
            frame["current"] = ~frame["superseded"]
        if history:
            return frame
        return frame[frame["current"]].drop(columns=["superseded", "retracted", "current"])
