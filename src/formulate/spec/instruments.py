"""What a measurement costs: how long one takes and how many instruments can run it at once.

Conductivity takes an afternoon, t+ a few days, a Li|Li symmetric cell runs for weeks and a lab
has a handful of cycler channels. A campaign states its own under ``[measurements.<property>]``::

    [measurements.li_symmetric_life]
    duration_days = 62.5      # the longest a cell runs (the test horizon)
    instruments = 8           # cycler channels

Properties not listed take their :data:`DEFAULTS`, else one day on one instrument.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

HOURS_PER_DAY = 24.0


class Measurement(BaseModel):
    """How one property is measured.

    Attributes:
        duration_days: how long one measurement holds an instrument, in days; for a censorable
            property (a cycling life) the longest a cell runs: its test horizon.
        instruments: how many can run at once (cycler channels, impedance analysers).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    duration_days: float = Field(default=1.0, gt=0, le=3650)
    instruments: int = Field(default=1, ge=1, le=10_000)

    @property
    def horizon_h(self) -> float:
        """The longest a measurement runs, in hours."""
        return self.duration_days * HOURS_PER_DAY


DEFAULTS = {
    "ionic_conductivity": Measurement(duration_days=1.0, instruments=1),
    "transference_number": Measurement(duration_days=3.0, instruments=1),
    "li_symmetric_life": Measurement(duration_days=1500.0 / HOURS_PER_DAY, instruments=8),
}
"""Conductivity: 1 day (EIS of a blocking cell). t+: 3 days (Bruce-Vincent polarisation after
the cell settles). Li|Li life: up to 1500 h (the paper's longest test) on 8 cycler channels."""
