"""The store's schema: a file written by a released version opens through the migration path
with every record intact; migrations run in order inside one transaction."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from formulate.data import SCHEMA_VERSION, Store
from formulate.data.schema import migrate

ASSETS = Path(__file__).parent / "assets"


@pytest.mark.parametrize("version", [1])
def test_a_store_written_by_a_released_version_opens_intact(tmp_path: Path, version: int) -> None:
    """``store-v<N>.db``: the cheng2023 campaign seeded by schema version N, a t+ of CPCSE
    logged by ana then corrected (0.6 -> 0.62), CNCSE marked measured with a note."""
    path = tmp_path / "old.db"
    shutil.copy(ASSETS / f"store-v{version}.db", path)
    store = Store(f"sqlite:///{path}")
    assert store.schema_version() == SCHEMA_VERSION
    assert store.campaigns() == ["cheng2023"]
    members = store.membranes("cheng2023").set_index("membrane")
    assert sorted(members.index) == ["CNCSE", "CPCSE", "PPSE"]
    assert members.loc["CNCSE", "notes"].endswith("checked")
    history = store.measurements("cheng2023", history=True)
    tp = history[(history["membrane"] == "CPCSE") & (history["property"] == "transference_number")]
    assert tp["value"].tolist() == [0.62, 0.6, 0.62]  # stated, logged, corrected
    assert tp["superseded"].tolist() == [True, True, False]
    assert tp["recorded_by"].tolist()[1:] == ["ana", "ana"]
    current = store.measurements("cheng2023")
    assert len(current) == len(history) - 2


def test_migrations_run_in_order_and_bump_the_version(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    engine = Store(url).engine
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE formulate_meta SET value='{SCHEMA_VERSION - 1}'"))
    ran: list[int] = []

    def step(conn) -> None:  # a migration adds a table, as a real one would
        conn.execute(text("CREATE TABLE added_by_migration (x INTEGER)"))
        ran.append(SCHEMA_VERSION - 1)

    with engine.begin() as conn:
        assert migrate(conn, {SCHEMA_VERSION - 1: step}) == SCHEMA_VERSION - 1
    assert ran == [SCHEMA_VERSION - 1]
    with engine.begin() as conn:
        assert conn.execute(text("SELECT value FROM formulate_meta")).scalar() == str(
            SCHEMA_VERSION
        )
        conn.execute(text("SELECT count(*) FROM added_by_migration"))

    def broken(conn) -> None:
        conn.execute(text("CREATE TABLE half_done (x INTEGER)"))
        raise RuntimeError("migration failed")

    with engine.begin() as conn:
        conn.execute(text(f"UPDATE formulate_meta SET value='{SCHEMA_VERSION - 1}'"))
    with pytest.raises(RuntimeError), engine.begin() as conn:
        migrate(conn, {SCHEMA_VERSION - 1: broken})
    with engine.begin() as conn:  # all or nothing: the version and the tables are as before
        version = conn.execute(text("SELECT value FROM formulate_meta")).scalar()
        assert version == str(SCHEMA_VERSION - 1)
        tables = conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).scalars()
        assert "half_done" not in set(tables)
    engine.dispose()
