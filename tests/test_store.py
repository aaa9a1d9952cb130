"""The store: round trips, append-only corrections, statuses, schema versions, concurrency."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from formulate.data import SCHEMA_VERSION, NewMeasurement, NewMembrane, Store, wide_table
from formulate.errors import FormulateError
from formulate.spec.campaign import Campaign
from formulate.testing import formulation


def membrane(mid: str, **kw: object) -> NewMembrane:
    return NewMembrane(membrane=mid, formulation=formulation(**kw), provenance="measured")


def cond(mid: str, value: float, **kw: object) -> NewMeasurement:
    return NewMeasurement(
        membrane=mid,
        property="ionic_conductivity",
        value=value,
        unit="S/cm",
        provenance="measured",
        temperature_C=25.0,
        **kw,
    )  # type: ignore[arg-type]


def test_round_trip_membrane_and_measurement(db_url: str) -> None:
    store = Store(db_url)
    store.add("c", [membrane("M1")], [cond("M1", 3e-4, recorded_by="ana", method="EIS")])
    again = Store(db_url)  # reopened
    members = again.membranes("c")
    assert members.loc[0, "membrane"] == "M1" and members.loc[0, "status"] == "measured"
    assert members.loc[0, "filler_wt_pct"] == 2.5
    meas = again.measurements("c")
    assert meas.loc[0, "value"] == 3e-4 and meas.loc[0, "recorded_by"] == "ana"
    assert meas.loc[0, "provenance"] == "measured" and meas.loc[0, "method"] == "EIS"


def test_corrections_supersede_and_never_overwrite(db_url: str) -> None:
    store = Store(db_url)
    store.add("c", [membrane("M1")], [cond("M1", 3e-4)])
    store.add("c", [], [cond("M1", 3.3e-4, note="re-fit of the EIS arc")])
    current = store.measurements("c")
    assert list(current["value"]) == [3.3e-4]
    history = store.measurements("c", history=True)
    assert list(history["value"]) == [3e-4, 3.3e-4]
    assert list(history["superseded"]) == [True, False]
    assert history.loc[1, "supersedes"] == history.loc[0, "id"]
    table = wide_table(store.membranes("c"), store.measurements("c"), ["filler"], 25.0)
    assert table.loc[0, "ionic_conductivity"] == 3.3e-4


def test_other_temperature_is_its_own_column_and_censor_flags(db_url: str) -> None:
    store = Store(db_url)
    life = NewMeasurement(
        membrane="M1",
        property="li_symmetric_life",
        value=600,
        unit="h",
        provenance="measured",
        censored=True,
        temperature_C=25.0,
    )
    store.add(
        "c",
        [membrane("M1"), membrane("M2")],
        [
            cond(
                "M1",
                1e-3,
            ),
            life,
        ],
    )
    store.add(
        "c",
        [],
        [
            NewMeasurement(
                membrane="M1",
                property="ionic_conductivity",
                value=2e-3,
                unit="S/cm",
                provenance="measured",
                temperature_C=60.0,
            )
        ],
    )
    table = wide_table(
        store.membranes("c"), store.measurements("c"), ["filler"], 25.0, ["li_symmetric_life"]
    ).set_index("membrane")
    assert table.loc["M1", "ionic_conductivity"] == 1e-3
    assert table.loc["M1", "ionic_conductivity@60C"] == 2e-3
    assert bool(table.loc["M1", "li_symmetric_life_censored"]) is True
    assert bool(table.loc["M2", "li_symmetric_life_censored"]) is False


def test_duplicates_and_unknown_membranes_write_nothing(db_url: str) -> None:
    store = Store(db_url)
    store.add("c", [membrane("M1")])
    with pytest.raises(FormulateError, match="duplicate membrane ids"):
        store.add("c", [membrane("M2"), membrane("M1")])
    with pytest.raises(FormulateError, match="not in the campaign"):
        store.add("c", [membrane("M3")], [cond("M3", 1e-4), cond("ghost", 1e-4)])
    assert list(store.membranes("c")["membrane"]) == ["M1"]
    assert store.measurements("c").empty


def test_status_moves_forward_only(db_url: str) -> None:
    store = Store(db_url)
    store.add("c", [membrane("M1")])
    store.set_status("c", "M1", "made")
    store.set_status("c", "M1", "failed", note="film cracked on peeling")
    with pytest.raises(FormulateError, match="cannot go back to pending"):
        store.set_status("c", "M1", "pending")
    row = store.membranes("c").iloc[0]
    assert row["status"] == "failed" and "film cracked" in row["notes"]
    with pytest.raises(FormulateError, match="no membrane 'M9'"):
        store.set_status("c", "M9", "made")


def test_batches_and_campaigns_are_separate(db_url: str) -> None:
    store = Store(db_url)
    store.add("a", [NewMembrane("X", formulation(), "measured", batch=3)])
    store.add("b", [NewMembrane("X", formulation(), "measured")])  # same id, other campaign
    assert store.next_batch("a") == 4 and store.next_batch("b") == 1
    assert store.campaigns() == ["a", "b"]


def test_schema_is_versioned(db_url: str) -> None:
    url = db_url
    assert Store(url).schema_version() == SCHEMA_VERSION
    with create_engine(url).begin() as conn:
        conn.execute(text("UPDATE formulate_meta SET value='99' WHERE key='schema_version'"))
    with pytest.raises(FormulateError, match="newer than this formulate understands"):
        Store(url)


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FormulateError, match="cannot open the store"):
        Store(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    with pytest.raises(FormulateError, match="cannot open the store"):
        Store("nosuchdialect://x")


def test_two_users_on_one_store_keep_each_others_records(db_url: str) -> None:
    url = db_url
    alice, bob = Store(url), Store(url)
    alice.add("c", [membrane("A1")])
    bob.add("c", [membrane("B1")], [cond("A1", 1e-4, recorded_by="bob")])
    alice.add("c", [], [cond("B1", 2e-4, recorded_by="alice")])
    reader = Store(url)
    members = wide_table(reader.membranes("c"), reader.measurements("c"), ["filler"], 25.0)
    members = members.set_index("membrane")
    assert members.loc["A1", "ionic_conductivity"] == 1e-4
    assert members.loc["B1", "ionic_conductivity"] == 2e-4


def test_paper_campaign_store_is_seeded_once(campaign: Campaign, store: Store) -> None:
    from formulate.data import open_store

    assert store.is_seeded("cheng2023")
    again = open_store(campaign, store.url)
    assert len(again.membranes("cheng2023")) == 3


def test_data_version_changes_with_every_write(db_url: str) -> None:
    store = Store(db_url)
    first = store.data_version("c")
    store.add("c", [NewMembrane("m1", formulation(), "measured", status="made")])
    second = store.data_version("c")
    store.add("c", [], [NewMeasurement("m1", "ionic_conductivity", 1e-4, "S/cm", "measured")])
    third = store.data_version("c")
    assert len({first, second, third}) == 3
    assert store.data_version("c") == third  # reading changes nothing


def _log_many(url: str, worker: int, n: int, props: list[str]) -> None:
    """One person logging ``n`` values, cycling over ``props`` of membrane N0."""
    store = Store(url)
    for k in range(n):
        prop = props[(worker + k) % len(props)]
        store.add(
            "c",
            [],
            [NewMeasurement("N0", prop, 0.1 + 0.001 * k, "", "measured", recorded_by=f"w{worker}")],
        )
    store.engine.dispose()


def test_concurrent_writers_keep_one_current_value_per_series(db_url: str) -> None:
    """8 processes x 50 logs of the same five new properties of one membrane, at once: every
    value is kept, and each property has exactly one current value (one chain per series)."""
    store = Store(db_url)
    store.add("c", [NewMembrane("N0", {"x": 1.0}, "imported")])
    props = ["crystallinity", "mobile_li_fraction", "film_formed", "transference_number", "x_ray"]
    props[2] = "activation_energy"
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_log_many, args=(db_url, w, 50, props)) for w in range(8)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=300)
        assert p.exitcode == 0
    history = store.measurements("c", history=True)
    assert len(history) == 400
    current = store.measurements("c")
    assert sorted(current["property"]) == sorted(props)
    for prop in props:
        rows = history[history["property"] == prop]
        assert rows["supersedes"].isna().sum() == 1  # one first value: one chain
        assert rows["current"].sum() == 1


def test_the_database_refuses_a_second_first_value_of_a_series(db_url: str) -> None:
    """The partial unique index (one value per series that supersedes nothing) exists on both
    stores: a row written around the store that would start a second chain is refused, while
    a correction (it supersedes the first) is taken."""
    from sqlalchemy import insert, select
    from sqlalchemy.exc import IntegrityError

    from formulate.data.schema import MeasurementRow

    store = Store(db_url)
    store.add("c", [NewMembrane("N0", {"x": 1.0}, "imported")])
    store.add("c", [], [NewMeasurement("N0", "crystallinity", 0.3, "", "measured")])
    table = MeasurementRow.__table__
    with store.engine.connect() as conn:
        first = conn.execute(select(table)).mappings().one()
    row = {k: v for k, v in first.items() if k != "id"}
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(table).values(row))
    with store.engine.begin() as conn:
        conn.execute(insert(table).values({**row, "value": 0.31, "supersedes_id": first["id"]}))
    current = store.measurements("c")
    assert current["value"].tolist() == [0.31]
