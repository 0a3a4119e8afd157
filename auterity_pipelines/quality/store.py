"""Quality results and partition volumes in the warehouse: written by the conform step, read by others."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, and_, select

from auterity_pipelines.quality.volume import TRAILING_DAYS
from auterity_pipelines.schema import partition_volumes, quality_results


def volume_histories(
    engine: Engine, dealership_id: str, table: str, days: list[dt.date]
) -> dict[dt.date, list[int]]:
    """For each of `days`, the rows of the trailing days before it that were loaded, oldest
    first; read in one query (a history month has thirty days)."""
    query = (
        select(partition_volumes.c.day, partition_volumes.c.rows)
        .where(
            partition_volumes.c.dealership_id == dealership_id,
            partition_volumes.c.table_name == table,
            partition_volumes.c.day >= min(days) - dt.timedelta(days=TRAILING_DAYS),
            partition_volumes.c.day < max(days),
        )
        .order_by(partition_volumes.c.day)
    )
    with engine.connect() as conn:
        loaded = conn.execute(query).all()
    return {
        day: [rows for seen, rows in loaded if day - dt.timedelta(days=TRAILING_DAYS) <= seen < day]
        for day in days
    }


def failed_blocking(engine: Engine, dealership_id: str, day: dt.date, tables: list[str]) -> list[str]:
    """'table.check: summary' for every blocking check of the rooftop-day whose latest result failed."""
    query = select(
        quality_results.c.table_name, quality_results.c.check_name, quality_results.c.summary
    ).where(
        and_(
            quality_results.c.dealership_id == dealership_id,
            quality_results.c.day == day,
            quality_results.c.table_name.in_(tables),
            quality_results.c.blocking.is_(True),
            quality_results.c.passed.is_(False),
        )
    )
    with engine.connect() as conn:
        return [f"{t}.{c}: {s}" for t, c, s in conn.execute(query)]
