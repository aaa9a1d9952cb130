"""``formulate serve``: the app for a whole lab, its settings checked before it starts.

One server, one shared store (PostgreSQL by URL, for every campaign and its accounts), sign-in
required for anyone who reaches it over the network, Streamlit's XSRF protection on, TLS by
the lab's reverse proxy (or Streamlit's own certificate settings). On 127.0.0.1 with a store
without accounts it is the app as a single user knows it: no sign-in.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from formulate.cli.common import flag, out
from formulate.errors import FormulateError, Problem

SETTINGS_KEY = "serve"


class ServeSettings(BaseModel):
    """``[serve]`` of a settings file (TOML); a command-line option overrides its key."""

    model_config = ConfigDict(extra="forbid")
    root: Path = Field(Path("."), description="the folder that holds campaigns/")
    address: str = Field("127.0.0.1", description="the address to listen on (0.0.0.0: every)")
    port: int = Field(8501, ge=1, le=65535)
    db: str | None = Field(None, description="a lab-wide store (database URL) for every campaign")
    login: Literal["auto", "required"] = Field(
        "auto", description="auto: required off this machine or once the store has accounts"
    )
    session_hours: float = Field(8.0, gt=0, le=168, description="how long a sign-in lasts")
    sso: bool = Field(False, description="single sign-on: [auth] in .streamlit/secrets.toml")
    tls_cert: Path | None = Field(None, description="certificate file (else TLS by a proxy)")
    tls_key: Path | None = None

    def local(self) -> bool:
        try:
            return ipaddress.ip_address(self.address).is_loopback
        except ValueError:
            return self.address == "localhost"


def serve(
    settings: Annotated[
        Path | None,
        typer.Option("--settings", help="a TOML file with the keys below under [serve]"),
    ] = None,
    root: Annotated[Path | None, typer.Option(help="the folder that holds campaigns/")] = None,
    address: Annotated[str | None, typer.Option(help="127.0.0.1 (default) or 0.0.0.0")] = None,
    port: Annotated[int | None, typer.Option(help="default 8501")] = None,
    db: Annotated[str | None, typer.Option("--db", help="a lab-wide store (database URL)")] = None,
    check: Annotated[bool, flag("--check", help="check the settings, then exit")] = False,
) -> None:
    """Serve the app to a lab: settings checked first (every campaign's store reachable, an
    admin account wherever sign-in is required), sign-in off this machine, XSRF protection."""
    given = {"root": root, "address": address, "port": port, "db": db}
    chosen = read_settings(settings, {k: v for k, v in given.items() if v is not None})
    problems = settings_problems(chosen)
    if problems:
        raise FormulateError("the server was not started", problems)
    where = f"http{'s' if chosen.tls_cert else ''}://{chosen.address}:{chosen.port}"
    out.print(f"Settings checked: {where}, sign-in {login_mode(chosen)}.")
    if check:
        return
    os.chdir(chosen.root)
    os.environ.update(environment(chosen))
    os.execv(sys.executable, streamlit_command(chosen))


def read_settings(file: Path | None, given: dict[str, object]) -> ServeSettings:
    """The settings file's ``[serve]`` with the options ``given`` over it (a relative ``root``
    in the file is relative to the file)."""
    raw: dict[str, object] = {}
    if file is not None:
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8")).get(SETTINGS_KEY, {})
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise FormulateError(
                f"cannot read {file}", [Problem(str(file), str(err), "fix the file or the path")]
            ) from None
    if file is not None and isinstance(raw.get("root"), str):  # beside the settings file
        raw["root"] = str(file.parent / str(raw["root"]))
    try:
        return ServeSettings.model_validate({**raw, **given})
    except ValidationError as err:
        where = f"{file} [{SETTINGS_KEY}]" if file else "the options"
        raise FormulateError(
            f"{where} has problems",
            [
                Problem(".".join(map(str, e["loc"])), e["msg"], "see formulate serve --help")
                for e in err.errors()
            ],
        ) from None


def login_mode(chosen: ServeSettings) -> str:
    """How people sign in: required, or not until the store has accounts."""
    if chosen.login == "required" or not chosen.local():
        return "required" + (" (single sign-on too)" if chosen.sso else "")
    return "once the store has accounts"


def settings_problems(chosen: ServeSettings) -> list[Problem]:
    """What would keep people out, or let anyone in: no campaign, a store that cannot be
    opened, sign-in required where no admin account exists, missing certificate or SSO
    settings."""
    from formulate.data import open_store
    from formulate.data.accounts import accounts
    from formulate.data.database import redact
    from formulate.spec.campaign import CAMPAIGN_FILE, load_campaign

    folders = sorted((chosen.root / "campaigns").glob(f"*/{CAMPAIGN_FILE}"))
    if not folders:
        return [Problem(str(chosen.root / "campaigns"), "no campaign", "formulate init NAME")]
    problems = _file_problems(chosen)
    required = login_mode(chosen).startswith("required")
    for toml in folders:
        try:
            campaign = load_campaign(toml.parent)
            admins = [a for a in accounts(open_store(campaign, chosen.db), campaign.name)
                      if a["role"] == "admin"]  # fmt: skip
        except FormulateError as err:
            problems.append(Problem(toml.parent.name, err.args[0], "fix it, or move it away"))
            continue
        if required and not admins:
            problems.append(
                Problem(
                    campaign.name,
                    "sign-in is required and no account is its admin: nobody could get in",
                    f"formulate users add {campaign.name} NAME --role admin"
                    + (f" --db {redact(chosen.db)}" if chosen.db else ""),
                )
            )
    return problems


def _file_problems(chosen: ServeSettings) -> list[Problem]:
    problems = []
    if (chosen.tls_cert is None) != (chosen.tls_key is None):
        problems.append(Problem("tls_cert/tls_key", "only one given", "give both, or neither"))
    for name in ("tls_cert", "tls_key"):
        path = getattr(chosen, name)
        if path is not None and not path.is_file():
            problems.append(Problem(name, f"{path} is not a file", "check the path"))
    secrets = chosen.root / ".streamlit" / "secrets.toml"
    if chosen.sso:
        text = secrets.read_text(encoding="utf-8") if secrets.is_file() else ""
        auth = tomllib.loads(text).get("auth", {}) if text else {}
        missing = [k for k in ("redirect_uri", "cookie_secret", "client_id", "client_secret",
                               "server_metadata_url") if k not in auth]  # fmt: skip
        if missing:
            problems.append(
                Problem(
                    str(secrets), f"[auth] lacks {', '.join(missing)}",
                    "add your OpenID Connect provider's settings (docs: guide/server)",
                )
            )  # fmt: skip
    return problems


def environment(chosen: ServeSettings) -> dict[str, str]:
    """What the app reads: the lab-wide store, sign-in required, session length, SSO."""
    from formulate.spec.campaign import DB_ENV
    from formulate.ui.login import HOURS_ENV, REQUIRED_ENV, SSO_ENV

    env = {HOURS_ENV: str(chosen.session_hours), SSO_ENV: "1" if chosen.sso else ""}
    if chosen.db:
        env[DB_ENV] = chosen.db
    if login_mode(chosen).startswith("required"):
        env[REQUIRED_ENV] = "required"
    return env


def streamlit_command(chosen: ServeSettings) -> list[str]:
    """``python -m streamlit run`` of the packaged app, listening where asked, XSRF on."""
    app = Path(__file__).resolve().parents[1] / "ui" / "launch.py"
    command = [
        *(sys.executable, "-m", "streamlit", "run", str(app)),
        *("--server.address", chosen.address, "--server.port", str(chosen.port)),
        *("--server.headless", "true", "--server.enableXsrfProtection", "true"),
        *("--server.enableCORS", "true", "--server.fileWatcherType", "none"),
        *("--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"),
    ]
    if chosen.tls_cert and chosen.tls_key:
        command += ["--server.sslCertFile", str(chosen.tls_cert)]
        command += ["--server.sslKeyFile", str(chosen.tls_key)]
    return command
