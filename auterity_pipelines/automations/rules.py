"""The rules every automation action obeys, as pure functions: windows, quiet hours, masking, keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class QuietHours:
    """Rooftop-local hours in which no customer message goes out; `start` > `end` spans midnight."""

    start: dt.time
    end: dt.time

    @classmethod
    def parse(cls, value: dict) -> QuietHours:
        """From `{start: "21:00", end: "08:00"}`; ValueError naming the field at fault."""
        if not isinstance(value, dict) or set(value) != {"start", "end"}:
            raise ValueError('must be {start: "HH:MM", end: "HH:MM"}')
        times = {}
        for field in ("start", "end"):
            found = _CLOCK.match(str(value[field]))
            if not found:
                raise ValueError(f"{field} {value[field]!r} is not a 24-hour HH:MM time")
            times[field] = dt.time(int(found[1]), int(found[2]))
        if times["start"] == times["end"]:
            raise ValueError("start and end are the same time")
        return cls(times["start"], times["end"])

    def contains(self, local: dt.time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, moment: dt.datetime, timezone: str) -> dt.datetime | None:
        """The first minute at or after `moment` outside quiet hours, in UTC; None when `moment` is allowed.

        The end is a rooftop wall time on the day it next comes. One that a spring-forward skips is
        read in the offset before the change (an end of 02:30 on that night is 03:30 the new time),
        as calendars do; after a fall-back the end is in the new offset, so the night is longer.
        """
        zone = ZoneInfo(timezone)
        local = moment.astimezone(zone)
        if not self.contains(local.time()):
            return None
        day = local.date()
        for _ in range(3):
            end = dt.datetime.combine(day, self.end, zone)
            end = end.astimezone(dt.UTC).astimezone(zone)
            if end > local and not self.contains(end.time()):
                return end.astimezone(dt.UTC).replace(second=0, microsecond=0)
            day += dt.timedelta(days=1)
        raise AssertionError("quiet hours never end")  # unreachable: start != end


def delivery_key(automation: str, dealership_id: str, subject: str, channel: str, window: str) -> str:
    """The one key an action has: a rerun, a retry or a backfill computes the same one."""
    text = "\n".join((automation, dealership_id, subject, channel, window))
    return hashlib.sha256(text.encode()).hexdigest()[:64]


def mask(channel: str, address: str | None) -> str | None:
    """A recipient as deliveries and previews show it: enough to tell apart, not enough to contact."""
    if not address:
        return None
    if channel == "sms":
        digits = re.sub(r"\D", "", address)
        return f"***{digits[-4:]}" if len(digits) >= 4 else "***"
    if channel == "email":
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}" if domain else "***"
    if channel == "chat":
        return "chat webhook"
    return channel


def e164(phone: str | None, default_country: str = "1") -> str | None:
    """A North American phone number as +1NXXNXXXXXX; None when it cannot be one."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("+"):
        return f"+{digits}" if 8 <= len(digits) <= 15 else None
    if len(digits) == 10:
        return f"+{default_country}{digits}"
    if len(digits) == 11 and digits.startswith(default_country):
        return f"+{digits}"
    return None


def normalise_address(channel: str, address: str | None) -> str | None:
    """How an opt-out is stored and looked up: E.164 phones, lower-case e-mail."""
    if channel == "sms":
        return e164(address)
    if channel == "email":
        return address.strip().lower() if address and "@" in address else None
    return address


def local_window(moment: dt.datetime, timezone: str, period: str) -> str:
    """The rooftop-local day (`2026-11-30`) or ISO week (`2026-W49`) a moment falls in."""
    local = moment.astimezone(ZoneInfo(timezone)).date()
    if period == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.isoformat()
