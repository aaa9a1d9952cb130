"""Connecting to a database: the engine for a URL, the URL as people may see it (no password),
and the checks that keep formulate from writing into a damaged or emptied SQLite file."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session

from formulate.data.schema import SCHEMA_VERSION, NewerSchema, migrate
from formulate.errors import FormulateError, Problem

SQLITE_TIMEOUT_S = 30
WRITE = "formulate_write"
"""Execution option of a writing transaction: ``engine.execution_options(**{WRITE: True})``."""


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``: the only form a URL is shown in."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", url)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def open_engine(url: str) -> Engine:
    """An engine for ``url``; a SQLite file must be a healthy database or not exist yet.

    Raises:
        FormulateError: a bad URL or missing driver, an empty or damaged SQLite file.
    """
    path = sqlite_path(url)
    if path is not None:
        refuse_damaged(path)
    try:
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_TIMEOUT_S} if path is not None else {}
        )
    except Exception as err:  # bad URL or missing driver: SQLAlchemy raises several kinds
        raise FormulateError(
            f"cannot open the store at '{redact(url)}'",
            [
                Problem(
                    "database URL",
                    redact(str(err)),
                    "check the URL and that its driver is installed "
                    "(PostgreSQL: pip install 'formulate[postgres]')",
                )
            ],
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        if path is not None and path.exists():
            _quick_check(engine, path)
    return engine


def create_or_upgrade(engine: Engine, url: str) -> None:
    """Create the schema of a new store, or upgrade an older one step by step to
    SCHEMA_VERSION; a store that cannot be opened or is newer says so and how to fix it."""
    shown = redact(url)
    try:
        with engine.begin() as conn:
            migrate(conn)
    except NewerSchema as newer:
        raise FormulateError(
            f"the store at {shown} has schema version {newer.version}, newer than this "
            f"formulate understands ({SCHEMA_VERSION})",
            [Problem(shown, "made by a newer formulate", "upgrade formulate")],
        ) from None
    except DBAPIError as err:
        path = sqlite_path(url)
        if path is not None and not isinstance(err, OperationalError):
            raise damaged(path, str(err.orig)) from None
        raise FormulateError(
            f"cannot open the store at {shown}",
            [Problem(shown, redact(str(err.orig)), "check the path or URL and its permissions")],
        ) from None


def damaged(path: Path, what: str) -> FormulateError:
    """The one message for a store file formulate must not touch."""
    return FormulateError(
        f"the store {path} is damaged ({what}); nothing was read or written",
        [
            Problem(
                str(path),
                what,
                "restore it from a backup (or 'formulate export' from a good copy); to start "
                "the campaign afresh, move the file away and run the command again",
            )
        ],
    )


def refuse_damaged(path: Path) -> None:
    """Refuse a SQLite file that exists but is empty or not a SQLite database: opening it
    would silently start a new store (and seed it) over what was lost."""
    if path.is_symlink():
        _refuse_broken_link(path)
    if not path.exists():
        return
    if not path.is_file():
        raise damaged(path, "not a file")
    size = path.stat().st_size
    if size == 0:
        raise damaged(path, "the file is empty (0 bytes)")
    with path.open("rb") as fh:
        header = fh.read(16)
    if header != b"SQLite format 3\x00":
        raise damaged(path, "not a SQLite database")


def _refuse_broken_link(path: Path) -> None:
    """A store reached through a link must exist: a dangling link would silently create (and
    seed) a new store where the old one was; a loop of links leads nowhere."""
    try:
        path.resolve(strict=True)
    except FileNotFoundError:
        target = os.readlink(path)
        raise FormulateError(
            f"the store {path} is a link to {target}, which does not exist; nothing was created",
            [
                Problem(
                    str(path),
                    f"dangling link to {target}",
                    "restore the file it points to (a moved disk, a renamed folder), or remove "
                    "the link to start the campaign afresh",
                )
            ],
        ) from None
    except (RuntimeError, OSError):  # a loop of links (Python 3.11: RuntimeError)
        raise FormulateError(
            f"the store {path} is a loop of links; nothing was read or written",
            [
                Problem(
                    str(path),
                    "symbolic links that point at each other",
                    "replace the link by the store file",
                )
            ],
        ) from None


def write_failure(url: str, err: DBAPIError) -> FormulateError:
    """The message for a write the database refused (a read-only file, a full disk)."""
    what = redact(str(err.orig)).splitlines()[0]
    low = what.lower()
    if "readonly" in low or "read-only" in low or "permission" in low:
        fix = "make the store file and its folder writable (SQLite writes a journal beside it)"
        return FormulateError(
            f"the store {redact(url)} is read-only; nothing was written",
            [Problem(redact(url), what, fix)],
        )
    if "full" in low or "no space" in low:
        fix = "free space on the disk that holds the store, then run the command again"
        return FormulateError(
            f"the disk holding {redact(url)} is full; nothing was written",
            [Problem(redact(url), what, fix)],
        )
    return FormulateError(
        f"the store {redact(url)} refused the write; nothing was written",
        [
            Problem(
                redact(url), what, "check the store's disk, permissions and server, then try again"
            )
        ],
    )


def _quick_check(engine: Engine, path: Path) -> None:
    """SQLite's own integrity check (pages, indexes) before anything is read or written."""
    try:
        with engine.connect() as conn:
            found = [row[0] for row in conn.execute(text("PRAGMA quick_check"))]
    except OperationalError as err:  # a full disk or a read-only folder: not a damaged file
        raise write_failure(str(path), err) from None
    except DBAPIError as err:
        raise damaged(path, str(err.orig)) from None
    if found != ["ok"]:
        raise damaged(path, "; ".join(found[:3]))


def lock_campaign(session: Session, campaign: str) -> None:
    """Make a writing transaction on PostgreSQL wait for any other one writing ``campaign``
    (a transaction-scoped advisory lock, released at commit or rollback), as SQLite's
    ``BEGIN IMMEDIATE`` does for its whole file: two people logging values of the same
    series at once then write one after the other instead of racing for the series' next
    link (8 writers at once could lose every retry)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.blake2b(campaign.encode(), digest_size=8, person=b"formulate").digest()
    key = int.from_bytes(digest, "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # SQLAlchemy's recipe for real transactions on pysqlite: the driver's own implicit
    # transactions leave DDL (a migration's CREATE TABLE) outside them; "begin" below starts one.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # a write takes SQLite's write lock up front (waiting up to SQLITE_TIMEOUT_S for another
    # writer) instead of failing later when its read snapshot has gone stale
    write = conn.get_execution_options().get(WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
