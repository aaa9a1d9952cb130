"""Prior knowledge: earlier campaigns and tables a campaign learns from (``[[prior]]``).

A source is another campaign (its folder, read from its own store) or a table of past
experiments (a CSV read like an import, with its own column headings). Its rows are never
the campaign's membranes: they enter only the surrogates, as another task of a multi-task GP
(:mod:`formulate.model.transfer`), which learns how far they carry. ``differs`` states what
was different there (a temperature, a polymer, a salt, a lab); ``trust`` is the lab's prior
belief of how well the source predicts this campaign (the prior mean of the learned task
correlation), which the data then update.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from formulate.errors import Problem


class Prior(BaseModel):
    """One source of prior knowledge (a ``[[prior]]`` entry): a table or an earlier campaign
    whose rows the surrogates learn from, never this campaign's membranes."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str = ""
    """How people and messages call it (default: the file's or folder's name)."""
    table: str = ""
    """A CSV of past experiments, relative to the campaign folder, read like an import."""
    campaign: str = ""
    """Another campaign's folder (relative to this campaign's folder), read from its store."""
    columns: dict[str, str] = Field(default_factory=dict)
    """The table's headings for this campaign's variables and properties
    (``filler_wt_pct = "LLZO (wt%)"``), beside the campaign's own ``[columns]``."""
    differs: str = Field(min_length=1)
    """What was different there, in words (``"measured at 60 C"``, ``"LiFSI, not LiTFSI"``)."""
    trust: float | None = Field(default=None, gt=0.0, lt=1.0)
    """How well you expect it to predict this campaign (0-1), which the data update: the prior
    mean of the learned correlation (``multitask``; default BoTorch's Beta(2.5, 1.5), mean
    0.63), of the weight the mean gives the source's prediction (``stacked``; default 0) or
    of the multiple ``rho`` of the sources' function (``autoregressive``; default 0.5)."""

    @model_validator(mode="after")
    def _one_source(self) -> Prior:
        if bool(self.table) == bool(self.campaign):
            raise ValueError("give either table = 'FILE.csv' or campaign = 'FOLDER', not both")
        return self

    def path(self, folder: Path) -> Path:
        """Where it lives: its table or campaign folder, relative to the campaign's ``folder``."""
        return (folder / (self.table or self.campaign)).resolve()

    @property
    def label(self) -> str:
        """The source's name for people."""
        return self.name or Path(self.table or self.campaign).stem

    def describe(self) -> str:
        """One line: what it is and what differs."""
        what = f"table {self.table}" if self.table else f"campaign {self.campaign}"
        trust = f", trusted at a correlation of {self.trust:g} before data" if self.trust else ""
        return f"{self.label} ({what}): {self.differs}{trust}"


def prior_problems(
    priors: Sequence[Prior], folder: Path, names: set[str], campaign_file: str
) -> list[Problem]:
    """What is wrong with a campaign's ``[[prior]]`` entries: a missing table or campaign
    folder, ``columns`` naming neither a variable nor a property (``names``), two sources
    with one name."""
    problems = []
    for i, prior in enumerate(priors):
        path = prior.path(folder)
        if prior.table and not path.is_file():
            problems.append(Problem(f"prior.{i}.table", f"no file {path}", "fix the path"))
        elif prior.campaign and not (path / campaign_file).is_file():
            fix = "give the earlier campaign's folder"
            problems.append(Problem(f"prior.{i}.campaign", f"no {campaign_file} in {path}", fix))
        problems += [
            Problem(f"prior.{i}.columns.{c}", "neither a variable nor a property", "fix it")
            for c in prior.columns
            if c not in names
        ]
    labels = [p.label for p in priors]
    problems += [
        Problem("prior", f"two sources are called '{n}'", "give each a distinct name")
        for n in sorted({n for n in labels if labels.count(n) > 1})
    ]
    return problems


def prior_entry(campaign: str, differs: str, trust: float | None = None) -> str:
    """A ``[[prior]]`` entry for a campaign file, naming an earlier campaign's folder."""
    lines = [
        "",
        "[[prior]]",
        f"campaign = {json.dumps(campaign)}",
        f"differs = {json.dumps(differs)}",
    ]
    if trust is not None:
        lines.append(f"trust = {trust:g}")
    return "\n".join(lines) + "\n"
