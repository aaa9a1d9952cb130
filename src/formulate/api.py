"""formulate as a library, for notebooks: a campaign opened once, pandas in and pandas out.

    import formulate
    c = formulate.open("campaigns/mylab")          # a folder, a name, or with db="postgresql+..."
    batch = c.propose(4)                          # DataFrame: formulation, predictions, reasons
    c.accept(batch)                               # stored as pending membranes B<n>-1...
    c.log(results)                                # a DataFrame or CSV, all or nothing
    c.pareto(), c.status(), c.schedule(), c.diagnose()
    c.backtest("past.csv", strategies=("qlognei", "random"), seeds=10)   # your past experiments

Each method calls the functions the CLI and the app call, so the same validation, messages and
records apply; a user mistake raises :class:`formulate.FormulateError` (its ``problems`` name
where, what and the fix) and writes nothing. Numbers come back in canonical units (S/cm, h) in
the columns named by property, as the campaign table holds them; ``view=True`` gives what a
person reads (display units, three significant digits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from formulate.data import (
    Store,
    abandon,
    campaign_table,
    import_table,
    make_measurement,
    mark,
    open_store,
    retract,
)
from formulate.data.import_plan import ImportPlan
from formulate.errors import FormulateError, Problem
from formulate.report.summary import membrane_view, status_summary
from formulate.spec.campaign import Campaign, load_campaign

if TYPE_CHECKING:
    from formulate.data.records import NewMeasurement


@dataclass
class OpenCampaign:
    """A campaign and its store, as :func:`open` returns them."""

    campaign: Campaign
    store: Store

    @property
    def name(self) -> str:
        return self.campaign.name

    def table(self, view: bool = False) -> pd.DataFrame:
        """One row per membrane: formulation, status, current outcomes (canonical units, with
        ``<prop>_censored`` flags); ``view``: as people read it (display units, provenance)."""
        table = campaign_table(self.campaign, self.store)
        return membrane_view(self.campaign, table, wide=True) if view else table

    def status(self) -> dict[str, Any]:
        """Counts per status, per objective how many are measured and the best so far, and
        the prior sources' rows counted apart (``formulate status --json``)."""
        return status_summary(self.campaign, campaign_table(self.campaign, self.store))

    def propose(
        self,
        n: int | None = None,
        *,
        strategy: str | None = None,
        seed: int | None = None,
        weights: dict[str, float] | None = None,
        target: str | None = None,
        device: str = "auto",
        replicates: bool = False,
        surrogate: str | None = None,
        step: Callable[[str], None] | None = None,
    ) -> pd.DataFrame:
        """The next batch of ``n`` membranes (default: the campaign's batch size), not stored:
        formulation, per objective ``<prop>_mean``/``_lower``/``_upper`` (95%, canonical
        units) and ``_chance`` (to beat the best so far), ``reason``; notes for the whole
        batch in ``attrs["notes"]``. Store it with :meth:`accept`. ``step`` hears what is
        being done ("fitting the models")."""
        from formulate.plan.planner import Request
        from formulate.plan.planner import propose as plan

        request = Request.for_campaign(
            self.campaign,
            [f"{k}={v}" for k, v in (weights or {}).items()],
            batch_size=n,
            strategy=strategy,
            seed=seed,
            device=device,
            target=target,
            replicates=replicates,
            surrogate=surrogate,
        )
        table = campaign_table(self.campaign, self.store)
        return plan(self.campaign, table, request, step=step)

    def accept(self, batch: pd.DataFrame, source: str = "formulate API") -> pd.DataFrame:
        """Store proposals (from :meth:`propose`) as pending membranes of a new batch; returns
        them with their ``membrane`` ids and ``batch`` number. ``source`` is recorded with
        them (who asked: the API, ``formulate propose``, the app)."""
        from formulate.plan.planner import store_proposals

        missing = [n for n in self.campaign.space.names() if n not in batch]
        if missing or batch.empty:
            raise FormulateError(
                "nothing was accepted",
                [Problem("batch", f"no {missing or 'rows'}", "pass what propose() returned")],
            )
        return store_proposals(self.campaign, self.store, batch, source=source)

    def log(
        self,
        results: pd.DataFrame | str | Path,
        *,
        provenance: str = "measured",
        surprising: bool = False,
        name: str | None = None,
    ) -> ImportPlan:
        """Outcomes (and new membranes) from a DataFrame or a CSV file, wide or long, read like
        ``formulate import``: all or nothing, lab notation read and said back in
        ``readings``; a number without a unit is in the display unit (mS/cm). ``name`` is what
        messages call the table (default: the file's name, or "DataFrame"). Returns what was
        written (``.said(name)`` in one sentence)."""
        return import_table(
            self.campaign,
            self.store,
            results if isinstance(results, pd.DataFrame) else Path(results),
            provenance=provenance,
            surprising=surprising,
            name=name,
        )

    def log_value(
        self,
        membrane: str,
        prop: str,
        value: float | str,
        *,
        unit: str | None = None,
        censored: bool = False,
        temperature_C: float | None = None,
        by: str = "",
        method: str = "",
        note: str = "",
        surprising: bool = False,
        where: str = "value",
        source: str = "api",
    ) -> NewMeasurement:
        """One outcome: ``0.45`` is 0.45 mS/cm, ``"4.5e-4 S/cm"`` and ``">600 h"`` carry their
        own unit, as does ``unit``. Returns the stored value (canonical units); ``where`` and
        ``source`` name the caller in a message and in the record (``formulate log``: VALUE,
        cli)."""
        made = make_measurement(
            self.campaign,
            membrane,
            prop,
            value,
            where=where,
            unit=unit,
            censored=censored,
            temperature_C=temperature_C,
            provenance="measured",
            surprising=surprising,
            recorded_by=self.store.who(by),
            method=method,
            note=note,
            source=source,
        )
        if isinstance(made, Problem):
            raise FormulateError("nothing was logged", [made])
        self.store.add(self.name, [], [made])
        return made

    def failed(self, membrane: str, note: str = "", by: str = "") -> None:
        """A film that did not form: the membrane is failed and film_formed = 0 recorded."""
        mark(self.campaign, self.store, membrane, "failed", note, by)

    def retract(
        self,
        membrane: str,
        prop: str,
        *,
        temperature_C: float | None = None,
        by: str = "",
        reason: str = "",
    ) -> float:
        """Withdraw a wrong current value (kept in the history, marked retracted; the value
        before it, if any, is current again). Returns the value withdrawn (canonical units)."""
        return retract(self.campaign, self.store, membrane, prop, temperature_C, by, reason)

    def abandon(
        self, membranes: list[str] | None = None, *, batch: int | None = None, note: str = ""
    ) -> list[str]:
        """Pending or made membranes that will not be made (named, or every open one of
        ``batch``), in one transaction; returns those abandoned."""
        return abandon(self.campaign, self.store, membranes, batch, note)

    def pareto(self) -> pd.DataFrame:
        """The measured membranes on the Pareto front of the objectives (canonical units)."""
        from formulate.plan.progress import pareto_front

        return pareto_front(self.campaign, campaign_table(self.campaign, self.store))

    def schedule(self, prop: str = "li_symmetric_life", slots: int = 1) -> pd.DataFrame:
        """The made membranes worth most on the ``prop`` instruments now, best first (an
        empty frame's ``attrs["why"]`` says why there is none)."""
        from formulate.data.cell_tests import cell_tests
        from formulate.plan.schedule import nothing_to_schedule, schedule

        table, tests = (
            campaign_table(self.campaign, self.store),
            cell_tests(self.campaign, self.store),
        )
        ranked = schedule(self.campaign, table, tests, prop, slots)
        if ranked.empty:
            ranked.attrs["why"] = nothing_to_schedule(self.campaign, table, tests, prop)
        return ranked

    def diagnose(self, surrogate: str | None = None) -> pd.DataFrame:
        """Leave-one-out scores per objective (RMSE, R2, NLPD, 95% coverage on the model
        scale); objectives with too few membranes are listed in ``attrs["skipped"]``."""
        from formulate.model import model_cache
        from formulate.model.diagnostics import diagnose

        name = surrogate or self.campaign.strategy.surrogate
        table = campaign_table(self.campaign, self.store)
        found = diagnose(self.campaign, table, [name], cache_dir=model_cache(self.campaign))
        scores = found.scores.copy()
        scores.attrs["skipped"] = [f"{p.where}: {p.what}" for p in found.skipped]
        return scores

    def backtest(
        self,
        pool: str | Path | None = None,
        *,
        strategies: tuple[str, ...] = (),
        objectives: tuple[str, ...] = (),
        seeds: int = 10,
        initial: int = 3,
        budget: int = 30,
        batch_size: int = 1,
        folder: str | Path | None = None,
        workers: int | None = None,
    ) -> pd.DataFrame:
        """Replay a table of past experiments (``pool``: a CSV the campaign reads), or the
        virtual lab when None, with each strategy over ``seeds`` seeds (default strategies:
        every one that fits the objectives), like ``formulate backtest pool|emulator``. Runs
        are stored in ``folder`` (default ``backtests/<campaign>-<kind>``; a rerun adds only
        what is missing). Returns the summary table; the folder is in ``attrs["folder"]``."""
        from formulate.backtest import Report, Settings, prepare, run_backtest

        kind = "pool" if pool is not None else "emulator"
        settings = Settings(
            kind=kind,
            campaign=str(self.campaign.folder),
            pool=None if pool is None else str(pool),
            objectives=tuple(objectives),
            strategies=tuple(strategies),
            seeds=seeds,
            initial=initial,
            batch_size=batch_size,
            budget=budget,
        )
        where = Path(folder) if folder else Path("backtests") / f"{self.name}-{kind}"
        bt = run_backtest(prepare(settings, where), workers=workers)
        summary = pd.read_csv(Report(bt).write()["summary.csv"])
        summary.attrs["folder"] = where
        return summary


def open(campaign: str | Path, db: str | None = None, token: str | None = None) -> OpenCampaign:
    """Open a campaign: a folder with ``campaign.toml`` or a name under ``campaigns/``; its
    store is the campaign's (SQLite file by default) or ``db`` (a database URL). The store is
    seeded from the campaign's files on first use. On a store with accounts, writes are made
    as the account of ``token`` (or ``$FORMULATE_TOKEN``; ``formulate users token NAME``
    gives one), else as the account named like the operating-system user, and each is
    checked against that account's role.

    Raises:
        FormulateError: no such campaign, a campaign file with problems, a store that cannot
            be opened, or a token that is unknown or has expired.
    """
    from formulate.data.accounts import acting

    spec = load_campaign(campaign)
    return OpenCampaign(spec, acting(open_store(spec, db), token))
