"""The sync's data path, without Dagster: DMS batches into raw tables, raw tables into contract tables.

The assets and `bench/dms_load` both run exactly this code.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from auterity_pipelines.conform import CONFORMERS, RecordError, raw_key
from auterity_pipelines.records import NESTED_LINES_KEY, split_lines
from resources.dms.window import Window
from resources.warehouse import Warehouse, quarantine_row
from resources.warehouse.upserts import UPSERTS

Progress = Callable[[str, int], None]


@dataclass
class LoadStats:
    rows: int = 0
    quarantined: int = 0
    released: int = 0
    seconds: float = 0.0
    reasons: Counter = field(default_factory=Counter)  # quarantined records by the field at fault

    def quarantine(self, error: RecordError) -> str:
        """Count one quarantined record; returns its reason."""
        reason = str(error)
        self.quarantined += 1
        self.reasons[reason.split(" ", 1)[0]] += 1
        return reason

    def metadata(self) -> dict:
        top = ", ".join(f"{field} ×{n}" for field, n in self.reasons.most_common(5))
        return {
            "rows": self.rows,
            "quarantined": self.quarantined,
            "seconds": round(self.seconds, 2),
            **({"quarantined_by_field": top} if top else {}),
        }


class RawLoader:
    """Writes one partition's DMS records into raw_<entity>; what cannot be placed is quarantined."""

    def __init__(
        self,
        warehouse: Warehouse,
        dealership_id: str,
        timezone: str,
        window: Window,
        run_id: str,
        targets: Iterable[str] | None = None,
    ):
        self.targets = set(targets) if targets is not None else None
        self.warehouse = warehouse
        self.dealership_id = dealership_id
        self.tz = ZoneInfo(timezone)
        self.window = window
        self.run_id = run_id
        self.stats: dict[str, LoadStats] = {}

    def load(self, entity: str, batches: Iterable[list[dict]], progress: Progress | None = None) -> None:
        """Load every batch; repair orders that carry their lines also load raw_repair_order_lines."""
        for batch in batches:
            started = time.perf_counter()
            self._load_batch(entity, batch)
            if any(NESTED_LINES_KEY in record for record in batch):
                self._load_batch("repair_order_lines", [line for r in batch for line in split_lines(r)])
            self.stats[entity].seconds += time.perf_counter() - started
            if progress:
                progress(entity, len(batch))
        self.stats.setdefault(entity, LoadStats())

    def _load_batch(self, entity: str, records: list[dict]) -> None:
        stats = self.stats.setdefault(entity, LoadStats())
        if self.targets is not None and entity not in self.targets:
            return
        now = dt.datetime.now(dt.UTC)
        rows, bad = [], []
        for record in records:
            try:
                source_id, modified = raw_key(record, self.tz)
            except RecordError as exc:
                bad.append(quarantine_row(entity, self.dealership_id, record, stats.quarantine(exc), now))
                continue
            rows.append((self.dealership_id, source_id, record, modified, now, self.run_id, self.window.day))
        self.warehouse.upsert(UPSERTS[f"raw_{entity}"].table.name, rows)
        self.warehouse.quarantine(bad)
        stats.rows += len(rows)


def conform_partition(
    warehouse: Warehouse,
    entity: str,
    dealership_id: str,
    timezone: str,
    day: dt.date,
    observe: Callable[[str, list[str], list[tuple]], None] | None = None,
) -> LoadStats:
    """Build contract rows from the raw records this partition loaded; quarantine what will not conform.

    `observe(table, columns, rows)` sees each batch of contract rows before it is written (the
    quality checks collect them).
    """
    table, build = CONFORMERS[entity]
    columns = UPSERTS[table].columns
    tz = ZoneInfo(timezone)
    stats = LoadStats()
    started = time.perf_counter()
    for batch in warehouse.raw_payloads(entity, dealership_id, day):
        now = dt.datetime.now(dt.UTC)
        rows, bad, loaded = [], [], []
        for record in batch:
            try:
                row = build(dealership_id, record, tz)
            except RecordError as exc:
                bad.append(quarantine_row(entity, dealership_id, record, stats.quarantine(exc), now))
                continue
            rows.append(tuple(row[c] for c in columns))
            loaded.append(record["source_id"])
        if observe:
            observe(table, columns, rows)
        warehouse.upsert(table, rows)
        warehouse.quarantine(bad)
        stats.released += warehouse.release(entity, dealership_id, loaded)
        stats.rows += len(rows)
    stats.seconds = time.perf_counter() - started
    return stats
