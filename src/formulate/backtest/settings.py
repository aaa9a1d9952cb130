"""A backtest's settings: what is replayed, against which oracle, with which strategies,
stored as ``DIR/backtest.json`` so that a folder can be resumed or reported on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from formulate.errors import FormulateError, Problem
from formulate.spec.campaign import Campaign, load_campaign
from formulate.spec.priors import Prior
from formulate.spec.strategies import strategies_for

KINDS = ("pool", "emulator")
TRANSFERS = ("autoregressive", "multitask", "stacked")
SETTINGS_FILE = "backtest.json"


@dataclass(frozen=True)
class Settings:
    """One backtest, as stored in ``DIR/backtest.json``.

    Attributes:
        kind: ``pool`` or ``emulator``.
        campaign: the campaign folder or ``campaign.toml`` (its space and objectives).
        pool: the CSV of past experiments (``pool`` only).
        objectives: the objectives scored (default: the campaign's).
        strategies: strategies compared, in order.
        seeds: number of seeds (0 .. seeds-1).
        initial: random rows every strategy of a seed starts from (0 with ``priors``: the
            sources choose the first experiments).
        batch_size: membranes per step.
        budget: experiments per run, initial rows included (a pool: at most its rows).
        noise: emulator noise on (a real lab's) or off.
        horizon_h: Li|Li test horizon of the emulator, h.
        surrogate: surrogate spec of the planner's strategies (default: the campaign's).
        stated: every run also knows the campaign's stated membranes (its seed data of
            provenance ``stated``, e.g. a paper's), as a lab's campaign does from its start;
            they are neither experiments of the run nor scored (emulator only).
        priors: tables of earlier experiments every run learns from (``[[prior]]`` sources
            added to the campaign's own; never experiments of the run, never scored).
        transfer: how the surrogates learn from them (``stacked``, ``multitask`` or
            ``autoregressive``; default: the campaign's ``[strategy] transfer``).
    """

    kind: str
    campaign: str
    pool: str | None = None
    objectives: tuple[str, ...] = ()
    strategies: tuple[str, ...] = ()
    seeds: int = 20
    initial: int = 6
    batch_size: int = 4
    budget: int = 30
    noise: bool = True
    horizon_h: float = 1500.0
    surrogate: str | None = None
    stated: bool = False
    priors: tuple[str, ...] = ()
    transfer: str | None = None

    def describe(self) -> str:
        where = Path(self.pool).name if self.pool else "the virtual lab"
        return (
            f"{self.kind} backtest on {where}: {len(self.strategies)} strategies x "
            f"{self.seeds} seeds, {self.initial} initial + batches of {self.batch_size} "
            f"up to {self.budget} experiments"
            + (", the campaign's stated membranes known from the start" if self.stated else "")
            + (
                f", learning from {', '.join(Path(p).name for p in self.priors)}"
                + (f" ({self.transfer})" if self.transfer else "")
                if self.priors
                else ""
            )
        )


def backtest_campaign(settings: Settings) -> Campaign:
    """The campaign with only the scored objectives (in the requested order) and the
    settings' prior tables beside its own sources."""
    campaign = load_campaign(settings.campaign)
    if settings.priors:
        added = tuple(
            Prior(
                table=str(Path(p).resolve()),
                differs=f"a table given to the backtest ({Path(p).name})",
            )
            for p in settings.priors
        )
        raw = campaign.model_dump(by_alias=True)
        raw["prior"] = [*raw.get("prior", ()), *(a.model_dump() for a in added)]
        campaign = campaign.model_validate(raw)
    if settings.transfer:
        if settings.transfer not in TRANSFERS:
            raise FormulateError(
                "unknown way to learn from prior sources",
                [Problem("--transfer", settings.transfer, f"use one of {TRANSFERS}")],
            )
        strategy = campaign.strategy.model_copy(update={"transfer": settings.transfer})
        campaign = campaign.model_copy(update={"strategy": strategy})
    if not settings.objectives:
        return campaign
    known = {o.property: o for o in campaign.objectives}
    missing = [o for o in settings.objectives if o not in known]
    if missing:
        raise FormulateError(
            "unknown objective(s) for this backtest",
            [Problem("--objective", m, f"use one of {sorted(known)}") for m in missing],
        )
    return campaign.model_copy(update={"objectives": tuple(known[o] for o in settings.objectives)})


def default_strategies(campaign: Campaign) -> tuple[str, ...]:
    """Every strategy that fits the campaign's number of objectives."""
    return strategies_for(len(campaign.objectives))


def load_settings(folder: Path) -> Settings:
    file = folder / SETTINGS_FILE
    if not file.is_file():
        raise FormulateError(
            f"no backtest in {folder}",
            [Problem(str(file), "missing", "run 'formulate backtest pool' or 'emulator' first")],
        )
    raw = json.loads(file.read_text(encoding="utf-8"))
    for key in ("objectives", "strategies", "priors"):
        raw[key] = tuple(raw.get(key, ()))
    return Settings(**raw)
