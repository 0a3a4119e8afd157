"""The durable events inbox: an event is stored once, in one transaction, before anyone is told it arrived."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select, update

from auterity_pipelines import tracing
from auterity_pipelines.events.routes import ROUTES
from auterity_pipelines.events.schemas import LEAD_RECEIVED
from auterity_pipelines.schema import events_inbox
from resources.warehouse import Warehouse, dialect_insert, quarantine_row


@dataclass(frozen=True)
class Incoming:
    event_type: str
    payload: dict
    dedup_key: str  # the sender's id for the event, else a hash of its content


@dataclass(frozen=True)
class Stored:
    event_id: str
    created: bool  # False: a duplicate delivery of an event already stored


def lead_events(leads: Sequence[dict]) -> list[Incoming]:
    """ADF leads as inbox events, each deduplicated by its lead id."""
    return [Incoming(LEAD_RECEIVED, lead, f"lead:{lead['source_id']}") for lead in leads]


def dms_event(event) -> Incoming:
    """A validated DMS event as an inbox event, deduplicated by the sender's id."""
    return Incoming(event.type, event.model_dump(mode="json"), f"id:{event.id}")


def event_id_for(dealership_id: str, dedup_key: str) -> str:
    """Derived, not drawn: every delivery of one event, by any channel, has the same id."""
    return "evt_" + hashlib.sha256(f"{dealership_id}\n{dedup_key}".encode()).hexdigest()[:32]


def content_key(body: bytes | str) -> str:
    return "sha256:" + hashlib.sha256(body if isinstance(body, bytes) else body.encode()).hexdigest()


def store(warehouse: Warehouse, dealership_id: str, events: Sequence[Incoming], channel: str) -> list[Stored]:
    """Insert the events in one transaction; duplicates change nothing and report the first id.

    Each row keeps the trace context it was stored in, so that its run continues the event's trace."""
    now = dt.datetime.now(dt.UTC)
    insert = dialect_insert(warehouse.engine)
    stored = []
    with (
        tracing.span("inbox store", auterity__dealership=dealership_id, auterity__channel=channel) as span,
        warehouse.engine.begin() as conn,
    ):
        carried = tracing.traceparent()
        for event in events:
            event_id = event_id_for(dealership_id, event.dedup_key)
            row = {
                "event_id": event_id,
                "dealership_id": dealership_id,
                "event_type": event.event_type,
                "received_at": now,
                "payload": event.payload,
                "status": ROUTES[event.event_type].initial_status
                if event.event_type in ROUTES
                else "received",
                "channel": channel,
                "dedup_key": event.dedup_key[:200],
                "traceparent": carried,
            }
            # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT DO NOTHING.
            created = conn.execute(
                insert(events_inbox)
                .values(row)
                .on_conflict_do_nothing(index_elements=["event_id"])
                .returning(events_inbox.c.event_id)
            ).first()
            stored.append(Stored(event_id, created is not None))
        span.set_attribute("auterity.event_ids", [s.event_id for s in stored])
        span.set_attribute("auterity.duplicates", sum(not s.created for s in stored))
    return stored


def quarantine(
    warehouse: Warehouse, dealership_id: str, channel: str, body: bytes | str, reason: str
) -> None:
    """Keep an event that could not be read, with why, keyed by its content."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    record = {"source_id": content_key(text), "channel": channel, "body": text[:100_000]}
    warehouse.quarantine([quarantine_row("events", dealership_id, record, reason, dt.datetime.now(dt.UTC))])


def pending(warehouse: Warehouse, after_seq: int, also: Sequence[int], limit: int) -> list[dict]:
    """Events not yet taken past the cursor, and those at `also` (numbers it skipped), oldest first."""
    beyond = events_inbox.c.seq > after_seq
    query = (
        select(events_inbox)
        .where(
            events_inbox.c.status == "received",
            or_(beyond, events_inbox.c.seq.in_(list(also))) if also else beyond,
        )
        .order_by(events_inbox.c.seq)
        .limit(limit)
    )
    with warehouse.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def mark(warehouse: Warehouse, event_ids: Sequence[str], status: str, error: str | None = None) -> None:
    if not event_ids:
        return
    with warehouse.engine.begin() as conn:
        conn.execute(
            update(events_inbox)
            .where(events_inbox.c.event_id.in_(list(event_ids)))
            .values(status=status, error=error, processed_at=dt.datetime.now(dt.UTC))
        )


def pending_of(
    warehouse: Warehouse,
    dealership_id: str,
    event_type: str,
    status: str,
    between: tuple[dt.datetime, dt.datetime] | None = None,
) -> list[dict]:
    """A rooftop's events of one type in one status (that arrived in `between`), oldest first."""
    query = (
        select(events_inbox)
        .where(
            events_inbox.c.dealership_id == dealership_id,
            events_inbox.c.event_type == event_type,
            events_inbox.c.status == status,
        )
        .order_by(events_inbox.c.seq)
    )
    if between is not None:
        query = query.where(events_inbox.c.received_at >= between[0], events_inbox.c.received_at < between[1])
    with warehouse.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def stalled(warehouse: Warehouse, between: tuple[dt.datetime, dt.datetime], limit: int) -> list[dict]:
    """Events that arrived in `between` and are still unfinished: their run died, or never came."""
    query = (
        select(events_inbox)
        .where(
            events_inbox.c.status == "received",
            events_inbox.c.received_at >= between[0],
            events_inbox.c.received_at < between[1],
        )
        .order_by(events_inbox.c.seq)
        .limit(limit)
    )
    with warehouse.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
