"""Headless campaign runs: propose, measure through a lab plug-in, log, repeat.

A run is named by a run id (by default a hash of its settings) that its membranes carry in
their ``source``. Running the same command again continues it: a batch proposed but not yet
measured (the run was killed) is measured first, and the run stops once it has its number of
batches. Nothing is lost or proposed twice: each batch is stored before it is measured, and
each batch's results are recorded all or nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd

from formulate.data import Store, campaign_table
from formulate.data.cells import canonical_headers
from formulate.errors import FormulateError, Problem
from formulate.lab.plugins import Lab, record_results
from formulate.lab.virtual import VirtualLab
from formulate.plan.planner import Request, propose, store_proposals
from formulate.plan.progress import history, pareto_front
from formulate.spec.campaign import Campaign

Progress = Callable[[str, int, int], None]
"""Called as ``progress(message, batches done, batches wanted)``."""


@dataclass
class RunResult:
    """What a run did: its id, the batches it measured, and the campaign's progress."""

    run_id: str
    batches: list[int] = field(default_factory=list)
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    pareto: pd.DataFrame = field(default_factory=pd.DataFrame)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)


def run_id(campaign: Campaign, lab_spec: str, request: Request, batches: int) -> str:
    """A stable id for a run's settings (same command, same id)."""
    text = (
        f"{campaign.name}|{lab_spec}|{request.strategy}|{request.batch_size}|"
        f"{request.seed}|{request.surrogate}|{batches}"
    )
    return hashlib.sha256(text.encode()).hexdigest()[:8]


RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def checked_run_id(text: str) -> str:
    """A run id a person chose, refused unless it is a plain name (it names files under the
    campaign's ``runs/``: ``../x`` would write elsewhere)."""
    if RUN_ID.match(text) and ".." not in text:
        return text
    raise FormulateError(
        f"'{text}' cannot name a run",
        [Problem("--run-id", text, "use letters, digits, '.', '_' and '-' (at most 64)")],
    )


def _source(rid: str) -> str:
    return f"formulate run {rid}"


def run_campaign(
    campaign: Campaign,
    store: Store,
    lab: Lab,
    batches: int,
    request: Request,
    rid: str,
    progress: Progress | None = None,
) -> RunResult:
    """Run (or continue) ``batches`` batches of ``request.batch_size`` membranes.

    Until the models can be fitted, batches come from the planner's warm-up rule.
    """
    result = RunResult(rid)
    source = _source(rid)
    note = progress or (lambda *_: None)
    while True:
        members = store.membranes(campaign.name)
        mine = members[members["source"].str.startswith(source)] if len(members) else members
        done = sorted(set(mine.loc[mine["status"] != "pending", "batch"].dropna().astype(int)))
        waiting = mine[mine["status"] == "pending"]
        if len(waiting):
            batch = int(waiting["batch"].iloc[0])
            note(f"measuring batch {batch}", len(done), batches)
            _measure(campaign, store, lab, waiting, batch, request.seed)
            result.batches.append(batch)
            continue
        if len(done) >= batches:
            break
        note(f"proposing batch {len(done) + 1} of {batches}", len(done), batches)
        table = campaign_table(campaign, store)
        proposals = _propose(campaign, table, request, len(done))
        store_proposals(campaign, store, proposals, source=source)
    table = campaign_table(campaign, store)
    result.history = history(campaign, table)
    result.pareto = pareto_front(campaign, table)
    result.table = table
    note("done", batches, batches)
    return result


def _propose(campaign: Campaign, table: pd.DataFrame, request: Request, done: int) -> pd.DataFrame:
    """Batch ``done + 1`` (its own seed); the planner's warm-up covers a campaign too young
    for models."""
    return propose(campaign, table, replace(request, seed=request.seed + done))


def _measure(
    campaign: Campaign, store: Store, lab: Lab, waiting: pd.DataFrame, batch: int, seed: int
) -> None:
    """Measure a stored batch; the virtual lab draws its noise from (seed, batch) so that a
    resumed run measures exactly as an uninterrupted one would."""
    if isinstance(lab, VirtualLab):
        lab.reseed(seed * 100_003 + batch)
    cols = ["membrane", *campaign.space.names()]
    results = lab.measure(waiting[cols].reset_index(drop=True))
    if getattr(lab, "canonical_units", False):  # bare numbers would be read in display units
        results = canonical_headers(campaign, results)
    record_results(
        campaign,
        store,
        results,
        lab.provenance,
        f"lab, batch {batch}",
        sent=set(waiting["membrane"]),
    )
    members = store.membranes(campaign.name)
    still = members.loc[
        members["membrane"].isin(waiting["membrane"]) & (members["status"] == "pending"), "membrane"
    ].tolist()
    if still:
        raise FormulateError(
            f"the lab returned no results for {len(still)} membrane(s) of batch {batch}",
            [
                Problem(
                    m,
                    "still pending",
                    "log its outcomes (formulate log / import), or mark "
                    "it failed, then run again to continue",
                )
                for m in still
            ],
        )
