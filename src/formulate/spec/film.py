"""What a lab knows about film formation before it casts a film: regions where a film may not
form, each with a stated chance, written in the campaign::

    [[film_risks]]
    when = { eo_li_ratio = [6.0, 8.0] }        # a number range, ends included
    chance = 0.4                                # the chance a film forms there
    why = "much salt: films turn sticky and tear"

    [[film_risks]]
    when = { filler = ["nanowire"], filler_wt_pct = [12.0, 15.0] }
    chance = 0.4

A categorical condition lists levels, a numeric one gives ``[low, high]``; a numeric condition
holds only where its variable is active. Where regions overlap the lowest chance counts. The
film classifier starts from these chances (its prior) and the films made update them: failures
pull a region down, films that formed pull it up (see :mod:`formulate.model.feasibility`).
A combination that can never form belongs under ``[[forbidden]]`` instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from formulate.errors import Problem
from formulate.spec.space import DesignSpace
from formulate.spec.variables import Value

Condition = tuple[str, ...] | tuple[float, float]


class FilmRisk(BaseModel):
    """A region of the design space and the stated chance that a film forms in it."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    when: dict[str, tuple[str, ...] | tuple[float, float]] = Field(min_length=1)
    chance: float = Field(gt=0, lt=1)
    why: str = ""

    def matches(self, formulation: Mapping[str, Value], space: DesignSpace) -> bool:
        """Whether ``formulation`` (variable -> value) lies in the region."""
        return all(_holds(name, c, formulation, space) for name, c in self.when.items())

    def describe(self) -> str:
        """``eo_li_ratio 6-8: 40% chance to form (much salt ...)``."""
        parts = []
        for name, condition in self.when.items():
            span = _range(condition)
            if span is not None:
                parts.append(f"{name} {span[0]:g}-{span[1]:g}")
            else:
                parts.append(f"{name} {'/'.join(str(c) for c in condition)}")
        why = f" ({self.why})" if self.why else ""
        return f"{' with '.join(parts)}: {100 * self.chance:g}% chance to form{why}"


def _holds(
    name: str, condition: Condition, formulation: Mapping[str, Value], space: DesignSpace
) -> bool:
    value, span = formulation.get(name), _range(condition)
    if span is None:
        return str(value) in condition
    if not space.is_active(name, formulation) or not isinstance(value, int | float):
        return False
    return span[0] <= float(value) <= span[1]


def _range(condition: Condition) -> tuple[float, float] | None:
    """``(low, high)`` of a numeric condition; None for levels (or a malformed range)."""
    if len(condition) == 2 and all(isinstance(c, int | float) for c in condition):
        return float(condition[0]), float(condition[1])
    return None


def risk_problems(risks: tuple[FilmRisk, ...], space: DesignSpace) -> list[Problem]:
    """Conditions naming unknown variables or levels, or ranges that are not ``[low, high]``
    inside the variable's bounds."""
    problems = []
    for i, risk in enumerate(risks):
        for name, condition in risk.when.items():
            where = f"film_risks[{i}].when.{name}"
            if name not in space.variables:
                fix = f"use one of {sorted(space.variables)}"
                problems.append(Problem(where, f"'{name}' is not a variable", fix))
            elif name in space.categorical_names():
                unknown = [c for c in condition if str(c) not in space.levels(name)]
                if unknown or _range(condition) is not None:
                    problems.append(
                        Problem(
                            where,
                            f"{unknown or list(condition)} are not levels of {name}",
                            f"list levels of {name}: {', '.join(space.levels(name))}",
                        )
                    )
            elif (span := _range(condition)) is None or span[0] > span[1]:
                problems.append(
                    Problem(where, f"{list(condition)} is not a range", "write [low, high]")
                )
            else:
                low, high = space.bounds(name)
                if span[1] < low or span[0] > high:
                    problems.append(
                        Problem(
                            where,
                            f"{list(condition)} lies outside {name}'s bounds {low:g}-{high:g}",
                            "write a range that overlaps the bounds",
                        )
                    )
    return problems
