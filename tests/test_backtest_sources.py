"""Pinned benchmark sources: hashes checked, pins validated, cleaning steps applied in order."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from formulate.backtest.sources import (
    Source,
    TableSteps,
    clean,
    fetch_bytes,
    parse_source,
    parse_steps,
)
from formulate.errors import FormulateError

RAW = b"0.1,0.9,<1E-10\n0.5,0.5,2e-4\n0.9,0.1,3e-3\n0.2,0.8,note\n"


def test_a_file_source_is_checked_against_its_hash(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_bytes(RAW)
    good = Source(kind="file", path="t.csv", sha256=hashlib.sha256(RAW).hexdigest())
    assert fetch_bytes(good, tmp_path) == RAW
    bad = Source(kind="file", path="t.csv", sha256="0" * 64)
    with pytest.raises(FormulateError, match="does not match its pinned hash") as caught:
        fetch_bytes(bad, tmp_path)
    assert "t.csv" in caught.value.message() and "re-pin" in caught.value.message()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param({"kind": "git"}, "source.kind", id="unknown-kind"),
        pytest.param(
            {"kind": "github", "repo": "o/r", "path": "a.csv", "sha256": "a" * 64},
            "source.commit: missing",
            id="github-without-commit",
        ),
        pytest.param(
            {"kind": "github", "repo": "o/r", "commit": "abc", "path": "a", "sha256": "a" * 64},
            "not a full commit",
            id="short-commit",
        ),
        pytest.param(
            {"kind": "pypi", "package": "p", "version": "1", "file": "p.whl", "path": "x"},
            "source.sha256: missing",
            id="pypi-without-hash",
        ),
        pytest.param(
            {"kind": "file", "path": "a.csv", "sha256": "XYZ"}, "64 lowercase hex", id="bad-hash"
        ),
    ],
)
def test_an_unpinned_source_is_refused_with_the_key(raw: dict, expected: str) -> None:
    with pytest.raises(FormulateError, match="not pinned correctly") as caught:
        parse_source(raw, "member.toml")
    assert expected in caught.value.message()


def test_cleaning_names_converts_derives_filters_and_keeps() -> None:
    steps = parse_steps(
        {
            "columns": ["x1", "x2", "k"],
            "numeric": ["k"],
            "derive": {"log_k": "log10(k)"},
            "query": "x1 < 0.8",
            "keep": ["x2", "x1", "log_k"],
        }
    )
    frame = clean(RAW, "data.csv", steps)
    # '<1E-10' and 'note' are not numbers: those rows go; x1 = 0.9 is filtered out
    assert list(frame.columns) == ["x2", "x1", "log_k"]
    assert frame["x1"].tolist() == [0.5]
    assert frame["log_k"].iloc[0] == pytest.approx(-3.69897, abs=1e-5)


def test_a_units_row_is_skipped_and_the_rest_read_as_numbers() -> None:
    raw = b"catalyst,t_res,yld\nTYPE,DATA,DATA\nP1-L3,600,0.6\nP1-L4,60,2.5\n"
    frame = clean(raw, "d.csv", TableSteps(skip_rows=(1,), rename={"yld": "reaction_yield"}))
    assert frame["reaction_yield"].tolist() == [0.6, 2.5]
    assert frame["t_res"].dtype.kind in "if"


def test_column_names_that_do_not_fit_the_file_are_refused() -> None:
    with pytest.raises(FormulateError, match="do not fit") as caught:
        clean(RAW, "data.csv", TableSteps(columns=("a", "b")))
    assert "3 columns, 2 names" in caught.value.message()
