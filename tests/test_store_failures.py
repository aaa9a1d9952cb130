"""The store and the campaign file when something around them is wrong: a read-only store, a
full disk, a link that leads nowhere or in a loop, a URL with a bad port, a campaign file that
drops a level its membranes use, a 30 kB header. Each is a clear message, no traceback,
nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event

from formulate.cli import main
from formulate.data import NewMeasurement, Store, open_store
from formulate.errors import FormulateError
from formulate.spec.campaign import init_campaign, load_campaign

VALUE = NewMeasurement("CPCSE", "ionic_conductivity", 5e-4, "S/cm", "measured", temperature_C=25)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return init_campaign("c", "cheng2023", tmp_path / "campaigns").folder


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text
    return code, text


def test_a_read_only_store_says_so_and_keeps_its_rows(folder: Path) -> None:
    spec = load_campaign(folder)
    path = open_store(spec).url.removeprefix("sqlite:///")
    before = open_store(spec).measurements(spec.name, history=True)
    read_only = Store(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(FormulateError) as err:
        read_only.add(spec.name, [], [VALUE])
    assert "is read-only; nothing was written" in err.value.message()
    assert "make the store file and its folder writable" in err.value.message()
    assert open_store(spec).measurements(spec.name, history=True).equals(before)


def test_a_full_disk_is_not_called_damage(folder: Path) -> None:
    spec = load_campaign(folder)
    store = open_store(spec)
    before = store.measurements(spec.name, history=True)

    @event.listens_for(store.engine, "connect")
    def _no_room(dbapi, _record) -> None:  # SQLite's own "database or disk is full"
        cursor = dbapi.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count={pages}")
        cursor.close()

    store.engine.dispose()
    many = [
        NewMeasurement("CPCSE", "ionic_conductivity", 5e-4, "S/cm", "measured", note="x" * 5000)
        for _ in range(50)
    ]
    with pytest.raises(FormulateError) as err:
        store.add(spec.name, [], many)
    said = err.value.message()
    assert "is full; nothing was written" in said and "damaged" not in said
    assert open_store(spec).measurements(spec.name, history=True).equals(before)


def test_a_dangling_link_never_creates_a_new_store(folder: Path, capsys, tmp_path: Path) -> None:
    (folder / "formulate.db").symlink_to(tmp_path / "moved" / "formulate.db")
    (tmp_path / "moved").mkdir()
    code, text = run(capsys, "status", str(folder))
    assert code == 2 and "is a link to" in text and "which does not exist" in text
    assert not (tmp_path / "moved" / "formulate.db").exists()


def test_a_loop_of_links_is_refused(folder: Path, capsys) -> None:
    (folder / "formulate.db").symlink_to(folder / "formulate.db")
    code, text = run(capsys, "status", str(folder))
    assert code == 2 and "is a loop of links" in text


def test_a_url_with_a_port_that_is_not_a_number(folder: Path, capsys) -> None:
    url = "postgresql+psycopg://lab@localhost:fivefourthreetwo/db"
    code, text = run(capsys, "status", "--db", url, str(folder))
    assert code == 2 and "cannot open the store" in text and "fivefourthreetwo" in text


def test_a_campaign_file_that_drops_a_level_in_use_is_refused_by_every_command(
    folder: Path, capsys, db_url: str
) -> None:
    spec = load_campaign(folder)
    open_store(spec, db_url)  # seeded: CNCSE uses the nanowire filler
    text = (folder / "campaign.toml").read_text(encoding="utf-8")
    (folder / "campaign.toml").write_text(text.replace("nanowire", "nanorod"), encoding="utf-8")
    edited = load_campaign(folder)
    assert "nanowire" not in edited.space.levels("filler")
    for args in (("status",), ("propose", "--dry-run"), ("diagnose",), ("export",)):
        code, said = run(capsys, args[0], "--db", db_url, str(folder), *args[1:])
        assert code == 2, args
        assert "filler = nanowire: used by 1 membrane(s): CNCSE" in said, args


def test_show_says_what_the_store_uses_that_the_file_dropped(folder: Path, capsys) -> None:
    open_store(load_campaign(folder))
    text = (folder / "campaign.toml").read_text(encoding="utf-8")
    (folder / "campaign.toml").write_text(text.replace("nanowire", "nanorod"), encoding="utf-8")
    code, said = run(capsys, "show", str(folder))  # said, so that the file can be mended
    assert code == 0
    assert "Warning: filler = nanowire: used by 1 membrane(s)" in " ".join(said.split())


def test_diagnose_with_too_few_membranes_says_so(folder: Path, capsys) -> None:
    code, text = run(capsys, "diagnose", str(folder))
    assert code == 0
    assert "No objective has enough measured membranes" in text
    assert "4 needed" in text and "skipped" in text


def test_a_huge_header_is_refused_before_it_is_parsed(folder: Path, capsys, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(f"membrane,ionic_conductivity [{'m' * 30_000}]\nCPCSE,0.3\n", encoding="utf-8")
    code, text = run(capsys, "import", str(folder), str(path))
    assert code == 2 and "30021 characters" in text and "at most 200" in text


def test_a_huge_unit_in_a_cell_is_refused(folder: Path, capsys) -> None:
    code, text = run(capsys, "log", str(folder), "CPCSE", "ionic_conductivity", "0.3 " + "S" * 500)
    assert code == 2 and "cannot read a unit of 500 characters" in text
