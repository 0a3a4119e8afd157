"""Volume anomalies: a rooftop-day's rows against the median of the days before it."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

TRAILING_DAYS = 14
MIN_HISTORY_DAYS = 7  # fewer days seen: no median worth comparing with
NEAR_ZERO_SHARE = 0.1  # below a tenth of the median: the DMS went quiet (an outage that returns 200)
SPIKE_FACTOR = 5.0  # above five times the median: a replay, a duplicated feed, a changed filter


@dataclass(frozen=True)
class VolumeVerdict:
    passed: bool
    measured: bool
    rows: int
    median: float | None
    reason: str


def judge_volume(rows: int, history: list[int]) -> VolumeVerdict:
    """`history`: rows of the trailing days that were loaded (at most TRAILING_DAYS of them)."""
    if len(history) < MIN_HISTORY_DAYS:
        return VolumeVerdict(
            True, False, rows, None, f"{len(history)} earlier days loaded, {MIN_HISTORY_DAYS} needed"
        )
    median = float(statistics.median(history))
    if median == 0:
        return VolumeVerdict(True, True, rows, median, "the trailing median is 0 rows")
    if rows < NEAR_ZERO_SHARE * median:
        return VolumeVerdict(
            False, True, rows, median, f"{rows} rows against a trailing median of {median:g}: near zero"
        )
    if rows > SPIKE_FACTOR * median:
        return VolumeVerdict(
            False, True, rows, median, f"{rows} rows against a trailing median of {median:g}: a spike"
        )
    return VolumeVerdict(True, True, rows, median, f"{rows} rows, trailing median {median:g}")
