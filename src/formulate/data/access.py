"""Who may write: the rule every write of the store checks, in its own transaction.

A store with no account is used as before: one person, no login, every write allowed. Once it
holds an account, a write needs an *actor* (:class:`Account`) with a role on the campaign:

* ``viewer``: reads and downloads;
* ``member``: logs outcomes, marks films, starts and stops cells, accepts proposed batches;
* ``admin``: also edits the design space, abandons membranes and manages members.

Accounts themselves (passwords, tokens, sign-in) are :mod:`formulate.data.accounts`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from formulate.data.schema import AccountRow, RoleRow
from formulate.errors import FormulateError, Problem

ROLES = ("viewer", "member", "admin")
"""Roles on a campaign, each allowed what the one before it is, and more."""


@dataclass(frozen=True)
class Account:
    """Who acts: an account's ``name`` and how it proved it (``password``, ``token``, ``sso``,
    ``local user``)."""

    name: str
    how: str = "password"


def role_in(s: Session, account: str, campaign: str) -> str | None:
    return s.scalar(
        select(RoleRow.role).where(RoleRow.account == account, RoleRow.campaign == campaign)
    )


def require(s: Session, actor: Account | None, campaign: str, needs: str) -> None:
    """Refuse a write on ``campaign`` that needs role ``needs`` unless the actor has it (or the
    store has no account at all: one person, no login), in the write's own session.

    Raises:
        FormulateError: no actor, no role, or a lower one; says who may grant it.
    """
    if actor is None:
        if not s.scalar(select(exists().where(AccountRow.name.is_not(None)))):
            return
        raise FormulateError(
            "nothing was written: this store has accounts, and no one is signed in",
            [
                Problem(
                    campaign,
                    "a write needs an account",
                    "sign in in the app, or set "
                    "FORMULATE_TOKEN (formulate users token NAME) for the command line",
                )
            ],
        )
    role = role_in(s, actor.name, campaign)
    if role is None and needs == "admin" and _no_admin(s, campaign):
        role = "admin" if _admin_somewhere(s, actor.name) else None  # a lab admin starts it
    if role is None or ROLES.index(role) < ROLES.index(needs):
        held = f"is a {role} of" if role else "has no role on"
        raise FormulateError(
            f"nothing was written: {actor.name} {held} campaign {campaign}; this needs {needs}",
            [
                Problem(
                    actor.name, f"role {role or 'none'}", f"ask an admin of {campaign} for {needs}"
                )
            ],
        )


def _no_admin(s: Session, campaign: str) -> bool:
    return not s.scalar(
        select(exists().where(RoleRow.campaign == campaign, RoleRow.role == "admin"))
    )


def _admin_somewhere(s: Session, account: str) -> bool:
    return bool(
        s.scalar(select(exists().where(RoleRow.account == account, RoleRow.role == "admin")))
    )
