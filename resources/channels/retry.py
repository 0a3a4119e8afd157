"""What every channel shares: one answer per send, retries for what can be retried, a reason for the rest."""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

_PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")
_EMAIL = re.compile(r"[\w.+-]+@([\w-]+\.[\w.-]+)")


def scrub(text: str) -> str:
    """A provider's error text without the numbers and addresses it may echo back (kept in the ledger)."""
    return _EMAIL.sub(r"***@\1", _PHONE.sub("***", text))


RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_WAIT_SECONDS = 30.0  # a Retry-After longer than this is a provider to try again in a later run


@dataclass(frozen=True)
class Sent:
    message_id: str | None
    attempts: int


class SendFailed(Exception):
    """A message that did not go. `retryable`: nothing reached the provider, so a later run may send it."""

    def __init__(self, reason: str, attempts: int, retryable: bool):
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts
        self.retryable = retryable


class Ambiguous(Exception):
    """The request left and no answer came: the provider may have the message."""


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta seconds or an HTTP date)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def send_with_retries(
    send: Callable[[], httpx.Response],
    attempts: int,
    on_ambiguous: Callable[[], Sent | None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    base_delay: float = 0.5,
) -> tuple[httpx.Response | Sent, int]:
    """Call `send` until it answers 2xx; SendFailed with the last reason otherwise.

    Refused connections and 408/429/5xx are tried again (429 after its Retry-After). A request
    that left without an answer (a read timeout, a dropped connection) is asked about with
    `on_ambiguous` where the provider can say whether it has it; with no way to ask, it is not
    sent again and fails as unknown, because a second copy is worse than a reported gap.
    """
    last = "no attempt"
    for attempt in range(1, attempts + 1):
        wait = base_delay * 2 ** (attempt - 1) * (0.5 + random.random() / 2)
        try:
            response = send()
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            last = f"{type(exc).__name__}: {exc}"
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            if on_ambiguous is None:
                raise SendFailed(
                    f"no answer ({type(exc).__name__}); it may have arrived, so it is not sent again",
                    attempt,
                    retryable=False,
                ) from None
            found = on_ambiguous()
            if found is not None:
                return Sent(found.message_id, attempt), attempt
            last = f"{type(exc).__name__}, and the provider has no such message"
        else:
            if response.is_success:
                return response, attempt
            if response.status_code not in RETRY_STATUSES:
                raise SendFailed(
                    f"HTTP {response.status_code}: {response.text[:200]}", attempt, retryable=False
                )
            last = f"HTTP {response.status_code}"
            after = retry_after(response)
            if after is not None:
                if after > MAX_WAIT_SECONDS:
                    raise SendFailed(f"{last}, Retry-After {after:.0f} s", attempt, retryable=True)
                wait = after
        if attempt < attempts:
            sleep(wait)
    raise SendFailed(f"{last} after {attempts} attempts", attempts, retryable=True)
