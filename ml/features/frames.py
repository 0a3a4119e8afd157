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


# The contract column that holds a row's DMS source id, per table (lines go by their order's).
_SOURCE_ID = {
    "customers": "customer_id",
    "vehicles": "source_id",
    "deals": "deal_id",
    "repair_orders": "source_id",
    "leads": "lead_id",
}


def without_blocked_days(
    engine: Engine, frames: dict[str, pd.DataFrame]
) -> tuple[dict[str, pd.DataFrame], int]:
    """The frames without the rows that rooftop-days failing a blocking quality check loaded; and how many.

    A row belongs to the day whose sync loaded its current version (`raw_<entity>.partition_day`).
    """
    from auterity_pipelines.schema import RAW_TABLES, quality_results

    query = select(
        quality_results.c.dealership_id, quality_results.c.day, quality_results.c.table_name
    ).where(quality_results.c.blocking.is_(True), quality_results.c.passed.is_(False))
    with engine.connect() as conn:
        blocked = conn.execute(query).all()
        loaded: dict[str, set[tuple[str, str]]] = {}
        for dealership_id, day, table in blocked:
            if table not in frames:
                continue
            raw = RAW_TABLES[table]
            ids = conn.execute(
                select(raw.c.source_id).where(
                    raw.c.dealership_id == dealership_id, raw.c.partition_day == day
                )
            ).scalars()
            loaded.setdefault(table, set()).update((dealership_id, s) for s in ids)
    dropped, out = 0, dict(frames)
    for table, keys in loaded.items():
        frame = out[table]
        if table == "repair_order_lines":
            orders = out.get("repair_orders")
            if orders is None:
                continue
            ro_sources = {(d, s.rsplit("/", 1)[0]) for d, s in keys}
            bad = {
                (d, number)
                for d, source, number in zip(
                    orders["dealership_id"], orders["source_id"], orders["ro_number"]
                )
                if (d, source) in ro_sources
            }
            mask = pd.Series(
                [k in bad for k in zip(frame["dealership_id"], frame["ro_number"])], index=frame.index
            )
        else:
            column = _SOURCE_ID[table]
            mask = pd.Series(
                [k in keys for k in zip(frame["dealership_id"], frame[column])], index=frame.index
            )
        dropped += int(mask.sum())
        out[table] = frame[~mask]
    return out, dropped
