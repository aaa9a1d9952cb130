"""A lab's shared server in a real browser: ``formulate serve`` with sign-in required, on both
stores. Without signing in only the sign-in form is there; a viewer sees no write control; a
member proposes but cannot edit the space; an admin can; failed sign-ins are throttled; single
sign-on through a local OpenID Connect provider (``oidc-provider-mock``) signs in a member."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from formulate.data import accounts, open_store
from formulate.data.access import Account
from formulate.spec.campaign import load_campaign
from formulate.testing import TEMPLATE

from .test_browser import CHROMIUM, CHROMIUM_FLAGS, free_port, screenshot, wait_until_up

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[tuple[str, str]]:
    """``formulate serve`` on a lab-wide store (ana admin, bo member, cy viewer, dee a member
    by single sign-on), sign-in required, single sign-on through a local provider."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from oidc_provider_mock import run_server_in_thread

    shutil.copytree(TEMPLATE, tmp_path / "campaigns" / "cheng2023")
    spec = load_campaign(tmp_path / "campaigns" / "cheng2023")
    store = open_store(spec, db_url)
    accounts.add_account(store, "ana", spec.name, "admin", password=PASSWORD)
    admin = store.acting_as(Account("ana"))
    for name, role in (("bo", "member"), ("cy", "viewer")):
        accounts.add_account(admin, name, spec.name, role, password=PASSWORD)
    accounts.add_account(admin, "dee", spec.name, "member", sso_subject="dee@lab.example")
    store.engine.dispose()
    port = free_port()
    with run_server_in_thread() as provider:
        (tmp_path / ".streamlit").mkdir()
        (tmp_path / ".streamlit" / "secrets.toml").write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            'cookie_secret = "a long random secret for the test"\n'
            'client_id = "formulate"\nclient_secret = "test secret"\n'
            f'server_metadata_url = "http://127.0.0.1:{provider.server_port}'
            '/.well-known/openid-configuration"\n'
        )
        (tmp_path / "serve.toml").write_text(
            f'[serve]\nroot = "{tmp_path}"\nport = {port}\nlogin = "required"\nsso = true\n'
            f'db = "{db_url}"\n'
        )
        exe = Path(sys.executable).parent / "formulate"
        log = (tmp_path / "serve.log").open("w")
        proc = subprocess.Popen(
            [str(exe), "serve", "--settings", str(tmp_path / "serve.toml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "FORMULATE_DB_URL": ""},
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url, proc, tmp_path / "serve.log")
            yield url, db_url
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            log.close()


def failures(db_url: str, name: str) -> int:
    """Failed sign-ins of ``name`` the store has recorded."""
    from sqlalchemy import create_engine, func, select

    from formulate.data.schema import LoginRow

    engine = create_engine(db_url)
    with engine.connect() as conn:
        query = select(func.count()).where(LoginRow.account == name, LoginRow.ok.is_(False))
        count = int(conn.execute(query).scalar() or 0)
    engine.dispose()
    return count


def test_a_shared_server_signs_people_in_and_keeps_to_their_roles(
    server: tuple[str, str], tmp_path: Path
) -> None:
    from playwright.sync_api import Page, expect, sync_playwright

    url, db_url = server
    shots = Path(os.environ.get("FORMULATE_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)

    def sign_in(page: Page, name: str, password: str = PASSWORD) -> None:
        page.get_by_label("Account", exact=True).fill(name)
        page.get_by_role("textbox", name="Password", exact=True).fill(password)
        page.get_by_role("button", name="Sign in", exact=True).click()

    def sign_out(page: Page) -> None:
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_label("Account", exact=True)).to_be_visible(timeout=30_000)
        # the signed-in page is gone, not only drawn over (stale elements outlive a rerun)
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0, timeout=30_000)
        expect(page.get_by_role("tab")).to_have_count(0, timeout=30_000)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        expect(page.get_by_label("Account", exact=True)).to_be_visible(timeout=90_000)
        expect(page.get_by_role("tab")).to_have_count(0)  # nothing but the sign-in
        expect(page.get_by_text("Cluster-chain composite")).to_have_count(0)
        screenshot(page, shots / "sign-in.png")

        sign_in(page, "cy")  # a viewer: reads, no write control anywhere
        expect(page.get_by_role("tab", name="Plan")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Signed in as")).to_be_visible()
        page.get_by_role("tab", name="Plan").click()
        expect(page.get_by_text("You are a viewer of cheng2023")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("button", name="Propose")).to_have_count(0)
        screenshot(page, shots / "viewer.png")
        page.get_by_role("tab", name="Log outcomes").click()
        expect(page.get_by_text("Members log outcomes")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("button", name="Log outcome")).to_have_count(0)
        page.get_by_text("Design space and objectives").click()
        expect(page.get_by_text("Admins of the campaign edit")).to_be_visible(timeout=30_000)
        sign_out(page)

        sign_in(page, "bo")  # a member proposes; the space is not theirs to edit
        page.get_by_role("tab", name="Plan").click()
        expect(page.get_by_role("button", name="Propose")).to_be_visible(timeout=60_000)
        page.get_by_text("Design space and objectives").click()
        expect(page.get_by_text("Admins of the campaign edit")).to_be_visible(timeout=30_000)
        sign_out(page)

        sign_in(page, "ana")  # the admin edits it, and manages people
        page.get_by_text("Design space and objectives").click()
        save = page.get_by_role("button", name="Save as a new version (data kept)")
        expect(save).to_be_visible(timeout=60_000)
        page.get_by_text("People and roles").click()
        expect(page.get_by_text("single sign-on").first).to_be_visible(timeout=30_000)
        screenshot(page, shots / "admin.png")
        sign_out(page)

        for n in range(1, accounts.MAX_FAILURES + 1):  # each attempt recorded before the next
            sign_in(page, "bo", "not the password")
            deadline = time.time() + 30
            while failures(db_url, "bo") < n and time.time() < deadline:
                time.sleep(0.2)
            expect(page.get_by_text("wrong account name or password")).to_be_visible()
        assert failures(db_url, "bo") == accounts.MAX_FAILURES  # each attempt a row
        sign_in(page, "bo")
        expect(page.get_by_text("too many failed sign-ins")).to_be_visible(timeout=30_000)
        assert failures(db_url, "bo") == accounts.MAX_FAILURES  # refused before checking

        page.get_by_role("button", name="Sign in with your institution").click()
        page.locator("input[name=sub]").last.fill("dee@lab.example")  # the provider's form
        page.get_by_role("button", name="Authorize").click()
        expect(page.get_by_text("Signed in as")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("dee")).to_be_visible()
        page.get_by_role("tab", name="Plan").click()
        expect(page.get_by_role("button", name="Propose")).to_be_visible(timeout=60_000)
        browser.close()
