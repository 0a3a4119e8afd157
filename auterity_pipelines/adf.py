"""ADF (Auto-lead Data Format 1.0) documents as lead records, tolerant of what real senders write.

Real documents miss the `<?adf?>` processing instruction or write it in capitals, use
`name type="full"` for `part="full"`, add elements the DTD does not know, leave out the
vendor, and repeat prospects, phones and vehicles. Parsing refuses DTD entities (no external
entities, no expansion bombs). A prospect that cannot become a lead is reported with its
reason; the others still load.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from auterity_pipelines.records import format_time

MAX_BYTES = 1_000_000
_BUYING = {None, "", "buy", "lease", "sell"}  # `interest` of the vehicle a lead is about


class AdfError(ValueError):
    """The document as a whole cannot be read."""


@dataclass
class AdfResult:
    leads: list[dict] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (prospect number, reason)


def parse_adf(data: bytes | str) -> AdfResult:
    """Every prospect as a lead record (`source_id`, `modified_at` and the `leads` columns)."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        raise AdfError(f"document is {len(raw):,} bytes; the limit is {MAX_BYTES:,}")
    try:
        root = _lowered(fromstring(raw, forbid_dtd=False, forbid_entities=True, forbid_external=True))
    except DefusedXmlException as exc:
        raise AdfError(
            f"refused: {type(exc).__name__} (entities and external references are not allowed)"
        ) from exc
    except ParseError as exc:
        raise AdfError(f"not well-formed XML: {exc}") from exc
    if root.tag != "adf":
        raise AdfError(f"not an ADF document: the root element is <{root.tag}>, not <adf>")
    prospects = root.findall("prospect")
    if not prospects:
        raise AdfError("the ADF document holds no <prospect>")
    result = AdfResult()
    for number, prospect in enumerate(prospects, start=1):
        try:
            result.leads.append(_lead(prospect))
        except ValueError as exc:
            result.rejected.append((number, str(exc)))
    return result


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


def _lead(prospect: Element) -> dict:
    received = _request_time(_text(prospect.find("requestdate")))
    contact = prospect.find("customer/contact")
    first, last = _names(contact)
    vehicles = prospect.findall("vehicle")
    wanted = next((v for v in vehicles if (v.get("interest") or "").lower() in _BUYING), None)
    comments = [
        _text(prospect.find("customer/comments"), "\n"),
        _text(wanted.find("comments"), "\n") if wanted is not None else None,
    ]
    comments += [
        f"Trade-in: {_describe(v)}" for v in vehicles if (v.get("interest") or "").lower() == "trade-in"
    ]
    return {
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


def _request_time(value: str | None) -> dt.datetime:
    if not value:
        raise ValueError("prospect has no <requestdate>")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"requestdate {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"requestdate {value!r} has no UTC offset")
    return moment.astimezone(dt.UTC)


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
            parts.setdefault((name.get("part") or name.get("type") or "full").lower(), value)
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
