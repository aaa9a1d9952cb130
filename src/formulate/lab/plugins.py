"""Lab plug-ins: anything that turns a batch of formulations into outcomes.

Three kinds, one interface (:class:`Lab`): the virtual lab (``virtual``), a Python callable
(``module:function``, taking and returning a DataFrame), and an external command
(``cmd:COMMAND``) that reads a proposals CSV and writes a results CSV (a robot's driver, a
colleague's script).

Results are a wide table: ``membrane`` plus outcome columns. Headers may carry units
(``[S/cm]``); a number with no unit in its cell nor its header is in the unit formulate shows
(mS/cm for conductivity). Cells may be empty when an outcome is not in yet;
``li_symmetric_life_censored`` or ``>600 h`` marks a cell still running, ``film_formed`` = 0
(or ``status`` failed) a film that failed; ``notes`` are kept. :func:`record_results`
validates them all and writes all or nothing.
"""

from __future__ import annotations

import importlib
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from formulate.data import Store, plan_import
from formulate.data.cells import read_table
from formulate.errors import FormulateError, Problem
from formulate.lab.virtual import Noise, VirtualLab, unsupported
from formulate.spec.campaign import Campaign


class Lab(Protocol):
    """Turns a batch (``membrane`` + formulation columns) into a results table. A lab whose
    bare numbers are in canonical units (S/cm, h), like the virtual lab, says so with a class
    attribute ``canonical_units = True``; otherwise a number without a unit is in the display
    unit (mS/cm)."""

    provenance: str

    def measure(self, batch: pd.DataFrame) -> pd.DataFrame: ...


class CallableLab:
    """A Python function ``f(batch: DataFrame) -> DataFrame`` named as ``module:function``."""

    provenance = "measured"

    def __init__(self, target: str) -> None:
        self.target = target
        module_name, _, func_name = target.partition(":")
        if not module_name or not func_name:
            raise FormulateError(
                f"bad lab plug-in '{target}'",
                [Problem("--lab", "expected module:function", "e.g. mylab:measure")],
            )
        if str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        try:
            module = importlib.import_module(module_name)
            self.func: Callable[[pd.DataFrame], Any] = getattr(module, func_name)
        except (ImportError, AttributeError) as err:
            raise FormulateError(
                f"cannot load lab plug-in '{target}'",
                [
                    Problem(
                        "--lab",
                        str(err),
                        "check the module is importable from here and defines the function",
                    )
                ],
            ) from None

    def measure(self, batch: pd.DataFrame) -> pd.DataFrame:
        try:
            out = self.func(batch.copy())
        except Exception as err:  # the plug-in's own failure is the user's to fix
            raise FormulateError(
                f"lab plug-in {self.target} failed; nothing was recorded",
                [Problem(self.target, f"{type(err).__name__}: {err}")],
            ) from None
        return out if isinstance(out, pd.DataFrame) else pd.DataFrame(out)


class CommandLab:
    """An external command. ``{proposals}`` and ``{results}`` in it are replaced by the CSV
    paths; without them, both paths are appended as two arguments."""

    provenance = "measured"

    def __init__(self, command: str, timeout_s: float = 3600.0) -> None:
        self.command = command
        self.timeout_s = timeout_s

    def measure(self, batch: pd.DataFrame) -> pd.DataFrame:
        with tempfile.TemporaryDirectory(prefix="formulate-lab-") as tmp:
            proposals, results = Path(tmp) / "proposals.csv", Path(tmp) / "results.csv"
            batch.to_csv(proposals, index=False)
            args = shlex.split(self.command)
            if "{proposals}" in self.command or "{results}" in self.command:
                args = [
                    a.replace("{proposals}", str(proposals)).replace("{results}", str(results))
                    for a in args
                ]
            else:
                args += [str(proposals), str(results)]
            try:
                done = subprocess.run(
                    args, capture_output=True, text=True, timeout=self.timeout_s, check=False
                )
            except (OSError, subprocess.TimeoutExpired) as err:
                raise FormulateError(
                    "lab command failed to run; nothing was recorded",
                    [Problem(self.command, str(err))],
                ) from None
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
                raise FormulateError(
                    f"lab command exited with code {done.returncode}; nothing was recorded",
                    [Problem(self.command, " | ".join(tail) or "no output")],
                )
            if not results.is_file():
                raise FormulateError(
                    "lab command wrote no results; nothing was recorded",
                    [
                        Problem(
                            self.command,
                            f"expected a CSV at {results}",
                            "write the results to the path given",
                        )
                    ],
                )
            return read_table(results)


def resolve_lab(
    spec: str,
    campaign: Campaign | None = None,
    seed: int = 0,
    noise: bool = True,
    horizon_h: float = 1500.0,
) -> Lab:
    """``virtual``, ``module:function`` or ``cmd:COMMAND`` -> a lab."""
    if spec == "virtual":
        if campaign is not None:
            _check_virtual(campaign)
        fillers = _fillers(campaign) if campaign is not None else None
        return VirtualLab(
            seed=seed, noise=None if noise else Noise.off(), horizon_h=horizon_h, fillers=fillers
        )
    if spec.startswith("cmd:"):
        return CommandLab(spec[4:].strip())
    if ":" in spec:
        return CallableLab(spec)
    raise FormulateError(
        f"unknown lab '{spec}'",
        [Problem("--lab", spec, "use virtual, module:function or cmd:COMMAND")],
    )


def record_results(
    campaign: Campaign,
    store: Store,
    results: pd.DataFrame,
    provenance: str,
    source: str,
    sent: Collection[str],
) -> int:
    """Validate a lab's results and log them, all or nothing; films with ``film_formed`` = 0
    become ``failed``. Returns the number of measurements written.

    ``sent``: the membranes the lab was asked to measure; a result for any other membrane
    (one already measured, the paper's) is refused, so a plug-in cannot overwrite records.

    Raises:
        FormulateError: every bad row and column (a membrane not sent, a bad value), nothing
            written.
    """
    if "membrane" not in results.columns:
        raise FormulateError(
            f"results from {source} have no 'membrane' column; nothing recorded",
            [Problem(source, "no membrane column", "return one row per membrane")],
        )
    table = results.copy()
    table.columns = [str(c) for c in table.columns]
    known = set(store.membranes(campaign.name).get("membrane", pd.Series(dtype=str)))
    problems = [
        Problem(
            f"{source} row {i + 2}, column membrane",
            f"'{m}' was not sent to the lab" if m in known else f"unknown membrane '{m}'",
            f"return results only for the membranes sent: {sorted(sent)}",
        )
        for i, m in enumerate(table["membrane"].astype(str))
        if m not in sent
    ]
    formulation_cols = [c for c in table.columns if c in campaign.space.variables]
    table = table[table["membrane"].astype(str).isin(known)].drop(columns=formulation_cols)
    table["provenance"] = provenance
    plan = plan_import(campaign, store, table, source=source, provenance=provenance)
    plan.problems = problems + plan.problems
    failed = {
        m.membrane for m in plan.measurements if m.property == "film_formed" and m.value < 0.5
    }
    if plan.problems:
        raise FormulateError(
            f"results from {source} are invalid; nothing was recorded", plan.problems
        )
    store.add(campaign.name, [], plan.measurements, status_updates={m: "failed" for m in failed})
    return len(plan.measurements)


def measure_formulations(
    campaign: Campaign,
    formulations: pd.DataFrame,
    source: str = "input",
    seed: int = 0,
    noise: bool = True,
    horizon_h: float = 1500.0,
    temperature_C: float = 25.0,
) -> pd.DataFrame:
    """Validate formulations against the campaign's space (every problem at once), then
    measure them with the virtual lab. Returns a wide results table with units in the headers
    and ``provenance`` = ``emulated``; rows without a ``membrane`` id are named F1, F2, ...
    """
    frame = formulations.copy()
    if "membrane" not in frame.columns:
        frame.insert(0, "membrane", [f"F{i + 1}" for i in range(len(frame))])
    problems = [
        Problem(
            f"{source}, column {c}", "unknown column", f"use membrane and {campaign.space.names()}"
        )
        for c in frame.columns
        if c != "membrane" and c not in campaign.space.variables
    ]
    clean = []
    for i, rec in enumerate(frame.to_dict("records")):
        values, found = campaign.space.check(rec, f"{source} row {i + 2}")
        problems += found
        clean.append({"membrane": str(rec["membrane"]), **values})
    if problems:
        raise FormulateError(f"{source} has invalid formulations; nothing was measured", problems)
    lab = VirtualLab(
        seed=seed,
        noise=None if noise else Noise.off(),
        horizon_h=horizon_h,
        temperature_C=temperature_C,
        fillers=_fillers(campaign),
    )
    results = lab.measure(pd.DataFrame(clean))
    props = campaign.all_properties()
    results = results.rename(
        columns={
            c: f"{c} [{props[c].unit}]" for c in results.columns if c in props and props[c].unit
        }
    )
    results["provenance"] = VirtualLab.provenance
    return results


def _check_virtual(campaign: Campaign) -> None:
    space = campaign.space
    levels = {n: list(space.levels(n)) for n in space.categorical_names()}
    problems = unsupported(space.names(), levels)
    if problems:
        raise FormulateError(
            f"the virtual lab cannot emulate campaign {campaign.name}",
            [
                Problem(f"variables.{var}", what, "use a lab plug-in, or the cheng2023 levels")
                for var, what in problems
            ],
        )


def _fillers(campaign: Campaign) -> dict[str, dict[str, float]] | None:
    """The campaign's filler descriptor table, if it has a categorical ``filler``."""
    if "filler" not in campaign.space.categorical_names():
        return None
    return campaign.space.levels("filler")


__all__ = [
    "CallableLab",
    "CommandLab",
    "Lab",
    "measure_formulations",
    "record_results",
    "resolve_lab",
]
