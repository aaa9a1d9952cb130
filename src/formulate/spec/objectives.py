"""Objectives and outcome constraints: what a campaign optimizes, and the scale it models on.

An objective owns its arithmetic: its ``sign`` (+1 maximize, -1 minimize) and its transform
to the modelling scale (log10 for conductivity and life, logit for fractions such as t+).
Every other module asks the objective instead of testing ``direction`` itself.
"""

from __future__ import annotations

import builtins
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

LOGIT_EPS = 1e-4
"""Fractions are clipped to [eps, 1 - eps] before the logit (t+ of exactly 0 or 1)."""

Transform = Literal["none", "log10", "logit"]


def to_model_scale(values: np.ndarray | list[float], transform: str) -> np.ndarray:
    """Property values (property units) -> the modelling scale (log10, logit or none)."""
    values = np.asarray(values, dtype=float)
    if transform == "log10":
        return np.log10(values)
    if transform == "logit":
        p = np.clip(values, LOGIT_EPS, 1 - LOGIT_EPS)
        return np.log(p / (1 - p))
    return values


def from_model_scale(y: np.ndarray | list[float], transform: str) -> np.ndarray:
    """Inverse of :func:`to_model_scale`: modelling scale -> property units."""
    y = np.asarray(y, dtype=float)
    if transform == "log10":
        return 10.0**y
    if transform == "logit":
        return 1 / (1 + np.exp(-y))
    return y


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Objective(_Frozen):
    """A measured property to optimize.

    Attributes:
        property: the property's name (``ionic_conductivity``).
        direction: ``maximize`` or ``minimize``.
        transform: the scale the model works on: ``log10`` (conductivity, life), ``logit``
            (fractions such as t+) or ``none``.
        unit: the property's canonical unit, stated for readers (checked).
        reference: the worst value still worth having, in ``unit``: the hypervolume reference
            point (``None``: inferred from the data).
        weight: relative weight for weighted strategies.
        censorable: whether values may be lower bounds (from the property when not given).
    """

    property: str
    direction: Literal["maximize", "minimize"] = "maximize"
    transform: Transform = "none"
    unit: str | None = None
    reference: float | None = None
    weight: float = Field(default=1.0, gt=0)
    censorable: bool | None = None

    @builtins.property  # the field 'property' shadows the builtin in the class body
    def sign(self) -> float:
        """+1.0 when larger is better, -1.0 when smaller is."""
        return 1.0 if self.direction == "maximize" else -1.0

    def to_model_scale(self, values: np.ndarray | list[float]) -> np.ndarray:
        """Property values -> this objective's modelling scale (not sign-adjusted)."""
        return to_model_scale(values, self.transform)

    def from_model_scale(self, y: np.ndarray | list[float]) -> np.ndarray:
        """Modelling scale -> property units."""
        return from_model_scale(y, self.transform)

    def score(self, values: np.ndarray | list[float]) -> np.ndarray:
        """Sign-adjusted modelling-scale values: larger is better, whatever the direction."""
        return self.sign * self.to_model_scale(values)

    def best(self, values: np.ndarray | list[float]) -> float:
        """The best of ``values`` (property units): the largest, or the smallest when
        minimized; NaN when there are none."""
        arr = np.asarray(values, dtype=float)
        arr = arr[~np.isnan(arr)]
        if not len(arr):
            return float("nan")
        return float(arr.max() if self.sign > 0 else arr.min())


class OutcomeConstraint(_Frozen):
    """A bound a good membrane's measured property must keep, e.g. stability window >= 4.5 V."""

    property: str
    op: Literal[">=", "<="]
    value: float
    unit: str | None = None

    @builtins.property  # the field 'property' shadows the builtin in the class body
    def sign(self) -> float:
        """+1.0 for a lower bound (``>=``), -1.0 for an upper bound."""
        return 1.0 if self.op == ">=" else -1.0

    def describe(self) -> str:
        return f"{self.property} {self.op} {self.value:g} {self.unit or ''}".rstrip()
