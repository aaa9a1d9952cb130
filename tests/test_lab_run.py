"""Headless runs: interrupted and resumed, nothing lost or duplicated."""

from __future__ import annotations

import pandas as pd
import pytest

from formulate.data import Store, campaign_table, import_table
from formulate.data.cells import canonical_headers
from formulate.errors import FormulateError
from formulate.lab.run import run_campaign, run_id
from formulate.lab.virtual import VirtualLab
from formulate.plan.planner import Request
from formulate.spec.campaign import Campaign
from formulate.testing import emulated

FAST = Request(batch_size=3, pool_size=256)


class FlakyLab:
    """The virtual lab, but the robot dies on its ``fail_on``-th batch."""

    provenance = "emulated"
    canonical_units = True  # its numbers are the virtual lab's: S/cm and h

    def __init__(self, fail_on: int) -> None:
        self.calls, self.fail_on, self.lab = 0, fail_on, VirtualLab(seed=1)

    def measure(self, batch: pd.DataFrame) -> pd.DataFrame:
        self.calls += 1
        if self.calls == self.fail_on:
            raise FormulateError("robot arm jammed")
        return self.lab.measure(batch)

    def reseed(self, seed: int) -> None:
        self.lab.reseed(seed)


@pytest.fixture
def seeded(campaign: Campaign, store: Store) -> Store:
    start = emulated(campaign, 8, seed=31).drop(columns=["film_formed"])
    import_table(campaign, store, canonical_headers(campaign, start.assign(provenance="emulated")))
    return store


def test_killed_run_resumes_without_loss_or_duplicates(campaign: Campaign, seeded: Store) -> None:
    flaky = FlakyLab(fail_on=2)
    with pytest.raises(FormulateError, match="robot arm jammed"):
        run_campaign(campaign, seeded, flaky, 3, FAST, rid="r1")
    members = seeded.membranes("cheng2023")
    assert list(members.loc[members["status"] == "pending", "batch"].unique()) == [2]
    result = run_campaign(campaign, seeded, flaky, 3, FAST, rid="r1")
    assert result.batches == [2, 3]
    members = seeded.membranes("cheng2023")
    ours = members[members["source"].str.startswith("formulate run r1")]
    assert len(ours) == 9 and set(ours["batch"]) == {1, 2, 3}
    assert not (ours["status"] == "pending").any()
    assert members["membrane"].is_unique
    again = run_campaign(campaign, seeded, flaky, 3, FAST, rid="r1")  # already complete
    assert again.batches == [] and len(seeded.membranes("cheng2023")) == len(members)


def test_a_lab_that_skips_membranes_stops_the_run_clearly(
    campaign: Campaign, seeded: Store
) -> None:
    class Forgetful:
        provenance = "measured"

        def measure(self, batch: pd.DataFrame) -> pd.DataFrame:
            return pd.DataFrame(
                {"membrane": batch["membrane"].iloc[:1], "ionic_conductivity": [1e-4]}
            )

    with pytest.raises(FormulateError, match="returned no results for 2 membrane"):
        run_campaign(campaign, seeded, Forgetful(), 2, FAST, rid="r2")
    table = campaign_table(campaign, seeded)
    assert (table["status"] == "pending").sum() == 2


def test_run_ids_are_stable_and_distinct(campaign: Campaign) -> None:
    assert run_id(campaign, "virtual", FAST, 3) == run_id(campaign, "virtual", FAST, 3)
    assert run_id(campaign, "virtual", FAST, 3) != run_id(campaign, "virtual", FAST, 4)
