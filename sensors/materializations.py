"""What the sensors read of an asset's materializations: the newest one's place in the event log,
and those after a place, oldest first."""

from __future__ import annotations

import dagster as dg


def latest_storage_id(instance: dg.DagsterInstance, key: dg.AssetKey) -> int:
    """The storage id of `key`'s newest materialization, 0 where it has none: where a sensor that
    starts from now starts. (`get_latest_materialization_event` gives an EventLogEntry, which has
    no storage id.)"""
    records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key), limit=1).records
    return records[0].storage_id if records else 0


def materializations_after(
    instance: dg.DagsterInstance, key: dg.AssetKey, after: int | None, limit: int
) -> list[dg.EventLogRecord]:
    """`key`'s materializations after storage id `after` (from the first where None), oldest
    first, at most `limit`."""
    return instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, after_storage_id=after), limit=limit, ascending=True
    ).records
