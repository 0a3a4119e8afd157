"""What templates read from the warehouse: a partition's records, latest scores and enrichments, contacts."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from sqlalchemy import and_, func, select

from auterity_pipelines.automations.library import Contact, Scope
from auterity_pipelines.schema import RAW_TABLES, customers

CHUNK = 5000  # ids per IN list: well under SQLite's and PostgreSQL's parameter limits


def partition_rows(scope: Scope, entity: str, table, key_column: str) -> list[dict]:
    """The contract rows whose current raw version the run's partition loaded."""
    raw = RAW_TABLES[entity]
    query = (
        select(table)
        .join(raw, and_(raw.c.dealership_id == table.c.dealership_id, raw.c.source_id == table.c[key_column]))
        .where(raw.c.dealership_id == scope.dealership_id, raw.c.partition_day == scope.day)
    )
    with scope.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def latest(scope: Scope, table, keys: Iterable, key_column: str, order_column: str, where=None) -> dict:
    """The newest row of `table` per key among `keys`, for the run's rooftop."""
    wanted = list(dict.fromkeys(keys))
    found: dict = {}
    with scope.engine.connect() as conn:
        for start in range(0, len(wanted), CHUNK):
            query = select(table).where(
                table.c.dealership_id == scope.dealership_id,
                table.c[key_column].in_(wanted[start : start + CHUNK]),
            )
            if where is not None:
                query = query.where(where)
            for row in conn.execute(query.order_by(table.c[order_column])):
                found[row._mapping[key_column]] = dict(row._mapping)  # later rows replace earlier
    return found


def customer_rows(scope: Scope, customer_ids: Iterable[str | None]) -> dict[str, dict]:
    """The rooftop's customers among `customer_ids`, by id."""
    return latest(scope, customers, [c for c in customer_ids if c], "customer_id", "updated_at")


def contact_of(row: dict | None) -> Contact | None:
    """How to reach a customer row's customer, and what they agreed to."""
    if row is None:
        return None
    return Contact(row["customer_id"], row["email"], row["phone"], row["email_opt_in"], row["sms_opt_in"])


def short_name(first: str | None, last: str | None) -> str:
    """ "Maria G.": enough for a salesperson to find the lead, not a full identity."""
    first = (first or "").strip()
    initial = (last or "").strip()[:1]
    return f"{first} {initial}.".strip() if initial else first or "(no name)"


def ui_link(scope: Scope, asset_path: str) -> str:
    """The Dagster UI page of an asset's partition, which lists the records the run took."""
    return f"{scope.link_base.rstrip('/')}/assets/{asset_path}?partition={quote(scope.partition_key)}"


def newest_per_customer(scope: Scope, table, time_column: str):
    """A subquery: each customer's newest row time in `table` at the rooftop."""
    return (
        select(table.c.customer_id, func.max(table.c[time_column]).label("last_at"))
        .where(table.c.dealership_id == scope.dealership_id, table.c.customer_id.is_not(None))
        .group_by(table.c.customer_id)
        .subquery()
    )


def contacts_of_leads(rows: list[dict]) -> dict[str, Contact]:
    """A lead's own contact details; a lead asked to be answered, which is its consent to be reached."""
    return {r["lead_id"]: Contact(None, r["email"], r["phone"], True, True) for r in rows}
