"""Formulation variables: continuous (bounds), discrete (a grid) and categorical (levels, each
with a table of descriptors), and the tests of a cell's emptiness every layer shares.

A numeric variable has a ``scale``: ``linear`` (the default) or ``log`` for a positive quantity
spanning decades (a molality of 0.05-3 mol/kg): on a log scale the planner's unit cube, the
candidate pool, random draws and the plots run over log10 of the value, so 0.1-1 mol/kg is a
third of the range instead of a sliver.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from functools import cached_property
from typing import Annotated, Literal, overload

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

BOUND_TOL = 1e-9
"""Slack on a numeric variable's bounds (in its unit): float noise from a file or the planner."""
MAX_GRID = 10_000
"""Most values a discrete variable's grid may have."""
GRID_TOL = 1e-6
"""How far (relative) a value may sit from a grid point of a discrete variable and still be
read as that point (a spreadsheet's 2.4999999 is 2.5)."""

Value = float | str | None
"""A variable's value: a float (continuous, discrete), a level name, or None when inactive."""
Scale = Literal["linear", "log"]


class _Variable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    unit: str = ""
    description: str = ""
    active_when: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """``{categorical variable: levels}``: active only when each named variable is at one of
    its listed levels. Empty: always active."""


class _Numeric(_Variable):
    """What continuous and discrete variables share: a range (``bounds``, given by each kind)
    and the scale positions in it are read on."""

    scale: Scale = "linear"
    """``log``: positions, draws and plots over log10 of the value (needs a positive range)."""

    @property
    @abstractmethod
    def bounds(self) -> tuple[float, float]:
        """``(low, high)`` in ``unit``."""

    def _check_scale(self) -> None:
        if self.scale == "log" and self.bounds[0] <= 0:
            raise ValueError(
                f'scale = "log" needs a positive range; the lowest value is {self.bounds[0]:g} '
                '(raise it above 0, or use scale = "linear")'
            )

    def to_unit(self, values: np.ndarray | float) -> np.ndarray:
        """Values (in ``unit``) as positions in [0, 1] of the range, on the variable's scale."""
        low, high = self.bounds
        x = np.asarray(values, dtype=float)
        if self.scale == "log":
            with np.errstate(divide="ignore", invalid="ignore"):
                return (np.log10(x) - math.log10(low)) / (math.log10(high) - math.log10(low))
        return (x - low) / (high - low)

    def from_unit(self, u: np.ndarray | float) -> np.ndarray:
        """Positions in [0, 1] of the range back to values in ``unit`` (unsnapped)."""
        low, high = self.bounds
        u = np.asarray(u, dtype=float)
        if self.scale == "log":
            return 10.0 ** (math.log10(low) + u * (math.log10(high) - math.log10(low)))
        return low + u * (high - low)


class Continuous(_Numeric):
    """A real-valued variable in ``[low, high]`` (in ``unit``)."""

    kind: Literal["continuous"]
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Continuous:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        self._check_scale()
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        return (self.low, self.high)


class Discrete(_Numeric):
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
        self._check_scale()
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
    levels_file: str = ""
    """Where the levels and their descriptors were read from (a table beside the campaign file,
    or ``formulate:NAME`` for one shipped with formulate); empty when written inline."""

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
