"""The Streamlit app shows a campaign's real data (Streamlit's AppTest, no browser)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import TEMPLATE

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_app_shows_the_paper_campaign(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(TEMPLATE, tmp_path / "campaigns" / "cheng2023")
    monkeypatch.chdir(tmp_path)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.header[0].value.startswith("Cluster-chain composite")
    assert [m.value for m in at.metric] == ["0", "0", "3", "0"]
    membranes = at.dataframe[1].value
    assert set(membranes["membrane"]) == {"PPSE", "CNCSE", "CPCSE"}
    assert membranes.set_index("membrane").loc["CPCSE", "ionic_conductivity"] == 5.2e-4


def test_app_without_campaigns_says_how_to_make_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert "formulate init" in at.info[0].value
