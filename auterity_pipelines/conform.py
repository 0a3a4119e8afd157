"""From DMS records to contract rows: parse, validate, normalise. Pure: no I/O, no Dagster.

A record that cannot become a row raises RecordError with a reason a person can act on;
the caller quarantines it with that reason.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from auterity_pipelines import vin as vins
from auterity_pipelines.records import MALFORMED_KEY


class RecordError(ValueError):
    """Why a record cannot be loaded."""


def text(value: object, limit: int = 4000) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value[:limit] or None


def parse_time(value: object, tz: ZoneInfo, field: str, required: bool = False) -> dt.datetime | None:
    """ISO 8601 to UTC; a time without an offset is the rooftop's local time, as DMS exports write it."""
    raw = text(value)
    if raw is None:
        if required:
            raise RecordError(f"{field} is missing")
        return None
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise RecordError(f"{field} {raw!r} is not an ISO 8601 time") from None
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(dt.UTC)
    except OverflowError:  # year 1 east of UTC, or year 9999 west of it
        raise RecordError(f"{field} {raw!r} cannot be placed in UTC") from None


def parse_decimal(value: object, field: str, minimum: Decimal | None = Decimal(0)) -> Decimal | None:
    raw = text(value, 64)
    if raw is None:
        return None
    try:
        number = Decimal(raw.replace(",", "").removeprefix("$"))
    except InvalidOperation:
        raise RecordError(f"{field} {raw!r} is not a number") from None
    if not number.is_finite() or (minimum is not None and number < minimum):
        raise RecordError(f"{field} {raw!r} is out of range")
    return number


def parse_int(value: object, field: str, low: int, high: int) -> int | None:
    raw = text(value, 64)
    if raw is None:
        return None
    try:
        number = float(raw)
    except ValueError:
        raise RecordError(f"{field} {raw!r} is not a whole number") from None
    if math.isnan(number) or number != int(number) or not low <= number <= high:
        raise RecordError(f"{field} {raw!r} is not a whole number from {low} to {high}")
    return int(number)


# What a DMS writes for a contact preference, lower-cased.
CONSENT_YES = frozenset({"true", "yes", "y", "1", "opt-in", "opted_in", "in"})
CONSENT_NO = frozenset({"false", "no", "n", "0", "opt-out", "opted_out", "out"})


def parse_consent(value: object, field: str) -> bool | None:
    """A DMS contact preference: True opted in, False opted out, None never stated."""
    if isinstance(value, bool):
        return value
    raw = text(value, 20)
    if raw is None:
        return None
    if raw.lower() in CONSENT_YES:
        return True
    if raw.lower() in CONSENT_NO:
        return False
    raise RecordError(f"{field} {raw!r} is not a yes or no")


def raw_key(record: dict, tz: ZoneInfo) -> tuple[str, dt.datetime]:
    """What a raw table needs of any record: its DMS id and when the DMS last changed it."""
    if record.get(MALFORMED_KEY):
        raise RecordError(record[MALFORMED_KEY])
    source_id = text(record.get("source_id"), 128)
    if source_id is None:
        raise RecordError("source_id is missing")
    modified = parse_time(record.get("modified_at"), tz, "modified_at", required=True)
    return source_id, modified


def latest_model_year() -> int:
    """The newest model year a record may state: two years ahead of today."""
    return dt.date.today().year + 2


def customer(dealership_id: str, r: dict, tz: ZoneInfo) -> dict:
    email = text(r.get("email"), 320)
    return {
        "dealership_id": dealership_id,
        "customer_id": text(r["source_id"]),
        "first_name": text(r.get("first_name"), 100),
        "last_name": text(r.get("last_name"), 100),
        "email": email.lower() if email else None,
        "phone": text(r.get("phone"), 40),
        "postal_code": text(r.get("postal_code"), 20),
        "updated_at": parse_time(r["modified_at"], tz, "modified_at"),
        "email_opt_in": parse_consent(r.get("email_opt_in"), "email_opt_in"),
        "sms_opt_in": parse_consent(r.get("sms_opt_in"), "sms_opt_in"),
    }


def vehicle(dealership_id: str, r: dict, tz: ZoneInfo) -> dict:
    vin = text(r.get("vin"), 64)
    if vin is None:
        raise RecordError("vin is missing: a vehicle is keyed by its VIN")
    stated = parse_int(r.get("model_year"), "model_year", 1900, latest_model_year())
    decoded = vins.decode(vin, stated)
    if len(decoded.vin) > 17:
        raise RecordError(f"vin {vin!r} is longer than 17 characters")
    return {
        "dealership_id": dealership_id,
        "vin": decoded.vin,
        "vin_valid": decoded.valid,
        "vin_model_year": decoded.model_year,
        "model_year": stated if stated is not None else decoded.model_year,
        "make": text(r.get("make"), 60),
        "model": text(r.get("model"), 80),
        "trim": text(r.get("trim"), 80),
        "mileage": parse_int(r.get("mileage"), "mileage", 0, 2_000_000),
        "stock_number": text(r.get("stock_number"), 40),
        "status": text(r.get("status"), 40),
        "list_price": parse_decimal(r.get("list_price"), "list_price"),
        "updated_at": parse_time(r["modified_at"], tz, "modified_at"),
        "source_id": text(r["source_id"]),
    }


def deal(dealership_id: str, r: dict, tz: ZoneInfo) -> dict:
    return {
        "dealership_id": dealership_id,
        "deal_id": text(r["source_id"]),
        "customer_id": text(r.get("customer_source_id"), 128),
        "vin": _vin_ref(r.get("vin")),
        "deal_type": text(r.get("deal_type"), 40),
        "sale_price": parse_decimal(r.get("sale_price"), "sale_price"),
        "sold_at": parse_time(r.get("sold_at"), tz, "sold_at", required=True),
        "lead_id": text(r.get("lead_source_id"), 128),
        "updated_at": parse_time(r["modified_at"], tz, "modified_at"),
    }


def repair_order(dealership_id: str, r: dict, tz: ZoneInfo) -> dict:
    ro_number = text(r.get("ro_number"), 128)
    if ro_number is None:
        raise RecordError("ro_number is missing")
    opened = parse_time(r.get("opened_at"), tz, "opened_at", required=True)
    closed = parse_time(r.get("closed_at"), tz, "closed_at")
    if closed is not None and closed < opened:
        raise RecordError(f"closed_at {r.get('closed_at')} is before opened_at {r.get('opened_at')}")
    return {
        "dealership_id": dealership_id,
        "ro_number": ro_number,
        "customer_id": text(r.get("customer_source_id"), 128),
        "vin": _vin_ref(r.get("vin")),
        "opened_at": opened,
        "closed_at": closed,
        "total_amount": parse_decimal(r.get("total_amount"), "total_amount", minimum=None),
        "source_id": text(r["source_id"]),
        "updated_at": parse_time(r["modified_at"], tz, "modified_at"),
    }


def repair_order_line(dealership_id: str, r: dict, tz: ZoneInfo) -> dict:
    ro_number = text(r.get("ro_number"), 128)
    if ro_number is None:
        raise RecordError("ro_number is missing")
    line_number = parse_int(r.get("line_number"), "line_number", 1, 10_000)
    if line_number is None:
        raise RecordError("line_number is missing")
    return {
        "dealership_id": dealership_id,
        "ro_number": ro_number,
        "line_number": line_number,
        "op_code": text(r.get("op_code"), 20),
        "complaint": text(r.get("complaint")),
        "cause": text(r.get("cause")),
        "correction": text(r.get("correction")),
        "labor_hours": parse_decimal(r.get("labor_hours"), "labor_hours"),
        "amount": parse_decimal(r.get("amount"), "amount", minimum=None),
        "updated_at": parse_time(r["modified_at"], tz, "modified_at"),
    }


def lead(dealership_id: str, r: dict, tz: ZoneInfo) -> dict:
    email = text(r.get("email"), 320)
    return {
        "dealership_id": dealership_id,
        "lead_id": text(r["source_id"]),
        "source": text(r.get("source"), 80),
        "received_at": parse_time(r.get("received_at"), tz, "received_at", required=True),
        "first_name": text(r.get("first_name"), 100),
        "last_name": text(r.get("last_name"), 100),
        "email": email.lower() if email else None,
        "phone": text(r.get("phone"), 40),
        "vehicle_year": parse_int(r.get("vehicle_year"), "vehicle_year", 1900, latest_model_year()),
        "vehicle_make": text(r.get("vehicle_make"), 60),
        "vehicle_model": text(r.get("vehicle_model"), 80),
        "vehicle_vin": _vin_ref(r.get("vehicle_vin")),
        "comments": text(r.get("comments")),
        "first_response_at": parse_time(r.get("first_response_at"), tz, "first_response_at"),
        "updated_at": parse_time(r["modified_at"], tz, "modified_at"),
    }


def _vin_ref(value: object) -> str | None:
    """A VIN that only refers to a vehicle: kept as written, upper-cased, if it fits the column."""
    vin = text(value, 64)
    if vin is not None and len(vin) > 17:
        raise RecordError(f"vin {vin!r} is longer than 17 characters")
    return vin.upper() if vin else None


# entity -> conformed table and the function that builds its row
CONFORMERS: dict[str, tuple[str, Callable[[str, dict, ZoneInfo], dict]]] = {
    "customers": ("customers", customer),
    "vehicles": ("vehicles", vehicle),
    "deals": ("deals", deal),
    "repair_orders": ("repair_orders", repair_order),
    "repair_order_lines": ("repair_order_lines", repair_order_line),
    "leads": ("leads", lead),
}
