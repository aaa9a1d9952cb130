"""The command line: each verb does its job; user mistakes are one message, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from formulate.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def test_init_status_log_export(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "init", "blank1")
    assert code == 0 and "Created campaign blank1" in out and "from template blank" in out
    code, out, _ = run(capsys, "status", "blank1", "--json")
    assert json.loads(out)["membranes"] == 0  # a new campaign holds no paper data
    code, out, _ = run(capsys, "show", "blank1")
    assert out.startswith("Campaign blank1: blank1")  # its own title
    code, out, _ = run(capsys, "init", "mylab", "--template", "cheng2023")
    assert code == 0 and "Created campaign mylab" in out
    assert (workdir / "campaigns" / "mylab" / "campaign.toml").is_file()
    code, out, _ = run(capsys, "status", "mylab", "--json")
    status = json.loads(out)
    assert status["membranes"] == 3 and status["status"]["measured"] == 3
    code, out, _ = run(
        capsys,
        "log",
        "mylab",
        "CNCSE",
        "ionic_conductivity",
        "0.2 mS/cm",
        "--by",
        "ana",
        "--method",
        "EIS",
    )
    assert code == 0 and "Logged CNCSE conductivity = 0.2 mS/cm." in out
    code, out, _ = run(capsys, "log", "mylab", "CNCSE", "li_symmetric_life", ">450 h")
    assert code == 0 and ">= 450 h" in out
    code, out, _ = run(capsys, "export", "mylab", "--measurements")
    lines = out.splitlines()
    assert "superseded" in lines[0] and any("ana" in line for line in lines)
    code, out, _ = run(capsys, "status", "mylab")
    assert ">=450" in out and "CNCSE" in out


def test_import_error_is_one_message_without_traceback(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "init", "c1", "--template", "cheng2023")
    bad = workdir / "bad.csv"
    bad.write_text(
        "membrane,filler,filler_wt_pct,polymer,solvent,thf_fraction,eo_li_ratio\n"
        "X1,nanorod,5,PEO,THF_DCM,0.4,14\nX2,none,5,PEO,THF_DCM,0.4,14\n"
    )
    code, out, err = run(capsys, "import", "c1", str(bad))
    assert code == 2
    assert "Traceback" not in err
    assert "bad.csv row 2, column filler" in err and "bad.csv row 3, column filler_wt_pct" in err
    code, out, _ = run(capsys, "status", "c1", "--json")
    assert json.loads(out)["membranes"] == 3  # nothing written


def test_import_good_file_and_mark_failed(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "init", "c1", "--template", "cheng2023")
    good = workdir / "good.csv"
    good.write_text(
        "membrane,filler,filler_wt_pct,polymer,solvent,thf_fraction,eo_li_ratio\n"
        "X1,nanowire,5,PEO,THF_DCM,0.4,14\n"
    )
    code, out, _ = run(capsys, "import", "c1", str(good))
    assert code == 0 and "Imported 1 membranes" in out
    code, out, _ = run(capsys, "mark", "c1", "X1", "failed", "--note", "cracked")
    assert code == 0
    code, out, _ = run(capsys, "status", "c1", "--json")
    assert json.loads(out)["status"]["failed"] == 1
    from formulate.data import open_store
    from formulate.spec.campaign import load_campaign

    spec = load_campaign("c1")
    store = open_store(spec)
    logged = store.measurements("c1").set_index("membrane").loc["X1"]
    assert (logged["property"], logged["value"], logged["note"]) == ("film_formed", 0.0, "cracked")
    assert store.membranes("c1").set_index("membrane").loc["X1", "notes"] == "cracked"


@pytest.mark.parametrize(
    "args, message",
    [
        (("status", "nope"), "no campaign 'nope'"),
        (("log", "c1", "GHOST", "ionic_conductivity", "1e-4"), "not in the campaign"),
        (("log", "c1", "CPCSE", "transference_number", "1.4"), "physical range 0 to 1"),
        (("log", "c1", "CPCSE", "ionic_conductivity", "3 h"), "cannot read unit 'h' as S/cm"),
        (("log", "c1", "CPCSE", "ionic_conductivity", ">1e-3"), "cannot be censored"),
        (("init", "c1"), "already exists"),
        (("status", "c1", "--format", "xml"), "unknown format 'xml'"),
        (("init", "c2", "--template", "nosuch"), "no template 'nosuch'"),
    ],
)
def test_mistakes_exit_2_with_a_message(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    run(capsys, "init", "c1", "--template", "cheng2023")
    code, _, err = run(capsys, *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_lab_measure_writes_emulated_results(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "init", "c1", "--template", "cheng2023")
    (workdir / "f.csv").write_text(
        "membrane,filler,filler_wt_pct,polymer,solvent,thf_fraction,"
        "eo_li_ratio\nA,cluster_chain,2.5,PEO,THF_DCM,0.5,16\n"
    )
    code, _out, _ = run(capsys, "lab", "measure", "c1", "f.csv", "-o", "r.csv", "--no-noise")
    assert code == 0
    text = (workdir / "r.csv").read_text()
    assert "emulated" in text and "ionic_conductivity [S/cm]" in text


def test_demo_runs_the_paper_campaign(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from formulate.cli import common

    monkeypatch.setattr(common.out, "width", 80)
    code, out, _ = run(capsys, "demo")
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80 and "…" not in out  # readable
    assert "3 membranes (0 pending, 0 made, 3 measured, 0 failed)" in out
    assert "EMULATED" in out and "CPCSE" in out
    assert (workdir / "demo-output" / "campaigns" / "cheng2023" / "formulate.db").is_file()


def test_diagnose_reports_metrics_and_writes_a_plot(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    from formulate.lab.plugins import measure_formulations
    from formulate.spec.campaign import load_campaign

    run(capsys, "init", "c1", "--template", "cheng2023")
    spec = load_campaign("c1")
    rows = pd.DataFrame(spec.space.sample(10, seed=3))
    rows.insert(0, "membrane", [f"E{i}" for i in range(10)])
    rows.merge(measure_formulations(spec, rows, seed=1), on="membrane").to_csv(
        "emu.csv", index=False
    )
    assert run(capsys, "import", "c1", "emu.csv")[0] == 0
    code, out, _ = run(capsys, "diagnose", "c1", "--surrogate", "gp-onehot", "--json")
    scores = json.loads(out)["scores"]
    assert code == 0 and {s["objective"] for s in scores} == {
        "ionic_conductivity",
        "transference_number",
        "li_symmetric_life",
    }
    code, out, _ = run(capsys, "diagnose", "c1", "--json")  # the campaign's own surrogate
    assert code == 0 and {s["surrogate"] for s in json.loads(out)["scores"]} == {"gp-physics"}
    code, out, _ = run(capsys, "diagnose", "c1", "--surrogate", "gp-onehot", "--plot", "p.png")
    assert code == 0 and (workdir / "p.png").is_file() and "most relevant" in out


def test_a_pareto_strategy_on_one_objective_is_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from formulate.testing import SYNTHETIC_SPEC

    (tmp_path / "campaign.toml").write_text(SYNTHETIC_SPEC.replace("{second}", ""))
    capsys.readouterr()
    assert main(["propose", str(tmp_path), "--strategy", "qlognehvi", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "qlognehvi needs two or more objectives" in err and "use qlognei" in err
    assert main(["propose", str(tmp_path), "--batch", "2", "--dry-run"]) == 0  # qlognei
