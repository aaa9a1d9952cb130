"""Shared fixtures: a fresh copy of the paper's campaign with its own SQLite store."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from formulate.campaign import Campaign, load_campaign
from formulate.dataio import open_store
from formulate.store import Store

TEMPLATE = Path(str(resources.files("formulate") / "templates" / "cheng2023"))
SHARED_FACTS = Path(__file__).resolve().parents[2] / "shared" / "paper" / "cheng2023_facts.csv"


@pytest.fixture
def campaign_dir(tmp_path: Path) -> Path:
    target = tmp_path / "campaigns" / "cheng2023"
    shutil.copytree(TEMPLATE, target, ignore=shutil.ignore_patterns("*.db*"))
    return target


@pytest.fixture
def campaign(campaign_dir: Path) -> Campaign:
    return load_campaign(campaign_dir)


@pytest.fixture
def store(campaign: Campaign, tmp_path: Path) -> Store:
    return open_store(campaign, f"sqlite:///{tmp_path / 'test.db'}")


def formulation(**overrides: object) -> dict[str, object]:
    """A valid cheng2023 formulation (CPCSE's), with overrides."""
    base: dict[str, object] = {
        "filler": "cluster_chain",
        "filler_wt_pct": 2.5,
        "polymer": "PEO",
        "solvent": "THF_DCM",
        "thf_fraction": 0.5,
        "eo_li_ratio": 16.0,
    }
    base.update(overrides)
    return base


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new database on the PostgreSQL server
    that ``tests/with_postgres.sh`` starts (skipped when there is none)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    server = os.environ.get("FORMULATE_TEST_PG_URL")
    if not server:
        pytest.skip("no PostgreSQL server (run the tests through tests/with_postgres.sh)")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    base, _, query = server.partition("?")
    yield f"{base.rsplit('/', 1)[0]}/{name}?{query}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()
