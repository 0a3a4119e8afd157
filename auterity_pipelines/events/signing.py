"""Webhook signatures: HMAC-SHA256 keyed by the rooftop's secret, over the timestamp, the rooftop and the body.

`v1=<hex>` signs `"<timestamp>.<dealership>.<raw body>"`: a signature made for one rooftop is
worthless at another that shares its secret. The older `sha256=<hex>` over `"<timestamp>.<raw
body>"` is accepted only from a rooftop whose fleet entry allows it (`webhook_legacy_signature`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass, field

TOLERANCE_SECONDS = 300  # a delivery older or newer than this is refused as a replay
V1, LEGACY = "v1", "sha256"
_CANONICAL_TIMESTAMP = re.compile(r"[1-9][0-9]{0,10}")  # Unix seconds as written by str(int(...))
_SIGNATURE = re.compile(r"(v1|sha256)=([0-9a-f]{64})")


class SignatureError(ValueError):
    pass


def _signed_prefix(scheme: str, timestamp: str, dealership_id: str) -> bytes:
    return f"{timestamp}.{dealership_id}.".encode() if scheme == V1 else f"{timestamp}.".encode()


def sign(secret: str, timestamp: int | str, body: bytes, dealership_id: str, scheme: str = V1) -> str:
    prefix = _signed_prefix(scheme, str(timestamp), dealership_id)
    return f"{scheme}=" + hmac.new(secret.encode(), prefix + body, hashlib.sha256).hexdigest()


def headers(
    secret: str, body: bytes, dealership_id: str, now: float | None = None, scheme: str = V1
) -> dict[str, str]:
    """The headers that make `body` a valid delivery to or from `dealership_id` now."""
    timestamp = str(int(now if now is not None else time.time()))
    return {
        "X-Auterity-Timestamp": timestamp,
        "X-Auterity-Signature": sign(secret, timestamp, body, dealership_id, scheme),
    }


@dataclass
class Verifier:
    """A delivery's signature, checked in two steps: the headers before any of the body is read,
    then the body as it streams in (so a forged request costs a header check, not a buffered body)."""

    secret: str = field(repr=False)  # never in a log line or a traceback's repr
    dealership_id: str
    expected: list[tuple[str, str]]  # (scheme, hex digest) the sender claims
    timestamp: str

    @classmethod
    def from_headers(
        cls,
        secret: str,
        dealership_id: str,
        timestamp: str | None,
        signature: str | None,
        allow_legacy: bool = False,
        now: float | None = None,
    ) -> Verifier:
        """A verifier for this delivery, or SignatureError when its headers alone refuse it."""
        if not timestamp or not signature:
            raise SignatureError("X-Auterity-Timestamp and X-Auterity-Signature are required")
        if not _CANONICAL_TIMESTAMP.fullmatch(timestamp):
            raise SignatureError("X-Auterity-Timestamp must be Unix seconds, digits only")
        if abs((now if now is not None else time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
            raise SignatureError(
                f"timestamp is more than {TOLERANCE_SECONDS} s from now (a replay, or a wrong clock)"
            )
        claimed = []
        for part in signature.split(","):
            found = _SIGNATURE.fullmatch(part.strip())
            if found is None:
                raise SignatureError("X-Auterity-Signature must be v1=<64 lower-case hex digits>")
            claimed.append((found.group(1), found.group(2)))
        usable = [(s, d) for s, d in claimed if s == V1 or allow_legacy]
        if not usable:
            raise SignatureError(
                f'{dealership_id} accepts v1 signatures only (HMAC of "<timestamp>.<dealership>.<body>")'
            )
        return cls(secret, dealership_id, usable, timestamp)

    def digests(self) -> dict[str, hmac.HMAC]:
        return {
            scheme: hmac.new(
                self.secret.encode(),
                _signed_prefix(scheme, self.timestamp, self.dealership_id),
                hashlib.sha256,
            )
            for scheme in {s for s, _ in self.expected}
        }

    def check(self, digests: dict[str, hmac.HMAC]) -> None:
        """Nothing when the streamed body matches a claimed signature; SignatureError else."""
        if not any(hmac.compare_digest(digests[s].hexdigest(), d) for s, d in self.expected):
            raise SignatureError("signature does not match the body")


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    dealership_id: str,
    allow_legacy: bool = False,
    now: float | None = None,
) -> None:
    """Nothing when the delivery is signed with `secret` within the tolerance; SignatureError saying why."""
    verifier = Verifier.from_headers(secret, dealership_id, timestamp, signature, allow_legacy, now)
    digests = verifier.digests()
    for digest in digests.values():
        digest.update(body)
    verifier.check(digests)


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """The `X-Twilio-Signature` of a form post: base64 HMAC-SHA1 of the URL and the sorted fields."""
    import base64

    data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def verify_twilio(auth_token: str, url: str, params: dict[str, str], signature: str | None) -> None:
    """SignatureError unless `signature` is the provider's signature of this form post to `url`."""
    if not signature or not hmac.compare_digest(twilio_signature(auth_token, url, params), signature):
        raise SignatureError("X-Twilio-Signature does not match")
