"""The data layer: the store (SQLite or PostgreSQL), its schema, imports and exports.

Imports no torch: the CLI's cheap verbs (status, log, import, export) stay fast.
"""

from formulate.data.cells import make_measurement, read_table
from formulate.data.export import export_measurements, export_table
from formulate.data.importer import (
    ImportPlan,
    commit,
    import_table,
    open_store,
    plan_import,
)
from formulate.data.lifecycle import abandon, mark, retract
from formulate.data.records import NewMeasurement, NewMembrane
from formulate.data.schema import PENDING, SCHEMA_VERSION, STATUSES
from formulate.data.store import Store
from formulate.data.table import campaign_table, column_name, wide_table

__all__ = [
    "PENDING",
    "SCHEMA_VERSION",
    "STATUSES",
    "ImportPlan",
    "NewMeasurement",
    "NewMembrane",
    "Store",
    "abandon",
    "campaign_table",
    "column_name",
    "commit",
    "export_measurements",
    "export_table",
    "import_table",
    "make_measurement",
    "mark",
    "open_store",
    "plan_import",
    "read_table",
    "retract",
    "wide_table",
]
