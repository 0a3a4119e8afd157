"""Sync partitions: rooftop (dynamic, from the fleet file) × the rooftop's local day."""

from __future__ import annotations

import datetime as dt

import dagster as dg

DEALERSHIPS = dg.DynamicPartitionsDefinition(name="dealerships")
# end_offset=1: a rooftop east of UTC finishes its day before the UTC day ends.
DAYS = dg.DailyPartitionsDefinition(start_date="2025-01-01", end_offset=1)
rooftop_days = dg.MultiPartitionsDefinition({"dealership": DEALERSHIPS, "day": DAYS})


def partition_key(dealership_id: str, day: dt.date) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"dealership": dealership_id, "day": day.isoformat()})


def split_key(key: str | dg.MultiPartitionKey) -> tuple[str, dt.date]:
    """(dealership_id, day) of a sync partition key."""
    if not isinstance(key, dg.MultiPartitionKey):
        key = rooftop_days.get_partition_key_from_str(key)
    dims = key.keys_by_dimension
    return dims["dealership"], dt.date.fromisoformat(dims["day"])
