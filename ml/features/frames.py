"""Warehouse tables as pandas frames, read once per training or scoring run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from auterity_pipelines.schema import metadata


def utc(values: pd.Series) -> pd.Series:
    """Timestamps as UTC; naive ones (SQLite) are UTC already."""
    if values.dtype == object:  # text, or datetimes with mixed offsets
        return pd.to_datetime(values, utc=True, format="ISO8601")
    return pd.to_datetime(values, utc=True)


SYNCED_DAYS = "synced_days"  # in the frames load_tables returns: (dealership_id, day) each sync loaded


def load_tables(
    engine: Engine, names: Iterable[str], dealership_ids: Iterable[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Each named table, all rows or those of the given dealerships; and the days each rooftop has synced."""
    frames = {}
    with engine.connect() as conn:
        for name in names:
            table = metadata.tables[name]
            query = select(table)
            if dealership_ids is not None:
                query = query.where(table.c.dealership_id.in_(list(dealership_ids)))
            frames[name] = pd.read_sql(query, conn)
    frames[SYNCED_DAYS] = synced_days(engine, dealership_ids)
    return frames


def synced_days(engine: Engine, dealership_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """(dealership_id, day) of every rooftop-day a sync loaded, daily or history (`partition_volumes`)."""
    from auterity_pipelines.schema import partition_volumes

    query = select(partition_volumes.c.dealership_id, partition_volumes.c.day).distinct()
    if dealership_ids is not None:
        query = query.where(partition_volumes.c.dealership_id.in_(list(dealership_ids)))
    with engine.connect() as conn:
        return pd.read_sql(query, conn)


def outcome_known(
    dealership_ids: pd.Series,
    start: pd.Series,
    horizon: pd.Timedelta,
    as_of: dt.datetime,
    tables: dict[str, pd.DataFrame],
) -> pd.Series:
    """Whether each record's outcome window [start, start + horizon] is over and was synced whole.

    The wall clock alone would call a lead unconverted whose deal simply has not been synced
    yet (history loaded to August, a nightly sync of yesterday, a gap between them). A window
    counts only if one unbroken run of synced days covers it, a day of slack either side for
    the rooftop's time zone. A rooftop with no synced days on record (loaded by other means)
    counts as synced up to how far its data reaches (the latest `updated_at` of its rows).
    """
    start = utc(start)
    end = start + horizon
    known = pd.Series(end <= pd.Timestamp(as_of), index=start.index)
    synced = tables.get(SYNCED_DAYS)
    recorded = set(synced["dealership_id"]) if synced is not None else set()
    first = (start - pd.Timedelta(days=1)).dt.tz_localize(None).to_numpy(dtype="datetime64[D]")
    last = (end + pd.Timedelta(days=1)).dt.tz_localize(None).to_numpy(dtype="datetime64[D]")
    for dealership_id, rows in dealership_ids.groupby(dealership_ids).groups.items():
        where = start.index.get_indexer(rows)
        if dealership_id in recorded:
            days = np.unique(
                pd.to_datetime(synced.loc[synced["dealership_id"] == dealership_id, "day"]).to_numpy(
                    dtype="datetime64[D]"
                )
            )
            breaks = np.flatnonzero(np.diff(days) != np.timedelta64(1, "D"))
            run_start = np.concatenate([days[:1], days[breaks + 1]])
            run_end = np.concatenate([days[breaks], days[-1:]])
            run = np.searchsorted(run_start, first[where], side="right") - 1
            inside = (run >= 0) & (run_end[np.maximum(run, 0)] >= last[where])
        else:
            inside = end.iloc[where].to_numpy() <= _reach(tables, dealership_id)
        known.iloc[where] &= inside
    return known


def _reach(tables: dict[str, pd.DataFrame], dealership_id: str) -> pd.Timestamp:
    """How far a rooftop's data reaches: the latest `updated_at` among its rows."""
    latest = [
        utc(frame.loc[frame["dealership_id"] == dealership_id, "updated_at"]).max()
        for name, frame in tables.items()
        if name != SYNCED_DAYS and frame is not None and {"updated_at", "dealership_id"} <= set(frame)
    ]
    latest = [t for t in latest if pd.notna(t)]
    return max(latest) if latest else pd.Timestamp.min.tz_localize("UTC")


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
