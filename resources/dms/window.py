"""A partition's day as a DMS sees it: a local calendar day and its UTC bounds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    day: dt.date
    start: dt.datetime
    end: dt.datetime

    @classmethod
    def local_day(cls, day: dt.date, timezone: str) -> Window:
        """[local midnight, next local midnight) in UTC; 23 or 25 hours long across DST changes."""
        tz = ZoneInfo(timezone)
        start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        return cls(day, start.astimezone(dt.UTC), end.astimezone(dt.UTC))
