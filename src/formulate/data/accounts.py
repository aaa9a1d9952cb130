"""Accounts: local ones (argon2 password hashes) and single sign-on ones, their roles per
campaign, command-line tokens, sign-in with throttling.

Who may write what is :mod:`formulate.data.access`, checked inside every write's transaction
(:meth:`formulate.data.Store.transaction`), so the CLI, the app and the Python API obey the
same rules and a role taken away applies to the next write. A password is kept only as its
argon2 hash and a token as its SHA-256; neither is logged or shown again. Failed sign-ins are
throttled per account, across processes (they are rows of the store).
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from formulate.data.access import ROLES, Account, role_in
from formulate.data.schema import AccountRow, LoginRow, RoleRow, TokenRow, utcnow
from formulate.data.store import Store
from formulate.errors import FormulateError, Problem

MIN_PASSWORD = 10
"""Shortest password accepted (characters)."""
MAX_FAILURES = 5
"""Failed sign-ins of one account within :data:`THROTTLE` before the next is refused."""
THROTTLE = timedelta(minutes=15)
TOKEN_ENV = "FORMULATE_TOKEN"
"""The environment variable a command-line token is read from."""
TOKEN_DAYS = 90
"""How long a command-line token is valid, unless asked otherwise."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
_HASHER = PasswordHasher()


def has_accounts(store: Store) -> bool:
    """Whether the store holds any account (then every write needs one with a role)."""
    with Session(store.engine) as s:
        return bool(s.scalar(select(exists().where(AccountRow.name.is_not(None)))))


def role_of(store: Store, account: str, campaign: str) -> str | None:
    """The account's role on the campaign (None: none)."""
    with Session(store.engine) as s:
        return role_in(s, account, campaign)


def add_account(
    store: Store,
    name: str,
    campaign: str,
    role: str,
    password: str | None = None,
    sso_subject: str | None = None,
) -> None:
    """Create account ``name`` with ``role`` on ``campaign``: a password (local account) or an
    OpenID Connect subject (single sign-on). The store's first account needs no actor (it is
    how a lab starts); after that the store's actor must be an admin of ``campaign``.

    Raises:
        FormulateError: a bad name, role or password, a name taken, or no right to add.
    """
    problems = _account_problems(name, role, password, sso_subject)
    if problems:
        raise FormulateError(f"account {name!r} was not created", problems)
    digest = _HASHER.hash(password) if password else None

    def write(s: Session) -> None:
        if s.get(AccountRow, name) is not None:
            raise FormulateError(
                f"account {name!r} was not created",
                [Problem(name, "the name is taken", "choose another, or `formulate users role`")],
            )
        by = store.who()
        s.add(AccountRow(name=name, password_hash=digest, sso_subject=sso_subject, created_by=by))
        s.flush()
        s.add(RoleRow(campaign=campaign, account=name, role=role, granted_by=by))

    store.transaction(campaign, write, needs="admin")


def _account_problems(
    name: str, role: str, password: str | None, sso_subject: str | None
) -> list[Problem]:
    problems = []
    if not _NAME.match(name):
        problems.append(Problem("name", name, "letters, digits and . _ @ - (at most 100)"))
    if role not in ROLES:
        problems.append(Problem("role", role, f"use one of {', '.join(ROLES)}"))
    if (password is None) == (sso_subject is None):
        problems.append(Problem("sign-in", "password or single sign-on", "give exactly one"))
    elif password is not None and len(password) < MIN_PASSWORD:
        problems.append(
            Problem("password", f"{len(password)} characters", f"use at least {MIN_PASSWORD}")
        )
    return problems


def set_role(store: Store, name: str, campaign: str, role: str | None) -> None:
    """Give account ``name`` ``role`` on ``campaign`` (None: take its role away); the actor
    must be an admin of ``campaign``. The last admin of a campaign keeps the role.

    Raises:
        FormulateError: unknown account or role, no right, or the last admin.
    """
    if role is not None and role not in ROLES:
        raise FormulateError(
            f"unknown role {role!r}", [Problem("role", role, f"use one of {ROLES}")]
        )

    def write(s: Session) -> None:
        if s.get(AccountRow, name) is None:
            raise FormulateError(
                f"no account {name!r}", [Problem(name, "unknown", "formulate users list")]
            )
        row = s.get(RoleRow, (campaign, name))
        admins = s.scalar(
            select(func.count()).where(RoleRow.campaign == campaign, RoleRow.role == "admin")
        )
        if row is not None and row.role == "admin" and role != "admin" and admins == 1:
            raise FormulateError(
                f"{name} is the last admin of {campaign}",
                [Problem(name, "last admin", "make another account admin first")],
            )
        by = store.who()
        if row is not None:
            s.delete(row)
            s.flush()
        if role is not None:
            s.add(RoleRow(campaign=campaign, account=name, role=role, granted_by=by))

    store.transaction(campaign, write, needs="admin")


def accounts(store: Store, campaign: str) -> list[dict[str, str]]:
    """Every account with its role on ``campaign`` ("" where it has none), by name."""
    with Session(store.engine) as s:
        query = select(RoleRow.account, RoleRow.role).where(RoleRow.campaign == campaign)
        roles = {account: role for account, role in s.execute(query).tuples()}
        rows = s.execute(select(AccountRow.name, AccountRow.sso_subject).order_by(AccountRow.name))
        return [
            {
                "account": n,
                "role": roles.get(n, ""),
                "sign-in": "single sign-on" if sub else "password",
            }
            for n, sub in rows.tuples()
        ]


def sign_in(store: Store, name: str, password: str) -> Account:
    """Check a password. Every attempt is recorded; after :data:`MAX_FAILURES` failures within
    :data:`THROTTLE` the account refuses sign-ins (even a right password) until it has passed.

    Raises:
        FormulateError: a wrong name or password (one message for both), or throttled.
    """
    now = utcnow()
    with Session(store.writer) as s, s.begin():
        failures = s.scalar(
            select(func.count()).where(
                LoginRow.account == name, LoginRow.ok.is_(False), LoginRow.at > now - THROTTLE
            )
        )
        if (failures or 0) >= MAX_FAILURES:
            raise FormulateError(
                "too many failed sign-ins",
                [
                    Problem(
                        name,
                        f"{failures} failures in {THROTTLE.seconds // 60} min",
                        f"wait {THROTTLE.seconds // 60} minutes, or ask an admin",
                    )
                ],
            )
        row = s.get(AccountRow, name)
        ok = (
            row is not None
            and row.password_hash is not None
            and _verify(row.password_hash, password)
        )
        s.add(LoginRow(account=name, ok=ok, at=now))
    if not ok:
        raise FormulateError(
            "wrong account name or password",
            [Problem("sign-in", name, "check both; passwords are case-sensitive")],
        )
    return Account(name, "password")


def _verify(digest: str, password: str) -> bool:
    try:
        return _HASHER.verify(digest, password)
    except (VerificationError, InvalidHashError):
        return False


def sso_account(store: Store, subject: str) -> Account | None:
    """The account whose single sign-on subject is ``subject`` (None: no such account)."""
    with Session(store.engine) as s:
        name = s.scalar(select(AccountRow.name).where(AccountRow.sso_subject == subject))
    return Account(name, "sso") if name else None


def local_account(store: Store, name: str) -> Account | None:
    """The account named like the operating-system user, who is signed in to this machine."""
    with Session(store.engine) as s:
        return Account(name, "local user") if s.get(AccountRow, name) is not None else None


def issue_token(store: Store, account: Account, days: int = TOKEN_DAYS) -> str:
    """A new token for ``account`` (shown once; the store keeps its SHA-256), valid ``days``."""
    token = secrets.token_urlsafe(32)
    with Session(store.writer) as s, s.begin():
        s.add(
            TokenRow(
                digest=_digest(token),
                account=account.name,
                expires_at=utcnow() + timedelta(days=days),
            )
        )
    return token


def from_token(store: Store, token: str) -> Account:
    """The account a token belongs to.

    Raises:
        FormulateError: an unknown or expired token.
    """
    with Session(store.writer) as s, s.begin():
        s.execute(delete(TokenRow).where(TokenRow.expires_at < utcnow()))
        row = s.get(TokenRow, _digest(token.strip()))
        if row is None:
            raise FormulateError(
                "the token is unknown or has expired",
                [
                    Problem(
                        "FORMULATE_TOKEN",
                        "not accepted",
                        "formulate users token NAME gives a new one",
                    )
                ],
            )
        return Account(row.account, "token")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def expired(signed_in_at: datetime, hours: float) -> bool:
    """Whether a session that began at ``signed_in_at`` is over after ``hours``."""
    return utcnow() - signed_in_at > timedelta(hours=hours)


def acting(store: Store, token: str | None = None) -> Store:
    """``store`` acting as whoever runs this process: the account of ``token`` (or of
    ``$FORMULATE_TOKEN``), else the account named like the operating-system user (signed in
    to this machine), else no one (a store without accounts needs no one).

    Raises:
        FormulateError: a token that is unknown or has expired.
    """
    token = token or os.environ.get(TOKEN_ENV) or None
    if token:
        return store.acting_as(from_token(store, token))
    if not has_accounts(store):
        return store
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment
        return store
    return store.acting_as(local_account(store, user))


def revoke_tokens(store: Store, name: str, campaign: str) -> int:
    """Withdraw every token of account ``name`` (the account itself, or an admin of
    ``campaign``); returns how many there were."""

    def write(s: Session) -> int:
        held = s.scalar(select(func.count()).where(TokenRow.account == name))
        s.execute(delete(TokenRow).where(TokenRow.account == name))
        return int(held or 0)

    needs = "viewer" if store.who() == name else "admin"
    return store.transaction(campaign, write, needs=needs)


def set_password(store: Store, name: str, campaign: str, password: str) -> None:
    """A new password for local account ``name``: by the account itself or by an admin of
    ``campaign``; its tokens are withdrawn and its failed sign-ins forgotten.

    Raises:
        FormulateError: a short password, an unknown or single sign-on account, no right.
    """
    if len(password) < MIN_PASSWORD:
        raise FormulateError(
            "the password was not changed",
            [Problem("password", f"{len(password)} characters", f"use at least {MIN_PASSWORD}")],
        )
    digest = _HASHER.hash(password)

    def write(s: Session) -> None:
        row = s.get(AccountRow, name)
        if row is None or row.password_hash is None:
            what = "unknown" if row is None else "signs in through single sign-on"
            raise FormulateError(
                "the password was not changed", [Problem(name, what, "formulate users list")]
            )
        row.password_hash = digest
        s.execute(delete(TokenRow).where(TokenRow.account == name))
        s.execute(delete(LoginRow).where(LoginRow.account == name, LoginRow.ok.is_(False)))

    store.transaction(campaign, write, needs="viewer" if store.who() == name else "admin")
