"""The delivery ledger: `automation_deliveries` and `contact_opt_outs`.

Claim before send: a message is sent only by the run whose claim (`sending`) took the row, so
two runs, a retry or a backfill never send it twice. A claim whose run died is reconciled by
the next run that meets it (automations/runner.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import Engine, and_, func, or_, select, update

from auterity_pipelines.records import as_utc
from auterity_pipelines.schema import automation_deliveries as deliveries
from auterity_pipelines.schema import contact_opt_outs
from resources.warehouse import dialect_insert

CHUNK = 5000


def new_row(
    key: str,
    automation: str,
    dealership_id: str,
    subject: str,
    channel: str,
    window: str,
    recipient: str | None,
    decision: str,
    reason: str | None,
    partition_key: str,
    run_id: str,
    send_after: dt.datetime | None = None,
) -> dict:
    """A decision as its row: nothing attempted yet, decided now."""
    now = dt.datetime.now(dt.UTC)
    return {
        "delivery_key": key, "automation": automation, "dealership_id": dealership_id,
        "subject": subject[:200], "channel": channel, "window": window[:40], "recipient": recipient,
        "decision": decision, "reason": reason, "retryable": False, "provider_message_id": None,
        "attempts": 0, "partition_key": partition_key, "send_after": send_after,
        "created_at": now, "updated_at": now, "run_id": run_id,
    }  # fmt: skip


def existing(engine: Engine, keys: Sequence[str]) -> dict[str, dict]:
    found = {}
    with engine.connect() as conn:
        for start in range(0, len(keys), CHUNK):
            query = select(deliveries).where(deliveries.c.delivery_key.in_(keys[start : start + CHUNK]))
            found.update({r.delivery_key: dict(r._mapping) for r in conn.execute(query)})
    return found


def record(engine: Engine, rows: Sequence[dict]) -> None:
    """Write decisions that send nothing (deferred, suppressed): new rows, or rows still open."""
    if not rows:
        return
    insert = dialect_insert(engine)
    with engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            stmt = insert(deliveries)
            stmt = stmt.on_conflict_do_update(
                index_elements=["delivery_key"],
                set_={
                    c: stmt.excluded[c]
                    for c in ("decision", "reason", "retryable", "send_after", "updated_at", "run_id")
                },
                where=or_(
                    deliveries.c.decision == "deferred",
                    and_(deliveries.c.decision == "failed", deliveries.c.retryable.is_(True)),
                ),
            )
            conn.execute(stmt, list(rows[start : start + CHUNK]))


def claim(engine: Engine, row: dict, previous: dict | None) -> bool:
    """Take the row for sending; False when another run has it (or has decided it meanwhile)."""
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT DO NOTHING.
    with engine.begin() as conn:
        if previous is None:
            insert = dialect_insert(engine)
            taken = conn.execute(
                insert(deliveries)
                .values(row)
                .on_conflict_do_nothing(index_elements=["delivery_key"])
                .returning(deliveries.c.delivery_key)
            ).first()
        else:
            taken = conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.delivery_key == row["delivery_key"],
                    deliveries.c.decision == previous["decision"],
                    deliveries.c.updated_at == previous["updated_at"],
                )
                .values(
                    decision="sending",
                    reason=None,
                    recipient=row["recipient"],
                    run_id=row["run_id"],
                    updated_at=row["updated_at"],
                )
                .returning(deliveries.c.delivery_key)
            ).first()
    return taken is not None


def orphaned(previous: dict, run_id: str, run_alive, stale: dt.timedelta, now: dt.datetime) -> bool:
    """Whether a `sending` claim lost its run: this run's own earlier attempt, a run that is no
    longer going, or a claim older than any run takes (whatever the instance says)."""
    claimed = as_utc(previous["updated_at"])
    return previous["run_id"] == run_id or not run_alive(previous["run_id"]) or now - claimed > stale


def finish(
    engine: Engine,
    key: str,
    decision: str,
    reason: str | None,
    retryable: bool,
    message_id: str | None,
    attempts: int,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.delivery_key == key)
            .values(
                decision=decision,
                reason=reason,
                retryable=retryable,
                provider_message_id=message_id,
                attempts=deliveries.c.attempts + attempts,
                updated_at=dt.datetime.now(dt.UTC),
            )
        )


def close_vanished(engine: Engine, automation: str, partition_key: str, found: set[str]) -> int:
    """Waits of this automation and partition whose subject its latest run no longer found (a newer
    visit, a deleted record): suppressed, so they stop falling due."""
    query = select(deliveries.c.delivery_key).where(
        deliveries.c.automation == automation,
        deliveries.c.partition_key == partition_key,
        deliveries.c.decision == "deferred",
    )
    with engine.begin() as conn:
        gone = [k for k in conn.execute(query).scalars() if k not in found]
        for start in range(0, len(gone), CHUNK):
            conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.delivery_key.in_(gone[start : start + CHUNK]),
                    deliveries.c.decision == "deferred",
                )
                .values(decision="suppressed", reason="no longer applies", updated_at=dt.datetime.now(dt.UTC))
            )
    return len(gone)


def sends_since(engine: Engine, dealership_id: str, channel: str, since: dt.datetime) -> int:
    """Messages sent (or being sent) on a channel for a rooftop since a moment: the rate limit's count."""
    query = select(func.count()).where(
        deliveries.c.dealership_id == dealership_id,
        deliveries.c.channel == channel,
        deliveries.c.decision.in_(["sent", "sending"]),
        deliveries.c.updated_at >= since,
    )
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def due(engine: Engine, now: dt.datetime, limit: int = 500) -> list[dict]:
    """(automation, partition) pairs with a deferred message whose time has come, earliest first."""
    query = (
        select(
            deliveries.c.automation, deliveries.c.partition_key, func.min(deliveries.c.send_after).label("at")
        )
        .where(deliveries.c.decision == "deferred", deliveries.c.send_after <= now)
        .group_by(deliveries.c.automation, deliveries.c.partition_key)
        .order_by(func.min(deliveries.c.send_after))
        .limit(limit)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def history(engine: Engine, dealership_id: str | None, day: dt.date | None, limit: int = 1000) -> list[dict]:
    query = select(deliveries).order_by(deliveries.c.created_at.desc()).limit(limit)
    if dealership_id:
        query = query.where(deliveries.c.dealership_id == dealership_id)
    if day:
        start = dt.datetime.combine(day, dt.time(), dt.UTC)
        query = query.where(
            or_(
                and_(
                    deliveries.c.created_at >= start, deliveries.c.created_at < start + dt.timedelta(days=1)
                ),
                and_(
                    deliveries.c.updated_at >= start, deliveries.c.updated_at < start + dt.timedelta(days=1)
                ),
            )
        )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def opted_out(engine: Engine, dealership_id: str, channel: str, addresses: Iterable[str]) -> set[str]:
    wanted = [a for a in set(addresses) if a]
    found: set[str] = set()
    with engine.connect() as conn:
        for start in range(0, len(wanted), CHUNK):
            query = select(contact_opt_outs.c.address).where(
                contact_opt_outs.c.dealership_id == dealership_id,
                contact_opt_outs.c.channel == channel,
                contact_opt_outs.c.address.in_(wanted[start : start + CHUNK]),
            )
            found |= {r.address for r in conn.execute(query)}
    return found


def set_opt_out(
    engine: Engine, dealership_id: str, channel: str, address: str, out: bool, source: str
) -> None:
    """STOP adds the address to the rooftop's opt-out list; START takes it off."""
    with engine.begin() as conn:
        if out:
            insert = dialect_insert(engine)
            conn.execute(
                insert(contact_opt_outs)
                .values(
                    dealership_id=dealership_id,
                    channel=channel,
                    address=address,
                    source=source,
                    received_at=dt.datetime.now(dt.UTC),
                )
                .on_conflict_do_nothing()
            )
        else:
            conn.execute(
                contact_opt_outs.delete().where(
                    contact_opt_outs.c.dealership_id == dealership_id,
                    contact_opt_outs.c.channel == channel,
                    contact_opt_outs.c.address == address,
                )
            )


def record_status(engine: Engine, message_id: str, status: str, error: str | None) -> int:
    """A provider's delivery status for a sent message (its status callback)."""
    reason = f"provider: {status}" + (f" ({error})" if error else "")
    with engine.begin() as conn:
        return conn.execute(
            update(deliveries)
            .where(deliveries.c.provider_message_id == message_id, deliveries.c.decision == "sent")
            .values(reason=reason)  # updated_at is the send time the rate limit counts
        ).rowcount
