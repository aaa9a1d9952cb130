"""A full round in a real browser: Streamlit on localhost, Debian's Chromium via Playwright.

Log an outcome, upload a lab's CSV (Data then shows every row), propose a batch and accept it
(the Log page offers it at once), mark a film failed (the next batch keeps away from it), open
Insights and Backtests. Screenshots of every page go to ``$FORMULATE_SCREENSHOTS`` (default: the
test's temporary folder); the README's come from there.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from formulate.data import campaign_table, import_table, open_store
from formulate.data.cell_tests import cell_tests
from formulate.data.cells import canonical_headers
from formulate.plan.pool import unit_matrix
from formulate.spec.campaign import load_campaign
from formulate.testing import TEMPLATE, emulated

pytestmark = pytest.mark.browser
APP = str(Path(__file__).resolve().parents[1] / "app.py")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def streamlit_command(port: int) -> list[str]:
    """``streamlit run app.py`` on localhost:``port``, headless, without file watching."""
    return [
        *(sys.executable, "-m", "streamlit", "run", APP, "--server.headless", "true"),
        *("--server.port", str(port), "--server.address", "127.0.0.1"),
        *("--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"),
    ]


def wait_until_up(url: str, proc: subprocess.Popen, log: Path) -> None:
    """Wait (90 s at most) until the Streamlit server at ``url`` answers its health check;
    fail with its log if it does not or stops."""
    deadline = time.time() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.time() > deadline or proc.poll() is not None:
            pytest.fail(f"the app did not start: {log.read_text()}")
        time.sleep(0.5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    folder = tmp_path / "campaigns" / "cheng2023"
    shutil.copytree(TEMPLATE, folder)
    spec = load_campaign(folder)
    import_table(
        spec,
        open_store(spec),
        canonical_headers(
            spec,
            emulated(spec, 12, seed=51).drop(columns=["film_formed"]).assign(provenance="emulated"),
        ),
    )
    port = free_port()
    log = (tmp_path / "streamlit.log").open("w")
    proc = subprocess.Popen(
        streamlit_command(port),
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, proc, tmp_path / "streamlit.log")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


HEAD = "membrane,filler,filler_wt_pct,polymer,solvent,thf_fraction,eo_li_ratio"
BAD_UPLOADS = [
    (
        "latin1.csv",
        f"{HEAD},notes\nU1,none,,PEO,THF_DCM,0.5,16,caf\xe9".encode("latin-1"),
        "not a UTF-8 CSV",
    ),
    (
        "quote.csv",
        f'{HEAD},notes\nU1,none,,PEO,THF_DCM,0.5,16,"open'.encode(),
        "not a readable CSV",
    ),
    (
        "batch.csv",
        f"{HEAD},batch\nU1,none,,PEO,THF_DCM,0.5,16,inf".encode(),
        "nothing was imported",
    ),
]


GOOD_UPLOAD = (
    "Membrane ID,Filler,filler_wt_pct,Polymer,Solvent,thf_fraction,EO:Li,Conductivity (mS/cm)\n"
    "U1,cluster chain,3 wt%,PEO,THF/DCM,0.4,14,0.41\n"
    "U2,none,0,PEO,THF/DCM,0.6,18,0.12\n"
)


def screenshot(page, path: Path) -> None:
    """A screenshot of the whole page once its rerun has finished (the page drawn in full):
    Streamlit scrolls inside its main panel, so the window is made as tall as that panel's
    content first, then set back."""
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'",
        timeout=60_000,
    )
    height = page.evaluate(
        "Math.max(...[...document.querySelectorAll('section, div')].map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": 1500, "height": min(max(int(height), 1100), 6000)})
    page.wait_for_timeout(800)
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size({"width": 1500, "height": 1100})


def _click_until(page, button: str, message: str, tries: int = 4) -> None:
    """Click ``button`` until ``message`` shows: a click that lands while Streamlit is still
    rerunning after an upload is dropped (a refused import writes nothing, so clicking again is
    safe)."""
    from playwright.sync_api import expect

    for attempt in range(tries):
        page.get_by_role("button", name=button).click()
        try:
            expect(page.get_by_text(message).first).to_be_visible(timeout=15_000)
            return
        except AssertionError:
            if attempt == tries - 1:
                raise


def test_a_full_round_in_the_browser(app_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("FORMULATE_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.goto(app_url)
        expect(page.get_by_text("formulate: plan composite")).to_be_visible(timeout=90_000)
        expect(page.get_by_role("tab", name="Data")).to_be_visible(timeout=60_000)
        tables = page.locator("[data-testid='stDataFrame']")
        expect(tables.nth(1)).to_be_visible(timeout=60_000)  # the membranes, not a skeleton
        screenshot(page, shots / "data.png")

        page.get_by_role("tab", name="Log outcomes").click()
        page.get_by_label("Value (a number alone", exact=False).fill("0.33 mS/cm")
        page.get_by_role("button", name="Log outcome").click()
        logged = page.get_by_text("Logged PPSE conductivity = 0.33 mS/cm")
        expect(logged).to_be_visible(timeout=30_000)
        screenshot(page, shots / "log.png")
        for name, body, message in BAD_UPLOADS:  # shown inline, like the CLI; no traceback
            upload = tmp_path / name
            upload.write_bytes(body)
            page.locator("input[type=file]").set_input_files(str(upload))
            expect(page.get_by_text(name).first).to_be_visible(timeout=30_000)
            _click_until(page, "Import file", message)
            assert page.get_by_text("Traceback").count() == 0
        upload = tmp_path / "lab.csv"  # a lab's own spelling: read, and said back
        upload.write_text(GOOD_UPLOAD)
        page.locator("input[type=file]").set_input_files(str(upload))
        expect(page.get_by_text("lab.csv").first).to_be_visible(timeout=30_000)
        _click_until(page, "Import file", "Imported 2 membranes")
        expect(page.get_by_text("read as THF_DCM", exact=False).first).to_be_visible()
        page.get_by_role("tab", name="Data").click()
        every = re.compile(r"Showing (\d+) of \1 membranes")  # the upload hidden by no filter
        expect(page.get_by_text(every)).to_be_visible(timeout=30_000)
        shown = int(every.search(page.get_by_text(every).inner_text())[1])

        page.get_by_role("tab", name="Plan").click()
        page.get_by_role("button", name="Propose").click()
        expect(page.get_by_text("Predicted mean and 95% interval")).to_be_visible(timeout=120_000)
        screenshot(page, shots / "plan.png")
        page.get_by_role("button", name="Accept as a pending batch").click()
        expect(page.get_by_text("Batch 1 stored")).to_be_visible(timeout=30_000)
        page.get_by_role("tab", name="Log outcomes").click()  # no reload: B1-1 is offered
        page.get_by_role("combobox", name="Membrane").first.click()
        page.keyboard.type("B1-")  # the list is long: filter it as a person would
        expect(page.get_by_role("option", name="B1-1")).to_be_visible(timeout=30_000)
        page.keyboard.press("Escape")
        page.get_by_role("combobox", name="Membrane").nth(1).click()  # a film that did not form
        page.keyboard.type("B1-1")
        page.get_by_role("option", name="B1-1").click()
        page.get_by_role("button", name="Mark failed").click()
        expect(page.get_by_text("B1-1 marked failed")).to_be_visible(timeout=30_000)
        page.get_by_role("tab", name="Plan").click()  # the next batch, with the failure known
        page.get_by_role("button", name="Propose").click()
        expect(page.get_by_text("Predicted mean and 95% interval")).to_be_visible(timeout=120_000)
        page.get_by_role("button", name="Accept as a pending batch").click()
        expect(page.get_by_text("Batch 2 stored")).to_be_visible(timeout=30_000)

        page.get_by_role("tab", name="Cycler").click()  # a Li|Li cell goes on a channel
        page.get_by_role("button", name="Rank the candidates").click()
        ranked = re.compile("expected to add|first come, first served")
        expect(page.get_by_text(ranked).first).to_be_visible(timeout=120_000)  # rerun done
        page.get_by_label("Channel", exact=True).fill("2")
        page.get_by_role("button", name="Start the cell now").click()
        expect(page.get_by_text("Channels: 1 of 8 in use")).to_be_visible(timeout=60_000)
        screenshot(page, shots / "cycler.png")

        page.get_by_role("tab", name="Insights").click()
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=90_000)
        page.wait_for_timeout(1500)
        screenshot(page, shots / "insights.png")
        page.get_by_role("tab", name="Backtests").click()
        expect(page.get_by_text("No backtests yet", exact=False).first).to_be_visible(
            timeout=60_000
        )
        screenshot(page, shots / "backtests.png")
        browser.close()

    spec = load_campaign(tmp_path / "campaigns" / "cheng2023")
    table = campaign_table(spec, open_store(spec)).set_index("membrane")
    assert table.loc["PPSE", "ionic_conductivity"] == pytest.approx(3.3e-4)
    assert table.loc["U1", "filler"] == "cluster_chain" and table.loc["U1", "filler_wt_pct"] == 3
    assert table.loc["U2", "ionic_conductivity"] == pytest.approx(1.2e-4)
    assert shown == len(table) - 2 * spec.strategy.batch_size  # all but the batches after it
    tests = cell_tests(spec, open_store(spec))
    assert tests[["channel", "state"]].values.tolist() == [["2", "running"]]
    assert table.loc["B1-1", "status"] == "failed" and table.loc["B1-1", "film_formed"] == 0
    assert (table["batch"] == 2).sum() == spec.strategy.batch_size  # proposed after it
    after = table[table["batch"] == 2]  # the failed film's neighbourhood is left out
    U = unit_matrix(spec.space, pd.concat([table.loc[["B1-1"]], after]))
    assert np.linalg.norm(U[1:] - U[0], axis=1).min() > 0.15
    assert (table["status"] == "pending").sum() == 2 * spec.strategy.batch_size - 1
