"""Shared fixtures: a fresh copy of the paper's campaign with its own SQLite store."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pytest

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
