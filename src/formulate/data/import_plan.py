"""What an import would write: new membranes, measurements, status moves and notes, with
every problem found and the lab notation read on the way; validated before any write."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from formulate.data.notation import Readings
from formulate.data.records import NewMeasurement, NewMembrane
from formulate.data.table import wide_table
from formulate.errors import Problem
from formulate.spec.campaign import Campaign


@dataclass
class ImportPlan:
    """What an import would write, validated against the campaign and the store."""

    membranes: list[NewMembrane] = field(default_factory=list)
    measurements: list[NewMeasurement] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    readings: Readings = field(default_factory=Readings)
    """Lab notation read differently from how it was written (``t+`` as
    transference_number), to show back to the person."""
    status_updates: dict[str, str] = field(default_factory=dict)
    """Membranes already in the campaign that a results row moves on ({id: status})."""
    notes: dict[str, str] = field(default_factory=dict)
    """Notes a results row adds to a membrane already in the campaign ({id: text})."""

    def extend(self, other: ImportPlan) -> None:
        self.membranes += other.membranes
        self.measurements += other.measurements
        self.problems += other.problems
        self.readings.update(other.readings)
        self.status_updates.update(other.status_updates)
        self.notes.update(other.notes)

    def said(self, source: str) -> str:
        """What the import wrote, in one sentence for the person who ran it."""
        moved = ", ".join(f"{m} {status}" for m, status in self.status_updates.items())
        return (
            f"Imported {len(self.membranes)} membranes and {len(self.measurements)} "
            f"measurements from {source}"
            + (f"; status: {moved}" if moved else "")
            + (f"; notes added to {len(self.notes)} membrane(s)" if self.notes else "")
            + "."
        )

    def table(self, campaign: Campaign) -> pd.DataFrame:
        """What the plan would write, as the campaign's wide table (one row per membrane),
        without a store: for tables that are read, not kept (a backtest's pool)."""
        meta = ("membrane", "status", "batch", "provenance")
        members = pd.DataFrame(
            [
                {**{c: getattr(m, c) for c in meta}, "assumed": ";".join(m.assumed)} | m.formulation
                for m in self.membranes
            ]
        )
        cols = ["membrane", "property", "value", "censored", "temperature_C"]
        values = pd.DataFrame(
            [[getattr(m, c) for c in cols] for m in self.measurements], columns=cols
        )
        return wide_table(
            members,
            values,
            campaign.space.names(),
            campaign.reference_temperature_C,
            campaign.censorable(),
        )
