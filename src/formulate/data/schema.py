"""The store's schema: tables as SQLAlchemy ORM rows, the schema version and its migrations.

``SCHEMA_VERSION`` is written into every store. Opening a store upgrades an older one step by
step (``MIGRATIONS[v]`` takes version v to v + 1) inside one transaction, and refuses one made
by a newer formulate. Every schema change adds a migration, bumps the version and adds a store
file of the old version to ``tests/assets`` for the upgrade test.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 1
STATUSES = ("pending", "made", "measured", "failed")


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


class MeasurementRow(Base):
    __tablename__ = "measurements"
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


Migration = Callable[[Connection], None]

MIGRATIONS: dict[int, Migration] = {}
"""``MIGRATIONS[v]`` upgrades a store at version v to v + 1. Version 1 is the first released
schema; add a function here (and bump SCHEMA_VERSION) for every change."""


class NewerSchema(Exception):
    """The store was written by a newer formulate (``version`` > SCHEMA_VERSION)."""

    def __init__(self, version: int) -> None:
        self.version = version
        super().__init__(f"schema version {version} > {SCHEMA_VERSION}")


def migrate(conn: Connection, migrations: dict[int, Migration] | None = None) -> int:
    """Create the tables of a new store, or upgrade an older one to SCHEMA_VERSION, on an
    open transaction. Returns the version the store had (``SCHEMA_VERSION`` for a new one).

    Raises:
        NewerSchema: the store is newer than this formulate.
    """
    steps = MIGRATIONS if migrations is None else migrations
    Base.metadata.create_all(conn)
    row = conn.execute(select(MetaRow.value).where(MetaRow.key == "schema_version")).scalar()
    if row is None:
        conn.execute(insert(MetaRow).values(key="schema_version", value=str(SCHEMA_VERSION)))
        return SCHEMA_VERSION
    version = int(row)
    if version > SCHEMA_VERSION:
        raise NewerSchema(version)
    for step in range(version, SCHEMA_VERSION):
        steps[step](conn)
    conn.execute(
        update(MetaRow).where(MetaRow.key == "schema_version").values(value=str(SCHEMA_VERSION))
    )
    return version
