"""Quarantine replay, without Dagster: quarantined DMS records through today's rules again.

After a fix (a parser that now reads a date format, a conform rule that now accepts a value), a
record that passes leaves quarantine and lands in its raw and contract tables, as a sync would
have put it; one that still fails stays, with today's reason and a new `last_seen_at`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_

from auterity_pipelines.conform import CONFORMERS, RecordError, raw_key
from auterity_pipelines.records import ENTITIES, NESTED_LINES_KEY, split_lines
from auterity_pipelines.schema import quarantine
from resources.warehouse import Warehouse, quarantine_row
from resources.warehouse.upserts import UPSERTS

PAGE = 1000


@dataclass
class ReplayStats:
    released: Counter = field(default_factory=Counter)  # by entity
    still: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)  # the field at fault, of those that stay

    def metadata(self) -> dict:
        return {
            "released": sum(self.released.values()),
            "still_quarantined": sum(self.still.values()),
            "released_by_entity": dict(self.released),
            "still_by_entity": dict(self.still),
            "still_by_field": dict(self.reasons.most_common(10)),
        }


def replay_quarantine(
    warehouse: Warehouse,
    timezones: dict[str, str],
    run_id: str,
    entity: str | None = None,
    dealership_id: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplayStats:
    """Replay the quarantined records of the fleet's rooftops (`timezones`: dealership -> zone)."""
    stats = ReplayStats()
    for batch in _quarantined(warehouse, entity, dealership_id, list(timezones)):
        _replay_page(warehouse, batch, timezones, run_id, stats)
        if progress:
            progress(len(batch))
    return stats


def _quarantined(warehouse: Warehouse, entity: str | None, dealership_id: str | None, fleet: list[str]):
    """Pages of quarantined DMS records (events kept by the receiver are not DMS records)."""
    query = select(quarantine).where(
        quarantine.c.entity.in_([entity] if entity else ENTITIES),
        quarantine.c.dealership_id.in_([dealership_id] if dealership_id else fleet),
    )
    after: tuple = ("", "", "")
    keys = (quarantine.c.entity, quarantine.c.dealership_id, quarantine.c.source_id)
    while True:
        page_query = query.where(tuple_(*keys) > after).order_by(*keys).limit(PAGE)
        with warehouse.engine.connect() as conn:
            rows = conn.execute(page_query).all()
        if not rows:
            return
        yield rows
        after = (rows[-1].entity, rows[-1].dealership_id, rows[-1].source_id)


def _replay_page(
    warehouse: Warehouse, batch, timezones: dict[str, str], run_id: str, stats: ReplayStats
) -> None:
    """One page: every record judged first, then the writes of the page, one batch per table."""
    now = dt.datetime.now(dt.UTC)
    writes: dict[str, list[tuple]] = defaultdict(list)
    released: dict[tuple[str, str], list[str]] = defaultdict(list)
    still = []
    for row in batch:
        record = json.loads(row.payload)
        try:
            placed = _placed(
                row.entity, row.dealership_id, record, ZoneInfo(timezones[row.dealership_id]), run_id, now
            )
        except RecordError as exc:
            reason = str(exc)
            still.append(quarantine_row(row.entity, row.dealership_id, record, reason, now))
            stats.still[row.entity] += 1
            stats.reasons[reason.split(" ", 1)[0]] += 1
            continue
        for table, values in placed:
            writes[table].append(values)
        released[(row.entity, row.dealership_id)].append(row.source_id)
        stats.released[row.entity] += 1
    for table in sorted(writes, key=lambda t: not t.startswith("raw_")):  # raw tables first, as a sync
        warehouse.upsert(table, writes[table])
    warehouse.quarantine(still)
    for (entity, dealership_id), source_ids in released.items():
        warehouse.release(entity, dealership_id, source_ids)


def _placed(entity: str, dealership_id: str, record: dict, tz, run_id: str, now) -> list[tuple[str, tuple]]:
    """The (table, row) writes that place a record and its nested lines: raw rows, contract rows."""
    source_id, modified = raw_key(record, tz)
    found = [(entity, record, source_id, modified)]
    for line in split_lines(record) if NESTED_LINES_KEY in record else []:
        found.append(("repair_order_lines", line, *raw_key(line, tz)))
    writes = []
    for kind, payload, sid, moment in found:
        writes.append(
            (f"raw_{kind}", (dealership_id, sid, payload, moment, now, run_id, moment.astimezone(tz).date()))
        )
        if kind in CONFORMERS:
            table, build = CONFORMERS[kind]
            built = build(dealership_id, payload, tz)
            writes.append((table, tuple(built[c] for c in UPSERTS[table].columns)))
    return writes
