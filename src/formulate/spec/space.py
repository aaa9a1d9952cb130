"""Design space: the formulation variables a campaign may set, and the rules between them.

Three kinds of variable: continuous (bounds), discrete (a grid) and categorical (levels, each
with a table of physics descriptors). A variable may be conditional (``active_when``: it exists
only when a categorical variable sits at one of some levels); levels of different variables may
be forbidden together; numeric variables may be bound by linear constraints.

A *formulation* is a mapping ``{variable name: value}``; an inactive variable's value is
``None``. Everything here is validated once, at construction, and then immutable.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from formulate.errors import Problem
from formulate.spec.variables import (
    BOUND_TOL,
    GRID_TOL,
    Categorical,
    Continuous,
    Discrete,
    Value,
    Variable,
    is_missing,
)

MISSING = "missing: this variable is active here"
"""What :meth:`DesignSpace.check` says of an empty cell of an active variable."""
FEASIBILITY_DRAWS = 20_000
"""Random formulations tried before a space is called empty (every combination forbidden)."""


class SpecProblems(Exception):
    """Cross-reference problems found while validating a spec (key, what, fix)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(map(str, problems)))


class Forbidden(BaseModel):
    """Levels that must not appear together: each named variable at one of its levels."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    when: dict[str, tuple[str, ...]]
    why: str = ""

    def matches(self, formulation: Mapping[str, Value]) -> bool:
        return all(formulation.get(var) in levels for var, levels in self.when.items())

    def describe(self) -> str:
        parts = " with ".join(f"{var} {'/'.join(levels)}" for var, levels in self.when.items())
        return f"{parts}" + (f" ({self.why})" if self.why else "")


class LinearConstraint(BaseModel):
    """``sum(coefficient * variable) op rhs`` over numeric variables (inactive count as 0)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    coefficients: dict[str, float]
    op: Literal["<=", ">="]
    rhs: float
    why: str = ""

    def lhs(self, formulation: Mapping[str, Value]) -> float:
        total = 0.0
        for var, coef in self.coefficients.items():
            value = formulation.get(var)
            total += coef * (float(value) if isinstance(value, int | float) else 0.0)
        return total

    def satisfied(self, formulation: Mapping[str, Value], tol: float = 1e-9) -> bool:
        lhs = self.lhs(formulation)
        return lhs <= self.rhs + tol if self.op == "<=" else lhs >= self.rhs - tol

    def describe(self) -> str:
        terms = " + ".join(f"{c:g}*{v}" for v, c in self.coefficients.items())
        return f"{terms} {self.op} {self.rhs:g}"


class DesignSpace(BaseModel):
    """The variables of a campaign and the rules between them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    variables: dict[str, Variable]
    forbidden: tuple[Forbidden, ...] = ()
    linear_constraints: tuple[LinearConstraint, ...] = ()

    @model_validator(mode="after")
    def _references(self) -> DesignSpace:
        problems = self._reference_problems()
        for i, con in enumerate(self.linear_constraints):
            problems += filter(None, [self._linear_problem(i, con)])
        if not problems and not self.sample(1, max_tries=FEASIBILITY_DRAWS, strict=False):
            problems.append(
                Problem(
                    "forbidden, linear_constraints",
                    f"no formulation satisfies every rule ({FEASIBILITY_DRAWS:,} random tries)",
                    "relax a forbidden combination or a linear constraint",
                )
            )
        if problems:
            raise SpecProblems(problems)
        return self

    def _linear_problem(self, i: int, con: LinearConstraint) -> Problem | None:
        """A linear constraint that no point of the variables' box can meet."""
        reach = []
        for ref, coef in con.coefficients.items():
            var = self.variables.get(ref)
            if not isinstance(var, Continuous | Discrete):
                return None  # reported by _reference_problems
            low, high = var.bounds
            ends = [coef * low, coef * high] + ([0.0] if var.active_when else [])
            reach.append((min(ends), max(ends)))
        lowest, highest = sum(r[0] for r in reach), sum(r[1] for r in reach)
        if (con.op == "<=" and lowest > con.rhs) or (con.op == ">=" and highest < con.rhs):
            return Problem(
                f"linear_constraints[{i}]",
                f"{con.describe()} cannot hold: the left side ranges {lowest:g} to {highest:g}",
                "change the right-hand side or the variables' bounds",
            )
        return None

    def _reference_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        for name, var in self.variables.items():
            for parent, levels in var.active_when.items():
                problems += self._level_refs(f"variables.{name}.active_when", parent, levels)
                if parent == name:
                    problems.append(
                        Problem(
                            f"variables.{name}.active_when", "a variable cannot depend on itself"
                        )
                    )
        for i, rule in enumerate(self.forbidden):
            for ref, levels in rule.when.items():
                problems += self._level_refs(f"forbidden[{i}].when", ref, levels)
        for i, con in enumerate(self.linear_constraints):
            for ref in con.coefficients:
                v = self.variables.get(ref)
                if not isinstance(v, Continuous | Discrete):
                    problems.append(
                        Problem(
                            f"linear_constraints[{i}].coefficients.{ref}",
                            f"'{ref}' is not a numeric variable",
                            f"use one of {self.numeric_names()}",
                        )
                    )
        return problems

    def _level_refs(self, key: str, var: str, levels: tuple[str, ...]) -> list[Problem]:
        parent = self.variables.get(var)
        if not isinstance(parent, Categorical):
            return [
                Problem(
                    key,
                    f"'{var}' is not a categorical variable",
                    f"use one of {self.categorical_names()}",
                )
            ]
        return [
            Problem(key, f"'{lvl}' is not a level of '{var}'", f"use one of {list(parent.levels)}")
            for lvl in levels
            if lvl not in parent.levels
        ]

    # --- queries -------------------------------------------------------------------------

    def names(self) -> list[str]:
        return list(self.variables)

    def categorical_names(self) -> list[str]:
        return [n for n, v in self.variables.items() if isinstance(v, Categorical)]

    def numeric_names(self) -> list[str]:
        return [n for n, v in self.variables.items() if not isinstance(v, Categorical)]

    def bounds(self, name: str) -> tuple[float, float]:
        """A numeric variable's ``(low, high)`` in its unit (a grid's first and last value).

        Raises:
            TypeError: ``name`` is categorical.
        """
        var = self.variables[name]
        if isinstance(var, Categorical):
            raise TypeError(f"{name} is categorical: it has levels, not bounds")
        return var.bounds

    def to_unit(self, name: str, values: object) -> np.ndarray:
        """Values of numeric variable ``name`` as positions in [0, 1] of its range on its
        scale (log10 for ``scale = "log"``); an empty cell stays NaN. Same shape as ``values``.

        Raises:
            TypeError: ``name`` is categorical.
        """
        var = self.variables[name]
        if isinstance(var, Categorical):
            raise TypeError(f"{name} is categorical: it has levels, not a range")
        return var.to_unit(np.asarray(values, dtype=float))

    def levels(self, name: str) -> dict[str, dict[str, float]]:
        """A categorical variable's levels with their descriptor tables."""
        var = self.variables[name]
        if not isinstance(var, Categorical):
            raise TypeError(f"{name} is not categorical")
        return var.levels

    def is_active(self, name: str, formulation: Mapping[str, Value]) -> bool:
        """Whether variable ``name`` exists for this formulation (its conditions hold)."""
        for parent, levels in self.variables[name].active_when.items():
            if not self.is_active(parent, formulation) or formulation.get(parent) not in levels:
                return False
        return True

    def violated_rules(self, formulation: Mapping[str, Value]) -> list[str]:
        """Plain-words descriptions of the forbidden combinations and linear constraints
        this (already valid per variable) formulation breaks."""
        broken = [
            f"forbidden combination: {r.describe()}"
            for r in self.forbidden
            if r.matches(formulation)
        ]
        broken += [
            f"linear constraint {c.describe()} (left side is {c.lhs(formulation):g})"
            + (f": {c.why}" if c.why else "")
            for c in self.linear_constraints
            if not c.satisfied(formulation)
        ]
        return broken

    def is_feasible(self, formulation: Mapping[str, Value]) -> bool:
        """True when every variable is valid and no rule is broken."""
        _, problems = self.check(formulation)
        return not problems

    def sample(
        self, n: int, seed: int = 0, max_tries: int = 1000, strict: bool = True
    ) -> list[dict[str, Value]]:
        """``n`` random feasible formulations: levels uniform, numbers uniform on their scale
        (discrete: a random grid value), inactive variables None; rules by rejection.
        ``strict=False``: return what was found (fewer than ``n``) instead of raising.

        Raises:
            ValueError: no feasible formulation found in ``max_tries * n`` draws.
        """
        rng = np.random.default_rng(seed)
        out: list[dict[str, Value]] = []
        for _ in range(max_tries * n):
            if len(out) == n:
                break
            candidate = self._draw(rng)
            if not self.violated_rules(candidate):
                out.append(candidate)
        if len(out) < n and strict:
            raise ValueError(f"found only {len(out)} feasible formulations of {n}")
        return out

    def _draw(self, rng: np.random.Generator) -> dict[str, Value]:
        draw: dict[str, Value] = {}
        for name in self.categorical_names():
            draw[name] = str(rng.choice(list(self.levels(name))))
        for name in self.numeric_names():
            var = self.variables[name]
            if isinstance(var, Discrete):
                draw[name] = float(rng.choice(var.grid))
            elif isinstance(var, Continuous):
                draw[name] = float(var.from_unit(rng.uniform()))
        for name in self.names():
            if not self.is_active(name, draw):
                draw[name] = None
        return draw

    # --- validation ----------------------------------------------------------------------

    def check(
        self, raw: Mapping[str, object], where: str = "formulation"
    ) -> tuple[dict[str, Value], list[Problem]]:
        """Validate a raw formulation (cells from a file, a form, a planner).

        Returns:
            The cleaned formulation (floats, level names, ``None`` for inactive variables)
            and every problem found; each problem's ``where`` is ``f"{where}, column {name}"``.
        """
        clean: dict[str, Value] = {}
        problems: list[Problem] = []
        # categoricals first: they decide which other variables are active
        order = self.categorical_names() + self.numeric_names()
        for name in order:
            value, problem = self._coerce(name, raw.get(name))
            clean[name] = value
            if problem:
                problems.append(Problem(f"{where}, column {name}", *problem))
        for name in order:
            active = self.is_active(name, clean)
            empty = is_missing(raw.get(name))
            if active and empty:
                problems.append(
                    Problem(
                        f"{where}, column {name}",
                        MISSING,
                        f"give a value {self._domain(name)}",
                    )
                )
            elif not active and not empty:
                cond = ", ".join(
                    f"{p} is {'/'.join(lv)}" for p, lv in self.variables[name].active_when.items()
                )
                problems.append(
                    Problem(
                        f"{where}, column {name}",
                        f"set to {raw.get(name)!r} but only exists when {cond}",
                        "leave the cell empty",
                    )
                )
                clean[name] = None
            elif not active:
                clean[name] = None
        if not problems:
            problems += [
                Problem(where, rule, "change one of the levels or values")
                for rule in self.violated_rules(clean)
            ]
        return clean, problems

    def _coerce(self, name: str, raw: object) -> tuple[Value, tuple[str, str] | None]:
        var = self.variables[name]
        if is_missing(raw):
            return None, None
        if isinstance(var, Categorical):
            level = str(raw).strip()
            if level in var.levels:
                return level, None
            close = difflib.get_close_matches(level, list(var.levels), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            return None, (f"unknown level '{level}'", f"{hint}use one of {list(var.levels)}")
        try:
            value = float(str(raw).strip()) if not isinstance(raw, int | float) else float(raw)
        except ValueError:
            return None, (f"'{raw}' is not a number", f"write a number {self._domain(name)}")
        if not math.isfinite(value):
            return None, (f"'{raw}' is not a finite number", f"write a number {self._domain(name)}")
        low, high = var.bounds
        if not low - BOUND_TOL <= value <= high + BOUND_TOL:
            side = "below the lower" if value < low else "above the upper"
            return None, (
                f"{value:g} is {side} bound ({low:g} to {high:g} {var.unit})".rstrip(),
                f"use a value {self._domain(name)}",
            )
        if isinstance(var, Discrete):
            nearest = min(var.grid, key=lambda g: abs(g - value))
            if abs(nearest - value) > GRID_TOL * max(1.0, abs(nearest)):
                return None, (
                    f"{value:g} is not on the grid (nearest: {nearest:g})",
                    f"use a value {self._domain(name)}",
                )
            return nearest, None
        return value, None

    def _domain(self, name: str) -> str:
        var = self.variables[name]
        if isinstance(var, Categorical):
            return f"from {list(var.levels)}"
        low, high = var.bounds
        scale = ", log scale" if var.scale == "log" else ""
        if isinstance(var, Discrete) and var.values is not None and len(var.grid) <= 12:
            return f"one of {', '.join(f'{v:g}' for v in var.grid)} {var.unit}".rstrip() + scale
        step = f" in steps of {var.step:g}" if isinstance(var, Discrete) and var.step else ""
        return f"in [{low:g}, {high:g}] {var.unit}{step}".rstrip() + scale

    # --- words ---------------------------------------------------------------------------

    def describe(self) -> list[str]:
        """One plain-words line per variable and rule, for people."""
        lines = []
        for name, var in self.variables.items():
            cond = ""
            if var.active_when:
                cond = (
                    " (only when "
                    + ", ".join(f"{p} is {'/'.join(lv)}" for p, lv in var.active_when.items())
                    + ")"
                )
            lines.append(f"{name}: {var.kind} {self._domain(name)}{cond}{_levels_source(var)}")
        lines += [f"never: {r.describe()}" for r in self.forbidden]
        lines += [f"keep: {c.describe()}" for c in self.linear_constraints]
        return lines


def _levels_source(var: object) -> str:
    """Where a categorical's levels come from and which descriptors they carry, in words."""
    if not isinstance(var, Categorical):
        return ""
    keys = list(next(iter(var.levels.values())))
    named = "; no descriptors (told apart by name)"
    described = f"; descriptors {', '.join(keys)}" if keys else named
    source = f"; from {var.levels_file}" if var.levels_file else ""
    return f" ({len(var.levels)} levels{source}{described})"
