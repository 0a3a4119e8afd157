"""Warehouse tables as pandas frames, read once per training or scoring run."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Engine, select

from auterity_pipelines.schema import metadata


def utc(values: pd.Series) -> pd.Series:
    """Timestamps as UTC; naive ones (SQLite) are UTC already."""
    if values.dtype == object:  # text, or datetimes with mixed offsets
        return pd.to_datetime(values, utc=True, format="ISO8601")
    return pd.to_datetime(values, utc=True)


def load_tables(
    engine: Engine, names: Iterable[str], dealership_ids: Iterable[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Each named table, all rows or those of the given dealerships."""
    frames = {}
    with engine.connect() as conn:
        for name in names:
            table = metadata.tables[name]
            query = select(table)
            if dealership_ids is not None:
                query = query.where(table.c.dealership_id.in_(list(dealership_ids)))
            frames[name] = pd.read_sql(query, conn)
    return frames
