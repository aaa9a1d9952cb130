"""The store's schema: tables as SQLAlchemy ORM rows, the schema version and its migrations.

``SCHEMA_VERSION`` is written into every store. Opening a store upgrades an older one step by
step (``MIGRATIONS[v]`` takes version v to v + 1) inside one transaction, and refuses one made
by a newer formulate. Every schema change adds a migration, bumps the version and adds a store
file of the old version to ``tests/assets`` for the upgrade test.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 4
STATUSES = ("pending", "made", "measured", "failed", "abandoned")
PENDING = ("pending", "made")
"""Statuses of a membrane still to be measured: the planner's pending set; the ones that can
be abandoned."""
NEXT_STATUS = {
    "pending": {"pending", "made", "measured", "failed", "abandoned"},
    "made": {"made", "measured", "failed", "abandoned"},
    "measured": {"measured", "failed"},
    "failed": {"failed"},
    "abandoned": {"abandoned"},
}
"""The statuses a membrane may move to from each status (a remake is a new membrane)."""
OPEN = (*PENDING, "abandoned")
"""Statuses a logged value moves to ``measured`` (a late result for an abandoned membrane
is still a result)."""
FILM = "film_formed"
"""The property whose 0 says a film did not form: logging it moves the membrane to failed."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class MetaRow(Base):
    __tablename__ = "formulate_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class CampaignRow(Base):
    __tablename__ = "campaigns"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    seeded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class MembraneRow(Base):
    __tablename__ = "membranes"
    __table_args__ = (UniqueConstraint("campaign", "membrane", name="uq_campaign_membrane"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign: Mapped[str] = mapped_column(ForeignKey("campaigns.name"), index=True)
    membrane: Mapped[str] = mapped_column(String(200))
    formulation: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    batch: Mapped[int | None] = mapped_column(Integer, nullable=True)
    provenance: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text, default="")
    assumed: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(200), default="")


@lru_cache(maxsize=4096)  # one string per series name, however many values share it
def series_key(prop: str, temperature_C: float | None) -> str:
    """The series a value belongs to: its property at its temperature (to 0.001 C). Each
    series has one current value; a new value supersedes it."""
    return prop if temperature_C is None else f"{prop}@{round(temperature_C, 3):g}"


_FIRST_OF_SERIES = "supersedes_id IS NULL"


class MeasurementRow(Base):
    """One value, never changed: a correction or a retraction is a new row that supersedes
    the current one (``retracted``: the series has no current value since)."""

    __tablename__ = "measurements"
    __table_args__ = (
        # at most one first value per series: with ``supersedes_id`` unique, every series is
        # one chain, so it has exactly one current value whatever writers race
        Index(
            "uq_first_of_series",
            "membrane_id",
            "series",
            unique=True,
            sqlite_where=text(_FIRST_OF_SERIES),  # PostgreSQL's: _on_postgresql
        ),
        Index("ix_series", "membrane_id", "series"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    membrane_id: Mapped[int] = mapped_column(ForeignKey("membranes.id"), index=True)
    property: Mapped[str] = mapped_column(String(100))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    censored: Mapped[bool] = mapped_column(Boolean, default=False)
    temperature_C: Mapped[float | None] = mapped_column(Float, nullable=True)
    method: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(200), default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    provenance: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("measurements.id"), nullable=True, unique=True
    )
    series: Mapped[str] = mapped_column(String(160), default="")
    retracted: Mapped[bool] = mapped_column(Boolean, default=False)


class CellTestRow(Base):
    """A cell built from a membrane and put on an instrument to measure one property (a Li|Li
    cell on a cycler channel): started on a date, stopped by a person, or finished when its
    value is logged. While it runs, a censorable property is known to exceed its running time."""

    __tablename__ = "cell_tests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    membrane_id: Mapped[int] = mapped_column(ForeignKey("membranes.id"), index=True)
    property: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(100), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class AccountRow(Base):
    """A person who signs in: a password (argon2 hash, never the password) for a local account,
    or the subject the institution's OpenID Connect provider gives (single sign-on)."""

    __tablename__ = "accounts"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    sso_subject: Mapped[str | None] = mapped_column(String(400), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")


class RoleRow(Base):
    """An account's role on one campaign: viewer, member or admin."""

    __tablename__ = "roles"
    campaign: Mapped[str] = mapped_column(String(200), primary_key=True)
    account: Mapped[str] = mapped_column(ForeignKey("accounts.name"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    granted_by: Mapped[str] = mapped_column(String(200), default="")
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TokenRow(Base):
    """A command-line token of an account (its SHA-256, never the token), until it expires."""

    __tablename__ = "tokens"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(ForeignKey("accounts.name"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginRow(Base):
    """One sign-in attempt (failed ones throttle the next)."""

    __tablename__ = "logins"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)


Migration = Callable[[Connection], None]


def _v1_to_v2(conn: Connection) -> None:
    """Version 2: each value names its series, retractions, one current value per series.

    A version-1 store written by racing writers may hold two first values of one series; the
    later one is chained after the earlier (it supersedes its current value), as a later
    write would have.
    """
    conn.execute(
        text("ALTER TABLE measurements ADD COLUMN series VARCHAR(160) NOT NULL DEFAULT ''")
    )
    conn.execute(
        text("ALTER TABLE measurements ADD COLUMN retracted BOOLEAN NOT NULL DEFAULT FALSE")
    )
    table = cast(Table, MeasurementRow.__table__)
    rows = conn.execute(
        select(
            table.c.id,
            table.c.membrane_id,
            table.c.property,
            table.c.temperature_C,
            table.c.supersedes_id,
        ).order_by(table.c.id)
    ).all()
    successor = {r.supersedes_id: r.id for r in rows if r.supersedes_id is not None}
    firsts: dict[tuple[int, str], list[int]] = {}
    for r in rows:
        key = series_key(r.property, r.temperature_C)
        conn.execute(update(table).where(table.c.id == r.id).values(series=key))
        if r.supersedes_id is None:
            firsts.setdefault((r.membrane_id, key), []).append(r.id)
    for chain in firsts.values():
        for earlier, later in itertools.pairwise(chain):
            last = earlier
            while last in successor:
                last = successor[last]
            conn.execute(update(table).where(table.c.id == later).values(supersedes_id=last))
            successor[last] = later
    for index in table.indexes:
        if index.name in ("uq_first_of_series", "ix_series"):
            index.create(conn)


def _v2_to_v3(conn: Connection) -> None:
    """Version 3: cells on instruments (``cell_tests``), a new table that ``create_all`` makes
    before the migrations run; nothing in the older tables changes."""


def _v3_to_v4(conn: Connection) -> None:
    """Version 4: accounts, their roles per campaign, tokens and sign-in attempts (new tables
    that ``create_all`` makes; a store without accounts is used as before, with no login), and
    who added each membrane (``recorded_by``; "" for the membranes before)."""
    conn.execute(
        text("ALTER TABLE membranes ADD COLUMN recorded_by VARCHAR(200) NOT NULL DEFAULT ''")
    )


MIGRATIONS: dict[int, Migration] = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4}
"""``MIGRATIONS[v]`` upgrades a store at version v to v + 1. Version 1 is the first released
schema; add a function here (and bump SCHEMA_VERSION) for every change."""


class NewerSchema(Exception):
    """The store was written by a newer formulate (``version`` > SCHEMA_VERSION)."""

    def __init__(self, version: int) -> None:
        self.version = version
        super().__init__(f"schema version {version} > {SCHEMA_VERSION}")


def _on_postgresql() -> None:
    """The partial unique index's condition in PostgreSQL's own terms, given when a
    PostgreSQL store is first opened: naming it in the table's definition would load
    SQLAlchemy's PostgreSQL dialect (0.06 s with a warm disk cache, 0.2 s cold) in every
    process, SQLite stores' too."""
    table = cast(Table, MeasurementRow.__table__)
    index = next(i for i in table.indexes if i.name == "uq_first_of_series")
    index.dialect_kwargs["postgresql_where"] = text(_FIRST_OF_SERIES)


def migrate(conn: Connection, migrations: dict[int, Migration] | None = None) -> int | None:
    """Create the tables of a new store, or upgrade an older one to SCHEMA_VERSION, on an
    open transaction. Returns the version the store had (None for a new one).

    Raises:
        NewerSchema: the store is newer than this formulate.
    """
    steps = MIGRATIONS if migrations is None else migrations
    if conn.dialect.name == "postgresql":
        _on_postgresql()
    Base.metadata.create_all(conn)
    row = conn.execute(select(MetaRow.value).where(MetaRow.key == "schema_version")).scalar()
    if row is None:
        conn.execute(insert(MetaRow).values(key="schema_version", value=str(SCHEMA_VERSION)))
        return None
    version = int(row)
    if version > SCHEMA_VERSION:
        raise NewerSchema(version)
    if version == SCHEMA_VERSION:
        return version  # nothing to write: a reader never takes the write lock
    for step in range(version, SCHEMA_VERSION):
        steps[step](conn)
    conn.execute(
        update(MetaRow).where(MetaRow.key == "schema_version").values(value=str(SCHEMA_VERSION))
    )
    return version
