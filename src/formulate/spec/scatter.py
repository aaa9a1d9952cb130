"""Replicate scatter: how much one measurement of a property varies between replicate
membranes, as a lab states it under ``[scatter]`` in its campaign::

    [scatter]
    ionic_conductivity = "10%"     # relative: one standard deviation is 10% of the value
    transference_number = 0.03     # absolute, in the property's unit
    li_symmetric_life = "25%"

The surrogates take it as the known part of each value's noise, carried to the model scale
(log10, logit) by the delta method, so a logit-scale t+ near 0.2 is noisier than one near 0.6;
they learn only the noise beyond it (see :mod:`formulate.model.surrogates`).
"""

from __future__ import annotations

import math
import re

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

LOGIT_CLIP = 0.02
"""A fraction is taken as at least 0.02 and at most 0.98 when scatter is carried to the logit
scale (the slope of logit grows without bound at 0 and 1)."""
_PERCENT = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*%\s*$")


class Scatter(BaseModel):
    """One standard deviation between replicates: absolute (``sd``, in the property's
    canonical unit) or relative (``cv``, a fraction of the value: 0.10 = 10%)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    sd: float | None = Field(default=None, gt=0)
    cv: float | None = Field(default=None, gt=0, lt=10)

    @model_validator(mode="before")
    @classmethod
    def _from_toml(cls, value: object) -> object:
        """``0.03`` (absolute) or ``"10%"`` (relative), as written in a campaign."""
        if isinstance(value, bool):
            raise ValueError(_HOW)
        if isinstance(value, int | float):
            return {"sd": value}
        if isinstance(value, str):
            match = _PERCENT.match(value)
            if not match:
                raise ValueError(f"'{value}' is not a scatter; {_HOW}")
            return {"cv": float(match.group(1)) / 100}
        return value

    @model_validator(mode="after")
    def _one(self) -> Scatter:
        if (self.sd is None) == (self.cv is None):
            raise ValueError(_HOW)
        return self

    def model_sd(self, y: np.ndarray, transform: str) -> np.ndarray:
        """The scatter on the model scale at model-scale values ``y`` (shape ``n``), by the
        delta method: sd(g(v)) ~ |g'(v)| sd(v) for the transform g; a relative scatter on the
        log10 scale is exact for a log-normal value."""
        y = np.asarray(y, dtype=float)
        cv, sd = self.cv, float(self.sd or 0.0)
        if transform == "log10":
            if cv is not None:
                return np.full_like(y, math.sqrt(math.log1p(cv**2)) / math.log(10))
            return sd / (10.0**y * math.log(10))
        if transform == "logit":
            p = np.clip(1 / (1 + np.exp(-y)), LOGIT_CLIP, 1 - LOGIT_CLIP)
            return cv / (1 - p) if cv is not None else sd / (p * (1 - p))
        return cv * np.abs(y) if cv is not None else np.full_like(y, sd)

    def __str__(self) -> str:
        return f"{100 * self.cv:g}%" if self.cv is not None else f"{self.sd:g}"


_HOW = 'write a number in the property\'s unit (0.03) or a percentage ("10%")'
