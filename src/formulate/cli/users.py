"""``formulate users``: the accounts of a shared store and their roles on a campaign.

The first account of a store needs no sign-in (that is how a lab starts: its first admin);
after that these commands act as ``$FORMULATE_TOKEN``'s account or the operating-system user's,
and only an admin of the campaign adds people or changes roles.
"""

from __future__ import annotations

import sys
from typing import Annotated

import pandas as pd
import typer

from formulate.cli.common import CampaignArg, DbOpt, open_campaign, out, print_frame
from formulate.data.access import ROLES
from formulate.errors import FormulateError, Problem

users_app = typer.Typer(
    help="Accounts and roles of a shared campaign (viewer, member, admin).", no_args_is_help=True
)
RoleOpt = Annotated[str, typer.Option("--role", help=" or ".join(ROLES))]
StdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input")
]


def _password(from_stdin: bool, confirm: bool) -> str:
    """A password typed (hidden, twice for a new one) or read from standard input."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=confirm))


@users_app.command("add")
def add(
    campaign: CampaignArg,
    name: Annotated[str, typer.Argument(help="the account's name (letters, digits, . _ @ -)")],
    role: RoleOpt = "member",
    sso: Annotated[
        str | None,
        typer.Option("--sso", help="sign in through the OpenID Connect provider as this subject"),
    ] = None,
    password_stdin: StdinOpt = False,
    db: DbOpt = None,
) -> None:
    """Add an account with a role on the campaign: a password (asked, never shown) or an
    OpenID Connect subject (--sso)."""
    from formulate.data.accounts import add_account

    spec, store = open_campaign(campaign, db)
    password = None if sso else _password(password_stdin, confirm=True)
    add_account(store, name, spec.name, role, password=password, sso_subject=sso)
    out.print(f"Added {name} as {role} of {spec.name}.")


@users_app.command("role")
def role(
    campaign: CampaignArg,
    name: Annotated[str, typer.Argument(help="the account")],
    new: Annotated[str, typer.Argument(metavar="ROLE", help=" or ".join((*ROLES, "none")))],
    db: DbOpt = None,
) -> None:
    """Change an account's role on the campaign ("none" takes it away)."""
    from formulate.data.accounts import set_role

    spec, store = open_campaign(campaign, db)
    set_role(store, name, spec.name, None if new == "none" else new)
    out.print(f"{name} is now {new if new != 'none' else 'without a role on'} {spec.name}.")


@users_app.command("list")
def list_(campaign: CampaignArg, db: DbOpt = None) -> None:
    """Every account of the store and its role on the campaign."""
    from formulate.data.accounts import accounts

    spec, store = open_campaign(campaign, db)
    found = pd.DataFrame(accounts(store, spec.name))
    if found.empty:
        out.print("No accounts: one person, no login. `formulate users add` creates the first.")
        return
    print_frame(found, f"Accounts, roles on {spec.name}")


@users_app.command("token")
def token(
    campaign: CampaignArg,
    name: Annotated[str, typer.Argument(help="your account")],
    days: Annotated[int, typer.Option(help="days the token is valid")] = 90,
    password_stdin: StdinOpt = False,
    db: DbOpt = None,
) -> None:
    """A token for the command line and notebooks (export FORMULATE_TOKEN=...), after your
    password; shown once."""
    from formulate.data.accounts import issue_token, sign_in

    if not 1 <= days <= 366:
        raise FormulateError("no token", [Problem("--days", str(days), "use 1 to 366")])
    _, store = open_campaign(campaign, db)
    account = sign_in(store, name, _password(password_stdin, confirm=False))
    out.print(issue_token(store, account, days), soft_wrap=True, highlight=False)


@users_app.command("password")
def password(
    campaign: CampaignArg,
    name: Annotated[str, typer.Argument(help="the account (yours, or any as an admin)")],
    password_stdin: StdinOpt = False,
    db: DbOpt = None,
) -> None:
    """A new password (asked twice, never shown); the account's tokens stop working."""
    from formulate.data.accounts import set_password

    spec, store = open_campaign(campaign, db)
    set_password(store, name, spec.name, _password(password_stdin, confirm=True))
    out.print(f"New password for {name}; its tokens were withdrawn.")


@users_app.command("revoke")
def revoke(
    campaign: CampaignArg,
    name: Annotated[str, typer.Argument(help="the account (yours, or any as an admin)")],
    db: DbOpt = None,
) -> None:
    """Withdraw every command-line token of an account (a lost laptop, someone who left)."""
    from formulate.data.accounts import revoke_tokens

    spec, store = open_campaign(campaign, db)
    out.print(f"Withdrew {revoke_tokens(store, name, spec.name)} token(s) of {name}.")
