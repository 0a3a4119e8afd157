"""NeuroWeaver's tabular models: what each predicts, from which tables, with which features."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, select

from auterity_pipelines.schema import metadata
from ml.features import leads as lead_features
from ml.features import retention as retention_features
from ml.training import ModelSpec


@dataclass(frozen=True)
class TabularModel:
    name: str
    description: str
    tables: tuple[str, ...]  # the warehouse tables its features come from
    build: Callable[[dict[str, pd.DataFrame], dt.datetime], tuple[ModelSpec, pd.DataFrame]]
    outcome_table: str  # a row here gets its label once `horizon` has passed since `outcome_time`
    outcome_time: str
    horizon: dt.timedelta

    def matured_outcomes(self, engine: Engine, as_of: dt.datetime) -> int:
        """How many records have a known outcome at `as_of` (by the days synced, as training labels
        them): what retraining counts."""
        from ml.features.frames import SYNCED_DAYS, outcome_known, synced_days

        table = metadata.tables[self.outcome_table]
        query = select(table.c.dealership_id, table.c[self.outcome_time], table.c.updated_at).where(
            table.c[self.outcome_time].is_not(None)
        )
        with engine.connect() as conn:
            outcomes = pd.read_sql(query, conn)
        tables = {self.outcome_table: outcomes, SYNCED_DAYS: synced_days(engine)}
        known = outcome_known(
            outcomes["dealership_id"], outcomes[self.outcome_time], pd.Timedelta(self.horizon), as_of, tables
        )
        return int(known.sum())


def _lead_conversion(tables: dict[str, pd.DataFrame], as_of: dt.datetime) -> tuple[ModelSpec, pd.DataFrame]:
    return LEAD_CONVERSION_SPEC, lead_features.lead_frame(tables, as_of)


def _service_retention(tables: dict[str, pd.DataFrame], as_of: dt.datetime) -> tuple[ModelSpec, pd.DataFrame]:
    op_codes = retention_features.op_code_vocabulary(tables["repair_order_lines"])
    spec = ModelSpec(
        name="service_retention",
        label="returned",
        id_column="ro_number",
        categorical=(),
        numeric=tuple(retention_features.feature_names(op_codes)),
    )
    return spec, retention_features.retention_frame(tables, as_of, op_codes)


LEAD_CONVERSION_SPEC = ModelSpec(
    name="lead_conversion",
    label="converted",
    id_column="lead_id",
    categorical=tuple(lead_features.CATEGORICAL),
    numeric=tuple(lead_features.NUMERIC),
)
LEAD_CONVERSION = TabularModel(
    "lead_conversion",
    "The probability that a lead becomes a deal within 30 days.",
    ("leads", "lead_enrichments", "customers", "deals", "repair_orders"),
    _lead_conversion,
    "leads",
    "received_at",
    lead_features.HORIZON.to_pytimedelta(),
)
SERVICE_RETENTION = TabularModel(
    "service_retention",
    "The probability that a customer with a closed repair order comes back for service within 12 months.",
    ("repair_orders", "repair_order_lines"),
    _service_retention,
    "repair_orders",
    "closed_at",
    retention_features.HORIZON.to_pytimedelta(),
)
MODELS = {m.name: m for m in (LEAD_CONVERSION, SERVICE_RETENTION)}
