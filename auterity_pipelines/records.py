"""DMS record shapes shared by the simulator, the connectors and the warehouse loaders."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable

# The generic extract's columns (../shared/DESIGN.md, Input formats); REST connectors yield
# records with the same keys, so everything downstream sees one shape per entity.
KEY_COLUMNS = ("source_id", "modified_at")
ENTITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("first_name", "last_name", "email", "phone", "postal_code"),
    "vehicles": (
        "vin",
        "model_year",
        "make",
        "model",
        "trim",
        "mileage",
        "stock_number",
        "status",
        "list_price",
    ),
    "deals": ("customer_source_id", "vin", "deal_type", "sale_price", "sold_at", "lead_source_id"),
    "repair_orders": ("ro_number", "customer_source_id", "vin", "opened_at", "closed_at", "total_amount"),
    "repair_order_lines": (
        "ro_number",
        "line_number",
        "op_code",
        "complaint",
        "cause",
        "correction",
        "labor_hours",
        "amount",
    ),
    "appointments": ("customer_source_id", "vin", "scheduled_at", "service_type", "status"),
    "leads": (
        "source",
        "received_at",
        "first_name",
        "last_name",
        "email",
        "phone",
        "vehicle_year",
        "vehicle_make",
        "vehicle_model",
        "vehicle_vin",
        "comments",
    ),
}
ENTITIES = tuple(ENTITY_COLUMNS)
# REST DMS APIs nest repair-order lines inside their repair order, so they serve one entity fewer.
REST_ENTITIES = tuple(e for e in ENTITIES if e != "repair_order_lines")
TIME_FIELDS = ("modified_at", "sold_at", "opened_at", "closed_at", "scheduled_at", "received_at")
# REST DMS APIs nest repair-order lines inside their repair order; extracts list them apart.
NESTED_LINES_KEY = "lines"
# Set by a reader on a record it could not read whole (a CSV row with too few fields, say).
MALFORMED_KEY = "_malformed"


# Columns an extract may carry after the required ones: the DMS's contact preferences.
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {"customers": ("email_opt_in", "sms_opt_in")}


def columns(entity: str) -> tuple[str, ...]:
    return KEY_COLUMNS + ENTITY_COLUMNS[entity]


def written_columns(entity: str) -> tuple[str, ...]:
    """What an extract writer writes: the required columns, then the optional ones."""
    return columns(entity) + OPTIONAL_COLUMNS.get(entity, ())


# Times from outside are believed only within these years: anything else is a wrong clock or
# a hostile value (year 1 with a positive offset cannot even be moved to UTC).
EARLIEST_TIME = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)
LATEST_TIME = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def as_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A time read back from the warehouse, aware: SQLite returns naive UTC, PostgreSQL aware."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def format_time(moment: dt.datetime) -> str:
    """UTC, whole seconds, `Z`: the one textual form of a time in records."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def line_source_id(ro_source_id: str, line_number: object) -> str:
    return f"{ro_source_id}/{line_number}"


def split_lines(record: dict) -> list[dict]:
    """The repair-order lines nested in a REST repair order, as extract-shaped line records."""
    lines = record.get(NESTED_LINES_KEY) or []
    return [
        {
            "source_id": line_source_id(record.get("source_id"), line.get("line_number")),
            "modified_at": record.get("modified_at"),
            "ro_number": record.get("ro_number"),
            **{key: line.get(key) for key in ENTITY_COLUMNS["repair_order_lines"][1:]},
        }
        for line in lines
        if isinstance(line, dict)
    ]


def canonical_json(record: dict) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)


def content_checksum(records: Iterable[dict]) -> tuple[int, str]:
    """Count and an order-independent checksum of records' content."""
    # A sum, not XOR, so that a duplicated record changes the checksum instead of cancelling out.
    total = count = 0
    for record in records:
        count += 1
        total += int.from_bytes(hashlib.sha256(canonical_json(record).encode()).digest())
    return count, f"{total % (1 << 256):064x}"
