"""Accounts and roles on both stores: every write checked in the store, whoever calls it (the
CLI, the API, the app); records carry the account; passwords and tokens never stored in clear;
sign-in throttled. A store without accounts is used as before."""

from __future__ import annotations

import io
import shutil
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

import formulate
from formulate.cli import main
from formulate.data import accounts
from formulate.data.access import Account
from formulate.data.cell_tests import start_test
from formulate.data.lifecycle import edit_campaign
from formulate.data.schema import TokenRow, utcnow
from formulate.testing import TEMPLATE

PASSWORD = "correct horse battery"


@pytest.fixture
def lab(tmp_path: Path, db_url: str) -> formulate.OpenCampaign:
    """The paper's campaign on a store whose first account, ana, is its admin; bo is a
    member and cy a viewer (added by ana)."""
    shutil.copytree(TEMPLATE, tmp_path / "c")
    opened = formulate.open(tmp_path / "c", db=db_url)
    accounts.add_account(opened.store, "ana", opened.name, "admin", password=PASSWORD)
    admin = opened.store.acting_as(Account("ana"))
    accounts.add_account(admin, "bo", opened.name, "member", password=PASSWORD)
    accounts.add_account(admin, "cy", opened.name, "viewer", password=PASSWORD)
    return opened


def as_(lab: formulate.OpenCampaign, name: str | None) -> formulate.OpenCampaign:
    return formulate.OpenCampaign(lab.campaign, lab.store.acting_as(name and Account(name)))


def history(lab: formulate.OpenCampaign) -> pd.DataFrame:
    return lab.store.measurements(lab.name, history=True)


def test_a_store_without_accounts_needs_no_sign_in(tmp_path: Path, db_url: str) -> None:
    shutil.copytree(TEMPLATE, tmp_path / "c")
    solo = formulate.open(tmp_path / "c", db=db_url)
    made = solo.log_value("CNCSE", "transference_number", 0.5, by="ana (typed)")
    assert made.recorded_by == "ana (typed)" and not accounts.has_accounts(solo.store)


def test_every_write_needs_a_role_and_a_refused_one_changes_nothing(
    lab: formulate.OpenCampaign,
) -> None:
    before = history(lab)
    for who in (None, "cy"):  # no one signed in; a viewer
        with pytest.raises(formulate.FormulateError, match="nothing was written") as err:
            as_(lab, who).log_value("CNCSE", "transference_number", 0.5)
        if who:
            assert err.value.problems[0].fix == f"ask an admin of {lab.name} for member"
        with pytest.raises(formulate.FormulateError, match="nothing was written"):
            as_(lab, who).failed("CNCSE")
        with pytest.raises(formulate.FormulateError, match="nothing was written"):
            start_test(lab.campaign, as_(lab, who).store, "CNCSE", "li_symmetric_life")
        with pytest.raises(formulate.FormulateError, match="nothing was written"):
            as_(lab, who).accept(lab.propose(1, seed=1))
    assert history(lab).equals(before)
    assert len(lab.table()) == 3


def test_a_members_record_carries_the_account_not_a_typed_name(
    lab: formulate.OpenCampaign,
) -> None:
    bo = as_(lab, "bo")
    made = bo.log_value("CNCSE", "transference_number", 0.5, by="someone else")
    assert made.recorded_by == "bo"
    stored = history(lab)
    assert stored.loc[stored["property"] == "transference_number", "recorded_by"].iloc[-1] == "bo"
    ids = bo.accept(bo.propose(1, seed=1))["membrane"].tolist()
    members = lab.store.membranes(lab.name).set_index("membrane")
    assert members.loc[ids[0], "recorded_by"] == "bo"


def test_only_an_admin_edits_the_space_abandons_and_manages(
    lab: formulate.OpenCampaign,
) -> None:
    toml = lab.campaign.folder / "campaign.toml"
    before = toml.read_text()
    wider = before.replace("low = 6.0\nhigh = 30.0", "low = 6.0\nhigh = 40.0")
    ids = as_(lab, "bo").accept(lab.propose(2, seed=2))["membrane"].tolist()
    for step in (
        lambda: edit_campaign(lab.campaign, as_(lab, "bo").store, wider),
        lambda: as_(lab, "bo").abandon([ids[0]]),
        lambda: accounts.set_role(as_(lab, "bo").store, "cy", lab.name, "member"),
        lambda: accounts.add_account(as_(lab, "bo").store, "dee", lab.name, "admin", PASSWORD),
    ):
        with pytest.raises(formulate.FormulateError, match="bo is a member of"):
            step()
    assert toml.read_text() == before
    assert accounts.role_of(lab.store, "cy", lab.name) == "viewer"
    ana = as_(lab, "ana")
    assert edit_campaign(lab.campaign, ana.store, wider).space.bounds("eo_li_ratio") == (6.0, 40.0)
    assert ana.abandon([ids[0]]) == [ids[0]]
    accounts.set_role(ana.store, "bo", lab.name, None)  # taken away: applies to the next write
    with pytest.raises(formulate.FormulateError, match="bo has no role on campaign"):
        as_(lab, "bo").log_value("CNCSE", "transference_number", 0.5)
    with pytest.raises(formulate.FormulateError, match="last admin"):
        accounts.set_role(ana.store, "ana", lab.name, "member")


def test_passwords_are_hashed_and_sign_in_is_throttled(lab: formulate.OpenCampaign) -> None:
    with lab.store.engine.connect() as conn:
        dump = " ".join(str(r) for r in conn.execute(text("SELECT * FROM accounts")))
    assert PASSWORD not in dump and "$argon2id$" in dump
    assert accounts.sign_in(lab.store, "bo", PASSWORD) == Account("bo", "password")
    with pytest.raises(formulate.FormulateError, match="wrong account name or password"):
        accounts.sign_in(lab.store, "nobody", PASSWORD)  # the same message as a wrong password
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(formulate.FormulateError, match="wrong account name or password"):
            accounts.sign_in(lab.store, "bo", "guess " * 3)
    with pytest.raises(formulate.FormulateError, match="too many failed sign-ins"):
        accounts.sign_in(lab.store, "bo", PASSWORD)  # even the right one, for a while
    assert accounts.sign_in(lab.store, "cy", PASSWORD).name == "cy"  # others are not locked
    with pytest.raises(formulate.FormulateError, match="at least 10"):
        accounts.add_account(as_(lab, "ana").store, "dee", lab.name, "viewer", "short")


def test_a_token_acts_as_its_account_until_it_expires(
    lab: formulate.OpenCampaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = accounts.issue_token(lab.store, Account("bo"), days=1)
    with Session(lab.store.engine) as s:
        assert token not in str(list(s.scalars(select(TokenRow.digest))))
    via = formulate.open(lab.campaign.folder, db=lab.store.url, token=token)
    assert via.log_value("CNCSE", "transference_number", 0.5).recorded_by == "bo"
    monkeypatch.setenv(accounts.TOKEN_ENV, token)
    assert formulate.open(lab.campaign.folder, db=lab.store.url).store.actor == Account(
        "bo", "token"
    )
    with lab.store.writer.begin() as conn:
        conn.execute(update(TokenRow).values(expires_at=utcnow() - timedelta(minutes=1)))
    with pytest.raises(formulate.FormulateError, match="unknown or has expired"):
        formulate.open(lab.campaign.folder, db=lab.store.url)


def test_the_command_line_adds_people_and_acts_by_token(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(accounts.TOKEN_ENV, raising=False)

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, " ".join(out.split()), " ".join(err.split())

    assert run("init", "lab", "--template", "cheng2023")[0] == 0
    code, out, _ = run("users", "add", "lab", "ana", "--role", "admin", "--password-stdin",
                       stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 0 and out == "Added ana as admin of lab."
    code, _, err = run("users", "add", "lab", "bo", "--password-stdin", stdin=PASSWORD)
    assert code == 2 and "no one is signed in" in err  # the second account needs an admin
    code, token, _ = run("users", "token", "lab", "ana", "--password-stdin", stdin=PASSWORD)
    assert code == 0 and len(token) > 30
    monkeypatch.setenv(accounts.TOKEN_ENV, token)
    code, _, _ = run("users", "add", "lab", "bo", "--role", "viewer", "--password-stdin",
                     stdin=PASSWORD)  # fmt: skip
    assert code == 0
    assert run("log", "lab", "CNCSE", "transference_number", "0.5")[0] == 0
    code, out, _ = run("users", "list", "lab")
    assert "ana admin password" in out and "bo viewer password" in out
    code, out, _ = run("export", "lab", "--measurements")
    assert code == 0 and ",transference_number,0.5,,False,25,,ana,2" in out  # who, and when
    code, out, _ = run("export", "lab", "--who")
    assert "added_by,added_at_utc" in out
    code, bo, _ = run("users", "token", "lab", "bo", "--password-stdin", stdin=PASSWORD)
    monkeypatch.setenv(accounts.TOKEN_ENV, bo)
    code, _, err = run("log", "lab", "CNCSE", "transference_number", "0.55")
    assert code == 2 and "bo is a viewer of campaign lab; this needs member" in err
    code, out, _ = run("status", "lab", "--format", "csv")
    assert code == 0  # a viewer reads
    monkeypatch.setenv(accounts.TOKEN_ENV, "not a token")
    code, _, err = run("status", "lab")
    assert code == 2 and "unknown or has expired" in err


def test_serve_checks_its_settings_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(accounts.TOKEN_ENV, raising=False)
    assert main(["init", "lab", "--template", "cheng2023"]) == 0
    capsys.readouterr()

    def check(*args: str) -> tuple[int, str]:
        code = main(["serve", "--check", *args])
        captured = capsys.readouterr()
        return code, " ".join((captured.out + captured.err).split())

    code, said = check()  # this machine, no accounts: the app as one person knows it
    assert code == 0 and "sign-in once the store has accounts" in said
    code, said = check("--address", "0.0.0.0")  # the lab's network: someone must get in
    assert code == 2 and "lab: sign-in is required and no account is its admin" in said
    assert "formulate users add lab NAME --role admin" in said
    spec = formulate.open(tmp_path / "campaigns" / "lab")
    accounts.add_account(spec.store, "ana", "lab", "admin", password=PASSWORD)
    code, said = check("--address", "0.0.0.0")
    assert code == 0 and "http://0.0.0.0:8501, sign-in required" in said
    (tmp_path / "s.toml").write_text('[serve]\nport = 99999\nlogn = "required"\nsso = true\n')
    code, said = check("--settings", str(tmp_path / "s.toml"))
    assert code == 2 and "port: Input should be less than or equal to 65535" in said
    assert "logn: Extra inputs are not permitted" in said
    (tmp_path / "s.toml").write_text("[serve]\nsso = true\n")
    code, said = check("--settings", str(tmp_path / "s.toml"))
    assert code == 2 and "[auth] lacks redirect_uri" in said
    (tmp_path / "conf").mkdir()  # a relative root is read from the settings file's folder
    (tmp_path / "conf" / "serve.toml").write_text('[serve]\nroot = ".."\n')
    monkeypatch.chdir(tmp_path / "conf")
    assert check("--settings", "serve.toml")[0] == 0


def test_serve_never_shows_the_database_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init", "lab", "--template", "cheng2023"]) == 0
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    code = main(["serve", "--check", "--address", "0.0.0.0", "--db", url])
    said = capsys.readouterr().err
    assert code == 2 and "--db sqlite:///" in said  # a file URL has no password to hide
    code = main(["serve", "--check", "--db", "postgresql+psycopg://ana:s3cret@127.0.0.1:1/lab"])
    said = capsys.readouterr().err
    assert code == 2 and "s3cret" not in said and "ana:***@127.0.0.1" in said


def test_a_new_password_or_a_revocation_ends_the_tokens(lab: formulate.OpenCampaign) -> None:
    token = accounts.issue_token(lab.store, Account("bo"))
    with pytest.raises(formulate.FormulateError, match="bo is a member of"):  # not cy's
        accounts.set_password(as_(lab, "bo").store, "cy", lab.name, "another long one")
    accounts.set_password(as_(lab, "bo").store, "bo", lab.name, "another long one")
    with pytest.raises(formulate.FormulateError, match="unknown or has expired"):
        accounts.from_token(lab.store, token)
    with pytest.raises(formulate.FormulateError, match="wrong account name or password"):
        accounts.sign_in(lab.store, "bo", PASSWORD)
    assert accounts.sign_in(lab.store, "bo", "another long one").name == "bo"
    kept = [accounts.issue_token(lab.store, Account("cy")) for _ in range(2)]
    assert accounts.revoke_tokens(as_(lab, "ana").store, "cy", lab.name) == 2  # an admin
    for token in kept:
        with pytest.raises(formulate.FormulateError, match="unknown or has expired"):
            accounts.from_token(lab.store, token)
