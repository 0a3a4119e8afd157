"""ADF (Auto-lead Data Format 1.0) documents as lead records, tolerant of what real senders write.

Real documents miss the `<?adf?>` processing instruction or write it in capitals, use
`name type="full"` for `part="full"`, add elements the DTD does not know, leave out the
vendor, repeat prospects, phones and vehicles, and write request dates without an offset or
with one-digit hours. Parsing refuses DTD entities (no external entities, no expansion bombs)
and nesting deeper than any ADF document needs. A prospect that cannot become a lead is
reported with its reason; the others still load. A request date that cannot be read never
loses a lead: the lead keeps the time it reached us, and the date as sent is noted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from auterity_pipelines.records import EARLIEST_TIME, LATEST_TIME, format_time

MAX_BYTES = 1_000_000
MAX_DEPTH = 32  # ADF is about six levels deep; deeper is hostile, and recursion would give out
_NOT_WANTED = {"trade-in", "sell"}  # `interest` of a vehicle the customer brings, not the one they want
_FIRST_PARTS, _LAST_PARTS = ("first", "given", "forename"), ("last", "surname", "family")
REQUESTDATE_NOTE = "requestdate_as_sent"  # in the lead record when its request date was not usable
# ISO 8601 as real senders write it: one-digit hours and days, a space for the T, no offset.
_LOOSE_TIME = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)


class AdfError(ValueError):
    """The document as a whole cannot be read."""


@dataclass
class AdfResult:
    leads: list[dict] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (prospect number, reason)


def parse_adf(
    data: bytes | str, timezone: str | None = None, received_at: dt.datetime | None = None
) -> AdfResult:
    """Every prospect as a lead record (`source_id`, `modified_at` and the `leads` columns).

    `timezone` (the rooftop's) places a request date written without an offset; `received_at`
    stands in for a request date that cannot be read (default: now).
    """
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        raise AdfError(f"document is {len(raw):,} bytes; the limit is {MAX_BYTES:,}")
    try:
        root = fromstring(raw, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise AdfError(
            f"refused: {type(exc).__name__} (entities and external references are not allowed)"
        ) from exc
    except ParseError as exc:
        raise AdfError(f"not well-formed XML: {exc}") from exc
    _check_depth(root)
    root = _lowered(root)
    if root.tag != "adf":
        raise AdfError(f"not an ADF document: the root element is <{root.tag}>, not <adf>")
    prospects = root.findall("prospect")
    if not prospects:
        raise AdfError("the ADF document holds no <prospect>")
    result = AdfResult()
    arrived = received_at or dt.datetime.now(dt.UTC)
    for number, prospect in enumerate(prospects, start=1):
        try:
            result.leads.append(_lead(prospect, timezone, arrived))
        except ValueError as exc:
            result.rejected.append((number, str(exc)))
    return result


def _check_depth(root: Element) -> None:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise AdfError(f"elements nested more than {MAX_DEPTH} deep; ADF needs about six")
        stack.extend((child, depth + 1) for child in node)


def _lowered(element: Element) -> Element:
    for node in element.iter():
        if isinstance(node.tag, str):
            node.tag = node.tag.lower()
            node.attrib = {k.lower(): v for k, v in node.attrib.items()}
    return element


def _text(node: Element | None, between_lines: str = " ") -> str | None:
    if node is None or node.text is None:
        return None
    text = between_lines.join(line.strip() for line in node.text.strip().splitlines() if line.strip())
    return text or None


def _interest(vehicle: Element) -> str:
    return (vehicle.get("interest") or "").strip().lower()


def _lead(prospect: Element, timezone: str | None, arrived: dt.datetime) -> dict:
    sent = _text(prospect.find("requestdate"))
    received = request_time(sent, timezone)
    contact = prospect.find("customer/contact")
    first, last = _names(contact)
    vehicles = prospect.findall("vehicle")
    wanted = next((v for v in vehicles if _interest(v) not in _NOT_WANTED), None)
    comments = [
        _text(prospect.find("customer/comments"), "\n"),
        _text(wanted.find("comments"), "\n") if wanted is not None else None,
    ]
    comments += [
        f"{'Trade-in' if _interest(v) == 'trade-in' else 'To sell'}: {_describe(v)}"
        for v in vehicles
        if _interest(v) in _NOT_WANTED
    ]
    note = {}
    if received is None:
        received = arrived
        note = {REQUESTDATE_NOTE: (sent or "")[:100]}
    return note | {
        "source_id": _lead_id(prospect),
        "modified_at": format_time(received),
        "source": _source(prospect),
        "received_at": format_time(received),
        "first_name": first,
        "last_name": last,
        "email": _text(contact.find("email")) if contact is not None else None,
        "phone": _phone(contact),
        "vehicle_year": _text(wanted.find("year")) if wanted is not None else None,
        "vehicle_make": _text(wanted.find("make")) if wanted is not None else None,
        "vehicle_model": _text(wanted.find("model")) if wanted is not None else None,
        "vehicle_vin": _text(wanted.find("vin")) if wanted is not None else None,
        "comments": "\n".join(c for c in comments if c) or None,
    }


def request_time(value: str | None, timezone: str | None = None) -> dt.datetime | None:
    """A request date as UTC, read as leniently as senders write it; None when it cannot be used.

    Without an offset it is the rooftop's local time (unusable when the rooftop is not known);
    a time outside 1980–2099 is a wrong clock, not a lead's time.
    """
    from zoneinfo import ZoneInfo

    found = _LOOSE_TIME.fullmatch(value.strip()) if value else None
    if found is None:
        return None
    year, month, day, hour, minute, second, offset = found.groups()
    try:
        moment = dt.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
        if offset and offset.upper() != "Z":
            digits = offset[1:].replace(":", "")
            delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
            moment = moment.replace(tzinfo=dt.timezone(delta if offset[0] == "+" else -delta))
        elif offset:
            moment = moment.replace(tzinfo=dt.UTC)
        elif timezone:
            moment = moment.replace(tzinfo=ZoneInfo(timezone))
        else:
            return None
        moment = moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None
    return moment if EARLIEST_TIME <= moment < LATEST_TIME else None


def _lead_id(prospect: Element) -> str:
    ident = prospect.find("id")
    value = _text(ident)
    if value:
        source = (ident.get("source") or "adf").strip()
        return f"{source}:{value}"[:128]
    # No id from the sender: the prospect's own content names it, so a resend is the same lead.
    digest = hashlib.sha256(re.sub(rb"\s+", b"", tostring(prospect))).hexdigest()[:24]
    return f"adf:{digest}"


def _names(contact: Element | None) -> tuple[str | None, str | None]:
    if contact is None:
        return None, None
    parts: dict[str, str] = {}
    for name in contact.findall("name"):
        value = _text(name)
        if value:
            part = (name.get("part") or name.get("type") or "full").strip().lower()
            part = "first" if part in _FIRST_PARTS else "last" if part in _LAST_PARTS else part
            parts.setdefault(part, value)
    if "first" in parts or "last" in parts:
        return parts.get("first"), parts.get("last")
    full = parts.get("full") or parts.get("individual")
    if not full:
        return None, None
    first, _, last = full.rpartition(" ")
    return (first, last) if first else (None, last)


def _phone(contact: Element | None) -> str | None:
    if contact is None:
        return None
    phones = [p for p in contact.findall("phone") if _text(p)]
    voice = [p for p in phones if (p.get("type") or "voice").lower() not in ("fax", "pager")]
    preferred = [p for p in voice if p.get("preferredcontact") == "1"]
    chosen = (preferred or voice or [None])[0]
    return _text(chosen)


def _source(prospect: Element) -> str:
    for path in ("provider/name", "provider/contact/name", "vendor/vendorname"):
        value = _text(prospect.find(path))
        if value:
            return value[:80]
    ident = prospect.find("id")
    return ((ident.get("source") if ident is not None else None) or "adf")[:80]


def _describe(vehicle: Element) -> str:
    return " ".join(v for v in (_text(vehicle.find(k)) for k in ("year", "make", "model")) if v) or "vehicle"
