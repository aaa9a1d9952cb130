"""Shared fixtures: a fresh copy of the paper's campaign with its own SQLite store, a database
on each store (SQLite, PostgreSQL), and hypothesis's settings. Helpers live in
:mod:`formulate.testing`, not here."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text

from formulate.data import Store, open_store
from formulate.spec.campaign import Campaign, load_campaign
from formulate.testing import TEMPLATE, synthetic_pool

# Property tests are part of CI: the same examples every run (a random test that can fail on an
# unchanged tree blocks everyone).
settings.register_profile("formulate", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("formulate")


@pytest.fixture
def campaign_dir(tmp_path: Path) -> Path:
    target = tmp_path / "campaigns" / "cheng2023"
    shutil.copytree(TEMPLATE, target, ignore=shutil.ignore_patterns("*.db*"))
    return target


@pytest.fixture
def campaign(campaign_dir: Path) -> Campaign:
    return load_campaign(campaign_dir)


@pytest.fixture
def plain_polymer(campaign_dir: Path) -> Campaign:
    """The template campaign with its polymers named only (no descriptors): beside its numeric
    variables a categorical on BoTorch's categorical kernel (one-hot columns in ``onehot``)."""
    toml = campaign_dir / "campaign.toml"
    lines = toml.read_text().splitlines()
    at = [i for i, line in enumerate(lines) if line.startswith("levels.P")]
    plain = "levels = { PEO = {}, PVDF_HFP = {}, PAN = {} }"
    toml.write_text("\n".join([*lines[: at[0]], plain, *lines[at[-1] + 1 :]]) + "\n")
    return load_campaign(campaign_dir)


@pytest.fixture
def store(campaign: Campaign, tmp_path: Path) -> Store:
    return open_store(campaign, f"sqlite:///{tmp_path / 'test.db'}")


def new_database(kind: str, folder: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file in ``folder``, or a new database on the
    PostgreSQL server that ``tests/with_postgres.sh`` starts (skipped when there is none);
    dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'store.db'}"
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


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each store (see :func:`new_database`)."""
    yield from new_database(request.param, tmp_path)


@pytest.fixture
def pool(tmp_path: Path) -> tuple[Path, Path]:
    """The synthetic past-experiments table and its campaign files (see
    :func:`formulate.testing.synthetic_pool`): ``(csv, folder)``."""
    return synthetic_pool(tmp_path), tmp_path
