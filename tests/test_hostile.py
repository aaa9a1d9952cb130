"""Hostile and careless input, on both stores: every case is refused with a message naming
where and what, exit code 2 and no traceback, and the store's every row is unchanged.

One campaign per store serves all cases (a case that changed it would fail its own check and
every later one). Campaign files and damaged SQLite files, which no store holds, follow.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from formulate.cli import main
from formulate.data import NewMeasurement, NewMembrane, Store, open_store, plan_import, read_table
from formulate.data.importer import commit
from formulate.data.schema import Base
from formulate.errors import FormulateError
from formulate.lab.plugins import record_results
from formulate.spec.campaign import Campaign, init_campaign, load_campaign
from formulate.testing import formulation
from tests.conftest import new_database

HEADER = "membrane,filler,filler_wt_pct,polymer,solvent,thf_fraction,eo_li_ratio"
ROW = "cluster_chain,5,PEO,THF_DCM,0.5,16"
LONG = "membrane,property,value"


@dataclass
class World:
    folder: Path
    campaign: Campaign
    store: Store
    url: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The paper's campaign plus a pending batch (P1, P2) and a measured N0, on one store."""
    root = tmp_path_factory.mktemp(f"hostile-{request.param}")
    for url in new_database(request.param, root):
        spec = init_campaign("c", "cheng2023", root / "campaigns")
        spec = load_campaign(spec.folder)
        store = open_store(spec, url)
        pending = [
            NewMembrane(f"P{i}", formulation(filler_wt_pct=w), "proposed", batch=1)
            for i, w in ((1, 5.0), (2, 7.5))
        ]
        measured = NewMembrane("N0", formulation(eo_li_ratio=20.0), "imported", "measured")
        value = NewMeasurement(
            "N0", "ionic_conductivity", 1e-4, "S/cm", "measured", temperature_C=25
        )
        store.add(spec.name, [*pending, measured], [value])
        yield World(spec.folder, spec, store, url)
        store.engine.dispose()


def snapshot(store: Store) -> list[tuple[str, list[tuple]]]:
    """Every row of every table, in key order."""
    with store.engine.connect() as conn:
        return [
            (
                table.name,
                [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key))],
            )
            for table in Base.metadata.sorted_tables
        ]


def cli(world: World, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main([args[0], "--db", world.url, str(world.folder), *args[1:]])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def refused(world: World, capsys: pytest.CaptureFixture[str], expected: str, *args: str) -> None:
    before = snapshot(world.store)
    code, text = cli(world, capsys, *args)
    assert code == 2, text
    assert expected in text, text
    assert "Traceback" not in text
    assert snapshot(world.store) == before


# --- log, mark, retract, abandon --------------------------------------------------------

LOGS = [
    (("CPCSE", "ionic_conductivity", "1e999"), "inf is not a finite number"),
    (("CPCSE", "ionic_conductivity", "--", "-1e999"), "is not a finite number"),
    (("CPCSE", "ionic_conductivity", "nan"), "is not a number"),
    (("CPCSE", "ionic_conductivity", "inf"), "is not a number"),
    (("CPCSE", "ionic_conductivity", "1e300"), "1e+297 S/cm is too large to be a measurement"),
    (("CPCSE", "ionic_conductivity", "1e300", "--surprising"), "too large to be a measurement"),
    (("CPCSE", "ionic_conductivity", "380"), "outside what a lab measures (0 to 100 mS/cm)"),
    (("CPCSE", "ionic_conductivity", "1e300 S/cm"), "too large to be a measurement"),
    (("CPCSE", "ionic_conductivity", "0.38 S/cm"), "--surprising"),
    (("CPCSE", "ionic_conductivity", "21 S/cm"), "outside what a lab measures"),
    (("CPCSE", "ionic_conductivity", "2000 mS/cm"), "outside what a lab measures"),
    (("CPCSE", "ionic_conductivity", "--", "-0.1"), "outside its physical range >= 0 mS/cm"),
    (("CPCSE", "ionic_conductivity", ">5e-4"), "cannot be censored"),
    (("CPCSE", "ionic_conductivity", "fast"), "'fast' is not a number"),
    (("CPCSE", "ionic_conductivity", ""), "is not a number"),
    (("CPCSE", "ionic_conductivity", "0x10"), "cannot read unit"),
    (("CPCSE", "ionic_conductivity", "5e-4 parsecs"), "cannot read unit 'parsecs'"),
    (("CPCSE", "ionic_conductivity", "5e-4 V"), "cannot read unit 'V'"),
    (("CPCSE", "ionic_conductivity", "5e-4", "--unit", "kg"), "cannot read unit 'kg'"),
    (("CPCSE", "transference_number", "1.2"), "physical range 0 to 1"),
    (("CPCSE", "transference_number", "--", "-0.1"), "physical range 0 to 1"),
    (("CPCSE", "transference_number", "62 %x"), "cannot read unit"),
    (("CPCSE", "transference_number", "1e999"), "not a finite number"),
    (("CPCSE", "li_symmetric_life", "1e12 h"), "outside what a lab measures (0 to 100000 h)"),
    (("CPCSE", "li_symmetric_life", ">1e9 h"), "outside what a lab measures"),
    (("CPCSE", "li_symmetric_life", "--", "-5 h"), "physical range >= 0 h"),
    (("CPCSE", "li_symmetric_life", "100 years"), "outside what a lab measures"),
    (("CPCSE", "li_symmetric_life", "3 V"), "cannot read unit 'V'"),
    (("CPCSE", "film_formed", "0.5"), "not a whole number"),
    (("CPCSE", "film_formed", "2"), "physical range 0 to 1"),
    (("CPCSE", "crystallinity", "1.5"), "physical range 0 to 1"),
    (("CPCSE", "stability_window", "50 V"), "outside what a lab measures"),
    (("CPCSE", "activation_energy", "99 eV"), "outside what a lab measures"),
    (("CPCSE", "glass_transition", "--", "-500"), "physical range >= -273.15"),
    (("CPCSE", "glass_transition", "900"), "outside what a lab measures"),
    (("CPCSE", "colour", "red"), "unknown property 'colour'"),
    (("CPCSE", "ionic_conductivty", "5e-4"), "did you mean 'ionic_conductivity'"),
    (("CPCSE", "ionic_conductivity", "5e-4", "--temperature", "nan"), "outside -100 to 400 C"),
    (("CPCSE", "ionic_conductivity", "5e-4", "--temperature", "inf"), "outside -100 to 400 C"),
    (("CPCSE", "ionic_conductivity", "5e-4", "--temperature", "-1000"), "outside -100 to 400 C"),
    (("CPCSE", "ionic_conductivity", "5e-4", "--temperature", "1e6"), "outside -100 to 400 C"),
    (("CPCSE", "ionic_conductivity", "5e-4", "--temperature", "hot"), "'--temperature'"),
    (("M[/]", "ionic_conductivity", "5e-4"), "membrane M[/]: unknown"),
    (("[red]x[/red]", "ionic_conductivity", "5e-4"), "membrane [red]x[/red]: unknown"),
    (("nobody", "ionic_conductivity", "5e-4"), "membrane nobody: unknown"),
    (("CPCSE", "ionic_conductivity", "5e-4", "--by", "x" * 300), "300 characters; at most 100"),
    (("CPCSE", "ionic_conductivity", "5e-4", "--method", "m" * 101), "101 characters"),
    (("CPCSE", "ionic_conductivity", "5e-4", "--note", "n" * 10_001), "at most 10000"),
    (("CPCSE", "ionic_conductivity", "5e-4", "--by", "ana\x01"), "control character"),
    (("CPCSE", "ionic_conductivity", "5e-4", "--note", "a\x1bb"), "control character"),
    (("CPCSE", "ionic_conductivity", "5e-4", "--by", "\udcff"), "not valid Unicode"),
    (("x" * 300, "ionic_conductivity", "5e-4"), "unknown"),
]


@pytest.mark.parametrize("args, expected", LOGS, ids=[f"log{i}" for i in range(len(LOGS))])
def test_log_refuses(world: World, capsys: pytest.CaptureFixture[str], args, expected) -> None:
    refused(world, capsys, expected, "log", *args)


MARKS = [
    (("mark", "nobody", "failed"), "membrane nobody: unknown"),
    (("mark", "M[/]", "failed"), "membrane M[/]: unknown"),
    (("mark", "nobody", "made"), "no membrane 'nobody'"),
    (("mark", "P1", "done"), "unknown status 'done'"),
    (("mark", "N0", "pending"), "N0 is measured; it cannot go back to pending"),
    (("mark", "N0", "abandoned"), "cannot go back to abandoned"),
    (("mark", "P1", "failed", "--note", "cracked\x00"), "NUL or control character"),
    (("mark", "P1", "failed", "--by", "b" * 200), "200 characters; at most 100"),
    (("abandon",), "none named"),
    (("abandon", "--batch", "99"), "batch 99 has no pending or made membrane"),
    (("abandon", "N0"), "N0 is measured; it cannot go back to abandoned"),
    (("abandon", "P1", "nobody"), "no membrane 'nobody'"),
    (("abandon", "P1", "--note", "x\x00"), "NUL or control character"),
    (("retract", "P1", "ionic_conductivity"), "P1 has no current ionic_conductivity at 25 C"),
    (("retract", "N0", "ionic_conductivity", "--temperature", "60"), "no current"),
    (("retract", "N0", "colour"), "unknown property 'colour'"),
    (("retract", "nobody", "ionic_conductivity"), "no membrane 'nobody'"),
    (("retract", "N0", "ionic_conductivity", "--reason", "r\x00"), "NUL or control character"),
    (("propose", "--batch", "0"), "batch"),
    (("propose", "--strategy", "magic"), "magic"),
    (("run", "--run-id", "../../x"), "'../../x' cannot name a run"),
    (("run", "--run-id", "/etc/passwd"), "cannot name a run"),
    (("run", "--lab", "nonsense"), "unknown lab 'nonsense'"),
]


@pytest.mark.parametrize("args, expected", MARKS, ids=[f"verb{i}" for i in range(len(MARKS))])
def test_verbs_refuse(world: World, capsys: pytest.CaptureFixture[str], args, expected) -> None:
    refused(world, capsys, expected, *args)


# --- imports (CLI files and app uploads) -------------------------------------------------

WIDE = [
    ("batch 1.7", f"{HEADER},batch\nN1,{ROW},1.7", "row 2, column batch: '1.7' is not a batch"),
    ("batch -3", f"{HEADER},batch\nN1,{ROW},-3", "'-3' is not a batch number"),
    ("batch inf", f"{HEADER},batch\nN1,{ROW},inf", "'inf' is not a batch number"),
    ("batch 1e30", f"{HEADER},batch\nN1,{ROW},1e30", "'1e30' is not a batch number"),
    ("batch two", f"{HEADER},batch\nN1,{ROW},two", "'two' is not a batch number"),
    ("off grid", f"{HEADER}\nN1,cluster_chain,2.3,PEO,THF_DCM,0.5,16", "2.3 is not on the grid"),
    ("wt inf", f"{HEADER}\nN1,cluster_chain,inf,PEO,THF_DCM,0.5,16", "not a finite number"),
    ("wt nan", f"{HEADER}\nN1,cluster_chain,nan,PEO,THF_DCM,0.5,16", "not a finite number"),
    ("wt 1e999", f"{HEADER}\nN1,cluster_chain,1e999,PEO,THF_DCM,0.5,16", "not a finite number"),
    ("wt -1", f"{HEADER}\nN1,cluster_chain,-1,PEO,THF_DCM,0.5,16", "below the lower bound"),
    ("ratio 1e9", f"{HEADER}\nN1,cluster_chain,5,PEO,THF_DCM,0.5,1e9", "above the upper bound"),
    ("thf 2", f"{HEADER}\nN1,cluster_chain,5,PEO,THF_DCM,2,16", "above the upper bound"),
    ("level", f"{HEADER}\nN1,nanorod,5,PEO,THF_DCM,0.5,16", "unknown level 'nanorod'"),
    ("header only", f"{HEADER}\n", "no rows under the header"),
    ("empty file", "", "is not a readable CSV"),
    ("blank lines", "\n\n\n", "is not a readable CSV"),
    ("no membrane", "filler,polymer\ncluster_chain,PEO", "no 'membrane' column"),
    ("no membrane, more", "filler,colour\ncluster_chain,red", "column colour: unknown column"),
    ("no header", f"N1,{ROW}\nN2,{ROW}", "no header row: the first line holds values (N1, "),
    ("no header, numbers", "1,2,3\n4,5,6", "add a first line naming the columns: membrane,"),
    ("unclosed quote", f'{HEADER},notes\nN1,{ROW},"open', "is not a readable CSV"),
    ("NUL note", f"{HEADER},notes\nN1,{ROW},bad\x00note", "row 2, column notes"),
    ("ESC note", f"{HEADER},notes\nN1,{ROW},a\x1b[31mred", "control character"),
    ("long id", f"{HEADER}\n{'x' * 300},{ROW}", "300 characters; at most 100"),
    ("formula id", f"{HEADER}\n=1+1,{ROW}", "starts with '='"),
    ("at id", f"{HEADER}\n@SUM(A1),{ROW}", "starts with '@'"),
    ("plus id", f"{HEADER}\n+cmd,{ROW}", "starts with '+'"),
    ("empty id", f"{HEADER}\n,{ROW}", "empty id"),
    ("dup id", f"{HEADER}\nN1,{ROW}\nN1,{ROW}", "duplicate membrane id 'N1' in the file"),
    ("taken id", f"{HEADER}\nN0,{ROW}", "duplicate membrane id 'N0'"),
    ("unknown col", f"{HEADER},colour\nN1,{ROW},red", "column colour: unknown column"),
    ("provenance", f"{HEADER},provenance\nN1,{ROW},guessed", "unknown 'guessed'"),
    ("status", f"{HEADER},status\nN1,{ROW},done", "unknown status 'done'"),
    ("assumed", f"{HEADER},assumed\nN1,{ROW},colour", "'colour' is not a variable"),
    ("cond 38", f"{HEADER},ionic_conductivity\nN1,{ROW},380", "outside what a lab measures"),
    ("cond inf", f"{HEADER},ionic_conductivity\nN1,{ROW},1e999", "not a finite number"),
    ("cond mS", f"{HEADER},ionic_conductivity [mS/cm]\nN1,{ROW},5000", "outside what a lab"),
    ("t+ 1.3", f"{HEADER},transference_number\nN1,{ROW},1.3", "physical range 0 to 1"),
    ("t+ censored", f"{HEADER},transference_number\nN1,{ROW},>0.5", "cannot be censored"),
    ("life 1e12", f"{HEADER},li_symmetric_life [h]\nN1,{ROW},1e12", "outside what a lab"),
    (
        "flag",
        f"{HEADER},li_symmetric_life,li_symmetric_life_censored\nN1,{ROW},5,maybe",
        "is not true/false",
    ),
    ("hot header", f"{HEADER},ionic_conductivity@999C\nN1,{ROW},1e-4", "outside -100 to 400 C"),
    ("unit header", f"{HEADER},ionic_conductivity [parsecs]\nN1,{ROW},1e-4", "cannot read unit"),
    ("film half", f"{HEADER},film_formed\nN1,{ROW},0.5", "not a whole number"),
    (
        "proposed value",
        f"{HEADER},ionic_conductivity,provenance\nN1,{ROW},1e-4,proposed",
        "cannot have provenance 'proposed'",
    ),
    ("forbidden", f"{HEADER}\nN1,cluster_chain,5,PAN,THF_DCM,0.5,16", "forbidden combination"),
    ("inactive", f"{HEADER}\nN1,none,5,PEO,THF_DCM,0.5,16", "only exists when filler is"),
    (
        "missing",
        f"{HEADER}\nN1,cluster_chain,,PEO,THF_DCM,0.5,16",
        "missing: this variable is active",
    ),
    ("changed", f"{HEADER}\nN0,cluster_chain,5,PEO,THF_DCM,0.5,16", "already in the campaign with"),
]

LONG_ROWS = [
    ("unknown", f"{LONG}\nnobody,ionic_conductivity,1e-4", "unknown membrane 'nobody'"),
    ("property", f"{LONG}\nN0,colour,1", "unknown property 'colour'"),
    ("value", f"{LONG}\nN0,ionic_conductivity,quick", "'quick' is not a number"),
    ("inf", f"{LONG}\nN0,ionic_conductivity,inf", "is not a number"),
    ("38", f"{LONG}\nN0,ionic_conductivity,380", "outside what a lab measures"),
    ("temp", f"{LONG},temperature_C\nN0,ionic_conductivity,1e-4,hot", "'hot' is not a number"),
    ("temp far", f"{LONG},temperature_C\nN0,ionic_conductivity,1e-4,5000", "outside -100 to 400"),
    ("censored", f"{LONG},censored\nN0,li_symmetric_life,5,maybe", "invalid value"),
    ("provenance", f"{LONG},provenance\nN0,ionic_conductivity,1e-4,rumour", "invalid value"),
    (
        "proposed",
        f"{LONG},provenance\nN0,ionic_conductivity,1e-4,proposed",
        "cannot have provenance",
    ),
    ("column", f"{LONG},colour\nN0,ionic_conductivity,1e-4,red", "unknown column"),
    ("NUL", f"{LONG},note\nN0,ionic_conductivity,1e-4,a\x00b", "NUL or control character"),
    ("no membrane", "property,value\nionic_conductivity,1e-4", "no 'membrane' column"),
]

TABLES = WIDE + LONG_ROWS


@pytest.mark.parametrize("name, body, expected", TABLES, ids=[f"csv-{case[0]}" for case in TABLES])
def test_import_refuses(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path, name, body, expected
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(body.encode("utf-8", "surrogatepass"))
    refused(world, capsys, expected, "import", str(path))


BYTES = [
    (
        "latin-1",
        f"{HEADER},notes\nN1,{ROW},".encode() + "caf\xe9".encode("latin-1"),
        "not a UTF-8 CSV",
    ),
    ("utf-16", f"{HEADER}\nN1,{ROW}".encode("utf-16"), "not a UTF-8 CSV"),
    ("binary", bytes(range(256)) * 4, "in.csv is not a"),
    ("gzip", b"\x1f\x8b\x08\x00" + b"\x00" * 64, "not a UTF-8 CSV"),
]


@pytest.mark.parametrize("name, body, expected", BYTES, ids=[f"bytes-{b[0]}" for b in BYTES])
def test_import_refuses_unreadable_files(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path, name, body, expected
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(body)
    refused(world, capsys, expected, "import", str(path))


UPLOADS = [
    ("latin-1", BYTES[0][1], "not a UTF-8 CSV"),
    ("unclosed", f'{HEADER},notes\nN1,{ROW},"open'.encode(), "not a readable CSV"),
    ("batch inf", f"{HEADER},batch\nN1,{ROW},inf".encode(), "'inf' is not a batch number"),
    ("cond 21", f"{HEADER},ionic_conductivity\nN1,{ROW},210".encode(), "outside what a lab"),
    ("header", f"{HEADER}\n".encode(), "no rows under the header"),
    ("NUL", f"{HEADER},notes\nN1,{ROW},a\x00".encode(), "control character"),
]


@pytest.mark.parametrize("name, body, expected", UPLOADS, ids=[f"upload-{u[0]}" for u in UPLOADS])
def test_app_upload_refuses(world: World, name, body, expected) -> None:
    """The app's upload path (ui.log._import): read_table on the uploaded bytes, then the
    same plan and commit as ``formulate import``."""
    before = snapshot(world.store)
    with pytest.raises(FormulateError) as info:
        frame = read_table(io.BytesIO(body), "upload.csv")
        commit(
            world.campaign,
            world.store,
            plan_import(world.campaign, world.store, frame, "upload.csv"),
        )
    assert expected in info.value.message() and "upload.csv" in info.value.message()
    assert snapshot(world.store) == before


# --- a lab plug-in's results -----------------------------------------------------------

RESULTS = [
    (
        "not sent",
        {"membrane": ["P1", "N0"], "ionic_conductivity": ["1e-4", "1e-7"]},
        "'N0' was not sent",
    ),
    ("paper", {"membrane": ["CPCSE"], "ionic_conductivity": ["1e-7"]}, "'CPCSE' was not sent"),
    ("unknown", {"membrane": ["P9"], "ionic_conductivity": ["1e-4"]}, "unknown membrane 'P9'"),
    ("inf", {"membrane": ["P1"], "ionic_conductivity": ["1e999"]}, "not a finite number"),
    ("t+", {"membrane": ["P1"], "transference_number": ["2"]}, "physical range 0 to 1"),
    ("film", {"membrane": ["P1"], "film_formed": ["0.3"]}, "not a whole number"),
    ("38", {"membrane": ["P2"], "ionic_conductivity": ["380"]}, "outside what a lab measures"),
    ("no id", {"ionic_conductivity": ["1e-4"]}, "no 'membrane' column"),
    (
        "NUL",
        {"membrane": ["P1"], "ionic_conductivity": ["1e-4"], "note": ["\x00"]},
        "column notes: contains a NUL or control character",
    ),
]


@pytest.mark.parametrize("name, rows, expected", RESULTS, ids=[f"lab-{r[0]}" for r in RESULTS])
def test_lab_results_refused(world: World, name, rows, expected) -> None:
    before = snapshot(world.store)
    with pytest.raises(FormulateError) as info:
        record_results(
            world.campaign, world.store, pd.DataFrame(rows), "measured", "robot", {"P1", "P2"}
        )
    assert expected in info.value.message()
    assert snapshot(world.store) == before


def test_a_refused_value_goes_in_when_confirmed_real(tmp_path: Path, capsys) -> None:
    """The override: the same 380 mS/cm refused above is stored with --surprising (own store)."""
    spec = init_campaign("c", "cheng2023", tmp_path / "campaigns")
    assert main(["log", str(spec.folder), "CPCSE", "ionic_conductivity", "380"]) == 2
    assert (
        main(["log", str(spec.folder), "CPCSE", "ionic_conductivity", "380", "--surprising"]) == 0
    )
    assert (
        "Logged CPCSE conductivity = 380 mS/cm (380 without a unit read as mS/cm)."
        in capsys.readouterr().out
    )


def test_exports_neutralise_formulas(world: World, capsys, tmp_path: Path) -> None:
    """A note or source starting with =, +, - or @ is exported with a leading ' (OWASP);
    importing the export reads it back as written."""
    folder = tmp_path / "own"
    shutil.copytree(world.folder, folder / "c", ignore=shutil.ignore_patterns("*.db*"))
    spec = load_campaign(folder / "c")
    store = open_store(spec, f"sqlite:///{tmp_path / 'own.db'}")
    store.add(
        spec.name,
        [NewMembrane("Z1", formulation(), "imported", notes='=HYPERLINK("x")', source="@evil")],
    )
    out = tmp_path / "out.csv"
    assert (
        main(
            [
                "export",
                str(folder / "c"),
                "-o",
                str(out),
                "--db",
                f"sqlite:///{tmp_path / 'own.db'}",
            ]
        )
        == 0
    )
    frame = pd.read_csv(out, dtype=str, keep_default_na=False).set_index("membrane")
    assert frame.loc["Z1", "notes"] == '\'=HYPERLINK("x")' and frame.loc["Z1", "source"] == "'@evil"
    cells = frame.to_numpy().ravel()
    assert not any(str(c).startswith(("=", "+", "@")) for c in cells)
    again = plan_import(spec, None, read_table(out), "out.csv")
    z1 = next(m for m in again.membranes if m.membrane == "Z1")
    assert z1.notes == '=HYPERLINK("x")'


# --- campaign files ----------------------------------------------------------------------

EO_RANGE = "low = 6.0\nhigh = 30.0"
WT_STEP = "high = 15.0\nstep = 0.5"
LEVELS_ALL = '\n[[forbidden]]\nwhen = { polymer = ["PEO", "PVDF_HFP", "PAN"] }\n'
LINEAR = '\n[[linear_constraints]]\ncoefficients = { eo_li_ratio = 1.0 }\nop = "<="\nrhs = 1.0\n'
CAMPAIGNS = [
    ("inf low", (EO_RANGE, "low = -inf\nhigh = 30.0"), "variables.eo_li_ratio.low"),
    ("nan high", (EO_RANGE, "low = 6.0\nhigh = nan"), "variables.eo_li_ratio.high"),
    ("inf step", (WT_STEP, "high = 15.0\nstep = inf"), "variables.filler_wt_pct.step"),
    ("big step", (WT_STEP, "high = 15.0\nstep = 20.0"), "larger than the range"),
    ("tiny step", (WT_STEP, "high = 15.0\nstep = 1e-9"), "grid values; at most 10,000"),
    ("zero step", (WT_STEP, "high = 15.0\nstep = 0.0"), "step > 0"),
    ("reversed", (EO_RANGE, "low = 30.0\nhigh = 6.0"), "must be below high"),
    (
        "all forbidden",
        ("[[objectives]]", LEVELS_ALL + "[[objectives]]"),
        "no formulation satisfies",
    ),
    ("linear", ("[[objectives]]", LINEAR + "[[objectives]]"), "cannot hold"),
    (
        "temperature",
        ("reference_temperature_C = 25.0", "reference_temperature_C = inf"),
        "reference_temperature_C",
    ),
    ("batch 0", ("batch_size = 4", "batch_size = 0"), "batch_size"),
    (
        "strategy",
        ('acquisition = "qlognehvi"', 'acquisition = "magic"'),
        "unknown strategy 'magic'",
    ),
    ("kind", ('kind = "continuous"\nunit = "EO:Li"', 'kind = "fuzzy"\nunit = "EO:Li"'), "kind"),
    ("key", ("[strategy]", "[strategy]\ncolour = 1"), "unknown key"),
    ("objective", ('property = "transference_number"', 'property = "t_plus"'), "t_plus"),
    ("name", ('name = "c"', 'name = "../c"'), "name"),
    ("toml", ("[strategy]", "[strategy"), "is not valid TOML"),
    (
        "level ref",
        ('solvent = ["THF_DCM"] }\nwhy', 'solvent = ["THF"] }\nwhy'),
        "'THF' is not a level",
    ),
]


def _campaign_with(tmp_path: Path, old: str, new: str) -> Path:
    spec = init_campaign("c", "cheng2023", tmp_path / "campaigns")
    toml = spec.folder / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    assert old in text, old
    toml.write_text(text.replace(old, new, 1), encoding="utf-8")
    return spec.folder


@pytest.mark.parametrize(
    "name, change, expected", CAMPAIGNS, ids=[f"toml-{c[0]}" for c in CAMPAIGNS]
)
def test_campaign_files_refused(tmp_path: Path, capsys, name, change, expected) -> None:
    folder = _campaign_with(tmp_path, *change)
    assert main(["show", str(folder)]) == 2
    text = capsys.readouterr().err
    assert expected in text and "campaign.toml" in text and "Traceback" not in text, text


def test_campaign_file_lists_every_problem_at_once(tmp_path: Path, capsys) -> None:
    folder = _campaign_with(tmp_path, EO_RANGE, "low = -inf\nhigh = 30.0")
    toml = folder / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    for old, new in [
        (WT_STEP, "high = 15.0\nstep = 20.0"),
        ('acquisition = "qlognehvi"', 'acquisition = "magic"'),
        ("[strategy]", "[strategy]\ncolour = 1"),
        ('property = "transference_number"', 'property = "t_plus"'),
    ]:
        text = text.replace(old, new, 1)
    toml.write_text(text, encoding="utf-8")
    assert main(["show", str(folder)]) == 2
    err = capsys.readouterr().err
    for part in ("eo_li_ratio.low", "larger than the range", "magic", "colour", "t_plus"):
        assert part in err, (part, err)


def test_a_campaign_file_that_is_not_utf8_is_refused(tmp_path: Path, capsys) -> None:
    spec = init_campaign("c", "cheng2023", tmp_path / "campaigns")
    toml = spec.folder / "campaign.toml"
    toml.write_bytes(toml.read_bytes().replace(b"PEO/LiTFSI", "PEO/LiTFSI \xe9".encode("latin-1")))
    assert main(["show", str(spec.folder)]) == 2
    assert "is not UTF-8 text" in capsys.readouterr().err


# --- damaged SQLite files ----------------------------------------------------------------


def _random(path: Path) -> None:
    path.write_bytes(bytes((i * 7919) % 256 for i in range(8192)))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _text(path: Path) -> None:
    path.write_text("membrane,value\nM1,1\n")


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _scribbled(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096:8192] = bytes((i * 31) % 256 for i in range(4096))
    path.write_bytes(bytes(data))


DAMAGE = {
    "random": _random,
    "empty": _empty,
    "text": _text,
    "truncated": _truncated,
    "scribbled": _scribbled,
}
COMMANDS = [("status",), ("log", "CPCSE", "ionic_conductivity", "5e-4"), ("export",)]


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_damaged_store_is_named_and_left_alone(tmp_path: Path, capsys, damage, command) -> None:
    spec = init_campaign("c", "cheng2023", tmp_path / "campaigns")
    path = spec.folder / "formulate.db"
    store = open_store(spec)  # a real store with the paper's records, then damaged
    store.add(spec.name, [NewMembrane(f"X{i}", formulation(), "imported") for i in range(300)])
    store.engine.dispose()
    for extra in ("-wal", "-shm"):
        Path(f"{path}{extra}").unlink(missing_ok=True)
    DAMAGE[damage](path)
    before = path.read_bytes()
    code = main([command[0], str(spec.folder), *command[1:]])
    err = capsys.readouterr().err
    assert code == 2 and "is damaged" in err and str(path) in err and "Traceback" not in err, err
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists() or damage in ("truncated", "scribbled")


def test_the_app_listens_on_this_machine_only() -> None:
    """``streamlit run app.py`` reads .streamlit/config.toml: loopback, not every interface."""
    import tomllib

    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1"


@pytest.mark.parametrize(
    "url, shown",
    [
        ("postgresql+psycopg://ana:s3cret@127.0.0.1:1/lab", "ana:***@127.0.0.1"),
        ("mysql+mysqldb://ana:s3cret@lab/db", "pip install 'formulate[postgres]'"),
        ("nonsense://ana:s3cret@[lab]/db", "ana:***@"),
    ],
)
def test_a_password_in_a_database_url_is_never_shown(tmp_path: Path, capsys, url, shown) -> None:
    """Nor is text in square brackets lost from a message (rich markup is off)."""
    spec = init_campaign("c", "cheng2023", tmp_path / "campaigns")
    assert main(["status", str(spec.folder), "--db", url]) == 2
    err = capsys.readouterr().err
    assert "s3cret" not in err and shown in err and "Traceback" not in err, err
