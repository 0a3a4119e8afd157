"""Sync partitions: rooftop (dynamic, from the fleet file) × the rooftop's local day, for recent
days; rooftop × month for the history before them.

Dagster recommends at most 100,000 partitions per asset (the UI slows past it). Rooftop × day
since a fixed date crosses it for a large group (300 rooftops × two years is 219,000), so days
are partitions only for a trailing window of whole months, and older data is loaded and tracked
a month at a time (`dms/history`). docs/architecture.md (Partitions) and bench/scale give the
figures.
"""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg

DEALERSHIPS = dg.DynamicPartitionsDefinition(name="dealerships")

DAILY_WINDOW_MONTHS_ENV = "AUTERITY_DAILY_WINDOW_MONTHS"
DEFAULT_DAILY_WINDOW_MONTHS = 6  # 300 rooftops × at most 215 days ≈ 64,500 partitions per asset
HISTORY_START = "2020-01-01"  # the oldest month a rooftop's history may be loaded from


def window_start(today: dt.date, months: int) -> dt.date:
    """The first day of the daily window: the first of the month `months` before today's."""
    index = today.year * 12 + today.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def daily_window_months() -> int:
    return int(os.environ.get(DAILY_WINDOW_MONTHS_ENV) or DEFAULT_DAILY_WINDOW_MONTHS)


# Computed when the code location loads: the window moves on a month boundary at the next reload
# (a deploy, or the daemon's periodic reload), and holds at most one month more until then.
FIRST_DAY = window_start(dt.datetime.now(dt.UTC).date(), daily_window_months())
# end_offset=1: a rooftop east of UTC finishes its day before the UTC day ends.
DAYS = dg.DailyPartitionsDefinition(start_date=FIRST_DAY.isoformat(), end_offset=1)
MONTHS = dg.MonthlyPartitionsDefinition(start_date=HISTORY_START, end_date=FIRST_DAY.isoformat())
rooftop_days = dg.MultiPartitionsDefinition({"dealership": DEALERSHIPS, "day": DAYS})
rooftop_months = dg.MultiPartitionsDefinition({"dealership": DEALERSHIPS, "month": MONTHS})


def partition_key(dealership_id: str, day: dt.date) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"dealership": dealership_id, "day": day.isoformat()})


def split_key(key: str | dg.MultiPartitionKey) -> tuple[str, dt.date]:
    """(dealership_id, day) of a sync partition key."""
    if not isinstance(key, dg.MultiPartitionKey):
        key = rooftop_days.get_partition_key_from_str(key)
    dims = key.keys_by_dimension
    return dims["dealership"], dt.date.fromisoformat(dims["day"])


def split_month_key(key: str) -> tuple[str, list[dt.date]]:
    """(dealership_id, the month's days) of a history partition key."""
    dims = rooftop_months.get_partition_key_from_str(key).keys_by_dimension
    first = dt.date.fromisoformat(dims["month"])
    following = window_start(first, -1)
    return dims["dealership"], [first + dt.timedelta(days=n) for n in range((following - first).days)]
