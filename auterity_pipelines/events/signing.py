"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<raw body>", keyed by the rooftop's secret."""

from __future__ import annotations

import hashlib
import hmac
import time

TOLERANCE_SECONDS = 300  # a delivery older or newer than this is refused as a replay


class SignatureError(ValueError):
    pass


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The headers that make `body` a valid delivery now."""
    timestamp = str(int(now if now is not None else time.time()))
    return {"X-Auterity-Timestamp": timestamp, "X-Auterity-Signature": sign(secret, timestamp, body)}


def verify(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float | None = None
) -> None:
    """Nothing when the delivery is signed with `secret` within the tolerance; SignatureError saying why."""
    if not timestamp or not signature:
        raise SignatureError("X-Auterity-Timestamp and X-Auterity-Signature are required")
    try:
        sent = int(timestamp)
    except ValueError:
        raise SignatureError("X-Auterity-Timestamp is not Unix seconds") from None
    if abs((now if now is not None else time.time()) - sent) > TOLERANCE_SECONDS:
        raise SignatureError(
            f"timestamp is more than {TOLERANCE_SECONDS} s from now (a replay, or a wrong clock)"
        )
    if not hmac.compare_digest(sign(secret, sent, body), signature.strip()):
        raise SignatureError("signature does not match the body")
