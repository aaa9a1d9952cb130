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
from functools import cached_property
from typing import Annotated, Literal, overload

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from formulate.errors import Problem

BOUND_TOL = 1e-9
MAX_GRID = 10_000
"""Most values a discrete variable's grid may have."""
FEASIBILITY_DRAWS = 20_000
"""Random formulations tried before a space is called empty (every combination forbidden)."""
GRID_TOL = 1e-6
"""How far (relative) a value may sit from a grid point of a discrete variable and still be
read as that point (a spreadsheet's 2.4999999 is 2.5)."""
"""Slack on a numeric variable's bounds (in its unit): float noise from a file or the planner."""

Value = float | str | None
"""A variable's value: a float (continuous, discrete), a level name, or None when inactive."""


class SpecProblems(Exception):
    """Cross-reference problems found while validating a spec (key, what, fix)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(map(str, problems)))


class _Variable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    unit: str = ""
    description: str = ""
    active_when: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """``{categorical variable: levels}``: active only when each named variable is at one of
    its listed levels. Empty: always active."""


class Continuous(_Variable):
    """A real-valued variable in ``[low, high]`` (in ``unit``)."""

    kind: Literal["continuous"]
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Continuous:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        return (self.low, self.high)


class Discrete(_Variable):
    """A numeric variable on a grid: explicit ``values``, or ``low``..``high`` by ``step``."""

    kind: Literal["discrete"]
    values: tuple[float, ...] | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = None

    @model_validator(mode="after")
    def _grid_given_once(self) -> Discrete:
        ranged = (self.low, self.high, self.step)
        if self.values is not None:
            if any(v is not None for v in ranged):
                raise ValueError("give either 'values' or 'low', 'high' and 'step', not both")
            if len(self.values) < 2 or len(set(self.values)) != len(self.values):
                raise ValueError("'values' needs two or more distinct numbers")
        elif None in ranged:
            raise ValueError("give 'values' = [...] or all of 'low', 'high' and 'step'")
        elif not (self.step and self.step > 0 and self.low < self.high):  # type: ignore[operator]
            raise ValueError("needs low < high and step > 0")
        else:
            span = (self.high - self.low) / self.step  # type: ignore[operator]
            if span < 1 - 1e-9:
                raise ValueError(
                    f"step {self.step:g} is larger than the range {self.low:g} to {self.high:g}: "
                    "the grid has one value (use a smaller step, or drop the variable)"
                )
            if span + 1 > MAX_GRID:
                raise ValueError(
                    f"step {self.step:g} makes {span + 1:.3g} grid values; at most {MAX_GRID:,} "
                    "(use a larger step, or a continuous variable)"
                )
        return self

    @cached_property
    def grid(self) -> tuple[float, ...]:
        """The allowed values, ascending."""
        if self.values is not None:
            return tuple(sorted(self.values))
        assert self.low is not None and self.high is not None and self.step is not None
        n = math.floor((self.high - self.low) / self.step + 1e-9)
        return tuple(round(self.low + i * self.step, 10) for i in range(n + 1))

    @property
    def bounds(self) -> tuple[float, float]:
        return (self.grid[0], self.grid[-1])


class Categorical(_Variable):
    """A choice among named levels; each level carries its physics descriptors.

    ``levels`` maps a level name to its descriptors, e.g.
    ``{"cluster_chain": {"diameter_nm": 0.95, ...}}``; every level has the same descriptor keys.
    """

    kind: Literal["categorical"]
    levels: dict[str, dict[str, float]]

    @model_validator(mode="after")
    def _levels_consistent(self) -> Categorical:
        if not self.levels:
            raise ValueError("needs at least one level")
        keys = {name: set(d) for name, d in self.levels.items()}
        first = next(iter(keys.values()))
        odd = [name for name, k in keys.items() if k != first]
        if odd:
            raise ValueError(
                f"every level needs the same descriptors; {odd} differ from {sorted(first)}"
            )
        return self


Variable = Annotated[Continuous | Discrete | Categorical, Field(discriminator="kind")]


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


def is_missing(value: object) -> bool:
    """True for an empty cell: None, NaN or an empty string (an inactive variable, a value
    not measured yet). The one test of emptiness in formulate."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


@overload
def number(value: object) -> float | None: ...
@overload
def number(value: object, default: float) -> float: ...
def number(value: object, default: float | None = None) -> float | None:
    """A cell as a float, or ``default`` when it is empty (see :func:`is_missing`)."""
    return default if is_missing(value) else float(value)  # type: ignore[arg-type]


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
        """``n`` random feasible formulations: levels uniform, numbers uniform in their bounds
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
                draw[name] = float(rng.uniform(var.low, var.high))
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
                        "missing: this variable is active here",
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
        step = f" in steps of {var.step:g}" if isinstance(var, Discrete) and var.step else ""
        return f"in [{low:g}, {high:g}] {var.unit}{step}".rstrip()

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
            lines.append(f"{name}: {var.kind} {self._domain(name)}{cond}")
        lines += [f"never: {r.describe()}" for r in self.forbidden]
        lines += [f"keep: {c.describe()}" for c in self.linear_constraints]
        return lines
