"""What happens to one subject now: send, wait, or not at all (and why). Pure: no I/O."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from auterity_pipelines.automations.library import Subject
from auterity_pipelines.automations.rules import QuietHours

SEND, DEFERRED, SUPPRESSED = "send", "deferred", "suppressed"
SENDING, SENT, FAILED = "sending", "sent", "failed"
FINAL = frozenset({SENT, SUPPRESSED})
MAX_ATTEMPTS = 5  # sends of one message across runs before a retryable failure is left as it is

_NAMES = {"sms": "SMS", "email": "e-mail", "chat": "chat", "crm": "CRM"}


@dataclass(frozen=True)
class Decision:
    decision: str  # send | deferred | suppressed
    reason: str | None = None
    send_after: dt.datetime | None = None


def decide(
    subject: Subject,
    audience: str,
    channel: str,
    address: str | None,
    opted_out: bool,
    quiet: QuietHours | None,
    timezone: str,
    now: dt.datetime,
) -> Decision:
    """The decision for a subject: cancelled, waiting, without consent, in quiet hours, or send."""
    if subject.cancelled:
        return Decision(SUPPRESSED, subject.cancelled)
    if subject.not_before is not None and subject.not_before > now:
        return Decision(DEFERRED, f"waits until {_local(subject.not_before, timezone)}", subject.not_before)
    if address is None:
        what = "e-mail address" if channel == "email" else "phone number" if channel == "sms" else "recipient"
        return Decision(SUPPRESSED, f"no {what} on file")
    if audience == "customer":
        consent = subject.contact.consented(channel) if subject.contact else None
        if opted_out:
            return Decision(SUPPRESSED, f"opted out of {_NAMES[channel]} (STOP)")
        if consent is False:
            return Decision(SUPPRESSED, f"opted out of {_NAMES[channel]} in the DMS")
        if consent is None:
            return Decision(SUPPRESSED, f"no {_NAMES[channel]} consent in the DMS")
        if quiet is not None:
            allowed = quiet.next_allowed(now, timezone)
            if allowed is not None:
                return Decision(DEFERRED, f"quiet hours until {_local(allowed, timezone)}", allowed)
    return Decision(SEND)


class RateLimit:
    """Messages per minute for one rooftop and channel: what is over the budget gets a later minute."""

    def __init__(self, per_minute: int, used_last_minute: int, now: dt.datetime):
        self.per_minute = per_minute
        self.now = now.replace(second=0, microsecond=0)
        self.taken = used_last_minute

    def slot(self) -> dt.datetime | None:
        """None: send now; else the minute this message may go in (one slot taken either way)."""
        position = self.taken
        self.taken += 1
        if position < self.per_minute:
            return None
        return self.now + dt.timedelta(minutes=math.floor(position / self.per_minute))


def _local(moment: dt.datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")
