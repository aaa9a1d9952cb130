"""Store: membranes and their measurements in a real database (SQLAlchemy 2).

An embedded SQLite file per campaign by default; any database URL (PostgreSQL for a shared
lab server) by setting. One store may hold several campaigns.

Measurements are append-only: a correction is a new row that *supersedes* the old one, and
nothing is ever overwritten or deleted. The planner, the CLI and the app all go through this
narrow API and never write SQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from formulate.data.schema import (
    SCHEMA_VERSION,
    STATUSES,
    CampaignRow,
    MeasurementRow,
    MembraneRow,
    MetaRow,
    NewerSchema,
    migrate,
    utcnow,
)
from formulate.errors import FormulateError, Problem
from formulate.spec.space import is_missing

_NEXT_STATUS = {
    "pending": {"pending", "made", "measured", "failed"},
    "made": {"made", "measured", "failed"},
    "measured": {"measured", "failed"},
    "failed": {"failed"},
}


@dataclass(frozen=True)
class NewMembrane:
    """A membrane to add. ``formulation`` maps every variable to its value (None: inactive)."""

    membrane: str
    formulation: dict[str, Any]
    provenance: str
    status: str = "pending"
    batch: int | None = None
    source: str = ""
    assumed: tuple[str, ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class NewMeasurement:
    """A measured value, already in the property's canonical ``unit``.

    ``censored``: the value is a lower bound (e.g. life of a cell still running, in h).
    ``temperature_C``: measurement temperature in C (None: not temperature-specific).
    """

    membrane: str
    property: str
    value: float
    unit: str
    provenance: str
    censored: bool = False
    temperature_C: float | None = None
    method: str = ""
    recorded_by: str = ""
    source: str = ""
    note: str = ""
    recorded_at: datetime | None = None


class Store:
    """The records of one or more campaigns in one database.

    Args:
        url: SQLAlchemy URL, e.g. ``sqlite:///campaigns/x/formulate.db`` or
            ``postgresql+psycopg://user@host/db``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
        try:
            self.engine = create_engine(url, connect_args=connect_args)
        except Exception as err:  # bad URL or missing driver
            raise FormulateError(
                f"cannot open the store at '{url}'",
                [
                    Problem(
                        "database URL",
                        str(err),
                        "check the URL and that its driver is installed "
                        "(PostgreSQL: pip install 'formulate[postgres]')",
                    )
                ],
            ) from None
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._migrate()

    # --- schema --------------------------------------------------------------------------

    def _migrate(self) -> None:
        """Create the schema, or upgrade an older store step by step to SCHEMA_VERSION."""
        try:
            with self.engine.begin() as conn:
                migrate(conn)
        except NewerSchema as newer:
            raise FormulateError(
                f"the store at {self.url} has schema version {newer.version}, newer than this "
                f"formulate understands ({SCHEMA_VERSION})",
                [Problem(self.url, "made by a newer formulate", "upgrade formulate")],
            ) from None
        except OperationalError as err:
            raise FormulateError(
                f"cannot open the store at {self.url}",
                [Problem(self.url, str(err.orig), "check the path or URL and its permissions")],
            ) from None

    def schema_version(self) -> int:
        with Session(self.engine) as s:
            return int(s.scalar(select(MetaRow.value).where(MetaRow.key == "schema_version")) or 0)

    # --- campaigns -----------------------------------------------------------------------

    def campaigns(self) -> list[str]:
        with Session(self.engine) as s:
            return list(s.scalars(select(CampaignRow.name).order_by(CampaignRow.name)))

    def is_seeded(self, campaign: str) -> bool:
        with Session(self.engine) as s:
            row = s.get(CampaignRow, campaign)
            return row is not None and row.seeded_at is not None

    # --- writing -------------------------------------------------------------------------

    def add(
        self,
        campaign: str,
        membranes: Sequence[NewMembrane] = (),
        measurements: Sequence[NewMeasurement] = (),
        mark_seeded: bool = False,
        status_updates: Mapping[str, str] | None = None,
        note: str = "",
    ) -> None:
        """Add membranes and measurements, then apply ``status_updates`` ({membrane: status},
        with ``note`` appended to their notes), in one transaction: all of it, or none.

        A measurement of a property already measured for that membrane at that temperature
        supersedes the current one. Logging a measurement moves a pending or made membrane to
        ``measured``.

        Raises:
            FormulateError: a membrane id already exists, or a measurement names an unknown
                membrane; nothing is written.
        """
        try:
            with Session(self.engine) as s, s.begin():
                self._ensure_campaign(s, campaign)
                self._insert_membranes(s, campaign, membranes)
                self._insert_measurements(s, campaign, measurements)
                for membrane, status in (status_updates or {}).items():
                    self._set_status(s, campaign, membrane, status, note)
                if mark_seeded:
                    row = s.get(CampaignRow, campaign)
                    assert row is not None
                    row.seeded_at = utcnow()
        except IntegrityError as err:
            raise FormulateError(
                "nothing was written: another record with the same id was saved at the same time",
                [Problem(campaign, str(err.orig).splitlines()[0], "reload and try again")],
            ) from None

    def _ensure_campaign(self, s: Session, campaign: str) -> None:
        if s.get(CampaignRow, campaign) is None:
            s.add(CampaignRow(name=campaign))
            s.flush()

    def _insert_membranes(
        self, s: Session, campaign: str, membranes: Sequence[NewMembrane]
    ) -> None:
        ids = [m.membrane for m in membranes]
        existing = set(
            s.scalars(
                select(MembraneRow.membrane).where(
                    MembraneRow.campaign == campaign, MembraneRow.membrane.in_(ids)
                )
            )
        )
        dupes = sorted(existing | {i for i in ids if ids.count(i) > 1})
        if dupes:
            raise FormulateError(
                "nothing was written: duplicate membrane ids",
                [
                    Problem(f"membrane {d}", "already in the campaign", "use a new id")
                    for d in dupes
                ],
            )
        now = utcnow()
        for m in membranes:
            if m.status not in STATUSES:
                raise FormulateError(
                    f"unknown status '{m.status}'",
                    [Problem(m.membrane, "bad status", f"use one of {STATUSES}")],
                )
            s.add(
                MembraneRow(
                    campaign=campaign,
                    membrane=m.membrane,
                    formulation=_jsonable(m.formulation),
                    status=m.status,
                    batch=m.batch,
                    provenance=m.provenance,
                    source=m.source,
                    assumed=list(m.assumed),
                    notes=m.notes,
                    created_at=now,
                    updated_at=now,
                )
            )
        s.flush()

    def _insert_measurements(
        self, s: Session, campaign: str, measurements: Sequence[NewMeasurement]
    ) -> None:
        names = {m.membrane for m in measurements}
        rows = {
            r.membrane: r
            for r in s.scalars(
                select(MembraneRow).where(
                    MembraneRow.campaign == campaign, MembraneRow.membrane.in_(names)
                )
            )
        }
        missing = sorted(names - set(rows))
        if missing:
            raise FormulateError(
                "nothing was written: measurements for membranes not in the campaign",
                [
                    Problem(f"membrane {m}", "unknown", "add the membrane (its formulation) first")
                    for m in missing
                ],
            )
        now = utcnow()
        for m in measurements:
            row = rows[m.membrane]
            current = self._current(s, row.id, m.property, m.temperature_C)
            s.add(
                MeasurementRow(
                    membrane_id=row.id,
                    property=m.property,
                    value=float(m.value),
                    unit=m.unit,
                    censored=bool(m.censored),
                    temperature_C=m.temperature_C,
                    method=m.method,
                    recorded_by=m.recorded_by,
                    recorded_at=m.recorded_at or now,
                    provenance=m.provenance,
                    source=m.source,
                    note=m.note,
                    supersedes_id=current.id if current else None,
                )
            )
            s.flush()
            if row.status in ("pending", "made"):
                row.status, row.updated_at = "measured", now

    def _current(
        self, s: Session, membrane_id: int, prop: str, temperature_C: float | None
    ) -> MeasurementRow | None:
        superseded = select(MeasurementRow.supersedes_id).where(
            MeasurementRow.supersedes_id.is_not(None)
        )
        query = select(MeasurementRow).where(
            MeasurementRow.membrane_id == membrane_id,
            MeasurementRow.property == prop,
            MeasurementRow.id.not_in(superseded),
        )
        query = query.where(
            MeasurementRow.temperature_C.is_(None)
            if temperature_C is None
            else func.abs(MeasurementRow.temperature_C - temperature_C) < 1e-6
        )
        return s.scalars(query.order_by(MeasurementRow.id.desc())).first()

    def set_status(self, campaign: str, membrane: str, status: str, note: str = "") -> None:
        """Move a membrane along pending -> made -> measured, or to failed (a film that did not
        form is a real outcome). A note is appended to the membrane's notes."""
        with Session(self.engine) as s, s.begin():
            self._set_status(s, campaign, membrane, status, note)

    def _set_status(
        self, s: Session, campaign: str, membrane: str, status: str, note: str = ""
    ) -> None:
        if status not in STATUSES:
            raise FormulateError(
                f"unknown status '{status}'",
                [Problem("status", status, f"use one of {list(STATUSES)}")],
            )
        row = self._membrane(s, campaign, membrane)
        if status not in _NEXT_STATUS[row.status]:
            raise FormulateError(
                f"membrane {membrane} is {row.status}; it cannot go back to {status}",
                [Problem(membrane, f"{row.status} -> {status}", "log a new membrane for a remake")],
            )
        row.status, row.updated_at = status, utcnow()
        if note:
            row.notes = f"{row.notes}\n{note}".strip()

    def _membrane(self, s: Session, campaign: str, membrane: str) -> MembraneRow:
        row = s.scalars(
            select(MembraneRow).where(
                MembraneRow.campaign == campaign, MembraneRow.membrane == membrane
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
        added or moved along, measurements logged): a cache key for views."""
        with Session(self.engine) as s:
            members = s.execute(
                select(func.count(MembraneRow.id), func.max(MembraneRow.updated_at)).where(
                    MembraneRow.campaign == campaign
                )
            ).one()
            logged = s.execute(
                select(func.count(MeasurementRow.id), func.max(MeasurementRow.id))
                .join(MembraneRow, MembraneRow.id == MeasurementRow.membrane_id)
                .where(MembraneRow.campaign == campaign)
            ).one()
        return f"{members[0]}:{members[1]}:{logged[0]}:{logged[1]}"

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
        timestamps, and one column per formulation variable (None where inactive)."""
        with Session(self.engine) as s:
            rows = list(
                s.scalars(
                    select(MembraneRow)
                    .where(MembraneRow.campaign == campaign)
                    .order_by(MembraneRow.id)
                )
            )
        records = [
            {
                "membrane": r.membrane,
                "status": r.status,
                "batch": r.batch,
                "provenance": r.provenance,
                "source": r.source,
                "assumed": ";".join(r.assumed),
                "notes": r.notes,
                "created_at": r.created_at,
                "updated_at": r.updated_at,
                **r.formulation,
            }
            for r in rows
        ]
        columns = [
            "membrane",
            "status",
            "batch",
            "provenance",
            "source",
            "assumed",
            "notes",
            "created_at",
            "updated_at",
        ]
        return pd.DataFrame.from_records(records, columns=None if records else columns)

    def measurements(self, campaign: str, history: bool = False) -> pd.DataFrame:
        """Measurements in long form, one row each. Only current values unless ``history``;
        with ``history`` a ``superseded`` column marks the replaced ones."""
        with Session(self.engine) as s:
            superseded = set(
                s.scalars(
                    select(MeasurementRow.supersedes_id).where(
                        MeasurementRow.supersedes_id.is_not(None)
                    )
                )
            )
            q = (
                select(MeasurementRow, MembraneRow.membrane)
                .join(MembraneRow, MembraneRow.id == MeasurementRow.membrane_id)
                .where(MembraneRow.campaign == campaign)
                .order_by(MeasurementRow.id)
            )
            rows = s.execute(q).all()
        records = []
        for m, membrane in rows:
            if m.id in superseded and not history:
                continue
            records.append(
                {
                    "id": m.id,
                    "membrane": membrane,
                    "property": m.property,
                    "value": m.value,
                    "unit": m.unit,
                    "censored": m.censored,
                    "temperature_C": m.temperature_C,
                    "method": m.method,
                    "recorded_by": m.recorded_by,
                    "recorded_at": m.recorded_at,
                    "provenance": m.provenance,
                    "source": m.source,
                    "note": m.note,
                    "supersedes": m.supersedes_id,
                    "superseded": m.id in superseded,
                }
            )
        cols = [
            "id",
            "membrane",
            "property",
            "value",
            "unit",
            "censored",
            "temperature_C",
            "method",
            "recorded_by",
            "recorded_at",
            "provenance",
            "source",
            "note",
            "supersedes",
            "superseded",
        ]
        frame = pd.DataFrame.from_records(records, columns=cols)
        return frame if history else frame.drop(columns="superseded")


def _jsonable(formulation: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON values: floats and strings, None (not NaN) for inactive variables."""
    out: dict[str, Any] = {}
    for k, v in formulation.items():
        if is_missing(v):
            out[k] = None
        elif isinstance(v, str):
            out[k] = v
        else:
            out[k] = float(v)
    json.dumps(out)
    return out


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # SQLAlchemy's recipe for real transactions on pysqlite: the driver's own implicit
    # transactions leave DDL (a migration's CREATE TABLE) outside them; "begin" below starts one.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")
