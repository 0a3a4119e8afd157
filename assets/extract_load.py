"""A rooftop-day of extract files in one pass: read once, conform, write raw and contract rows.

Each file is read in Arrow blocks, counted and hashed on the way; the fast column rules settle
most rows, and the rest go through the per-record rules (`conform.py`), which normalise them or
quarantine them with a reason. Everything is staged and merged in one transaction per
rooftop-day, committed only after every file has matched its manifest. A file the Arrow reader
does not take whole is read again per record, within the same transaction.

The sync asset and `bench/dms_load` run exactly this code.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from assets.quality import PartitionRows
from assets.sync import LoadStats
from auterity_pipelines import columnar
from auterity_pipelines.conform import CONFORMERS, RecordError, raw_key
from auterity_pipelines.records import ENTITIES
from resources.dms.extract import ExtractReader, NotColumnar
from resources.dms.window import Window
from resources.warehouse import Warehouse, quarantine_row
from resources.warehouse.bulk import PartitionWriter, as_arrow, contract_schema

# Contract tables the quality checks look references up in: given fresh statistics after a load.
REFERENCED = ("customers", "vehicles", "repair_orders")


class _EntityLoad:
    """One entity's file into the partition's staging tables."""

    def __init__(
        self,
        writer: PartitionWriter,
        warehouse: Warehouse,
        entity: str,
        header: list[str],
        tz: ZoneInfo,
        conforming: bool,
        checked: PartitionRows | None,
    ):
        self.writer, self.warehouse, self.entity, self.header, self.tz = writer, warehouse, entity, header, tz
        self.conforming = conforming
        self.checked = checked if conforming else None  # collects the conformed rows for the checks
        self.schema = contract_schema(entity) if self.conforming else pa.schema([])
        self.raw, self.contract = LoadStats(), LoadStats()
        writer.begin_entity(entity, header, self.conforming)
        if self.checked is not None:
            self.checked.discard(CONFORMERS[entity][0])

    def block(self, block: pa.Table) -> None:
        """An Arrow block: the fast rules first, the per-record rules for what they leave."""
        converted = columnar.convert(self.entity, block, self.tz, self.conforming)
        fast = converted.keyed & (converted.conformed if self.conforming else True)
        parts = []
        if fast.any():
            keep = pa.array(fast)
            parts.append({
                "k": converted.source_id.filter(keep),
                "m": converted.modified_at.filter(keep),
                "ok": pa.array(np.full(int(fast.sum()), self.conforming)),
                **{f"p{i}": block.column(i).filter(keep) for i in range(len(self.header))},
                **{f.name: converted.columns[f.name].filter(keep) for f in self.schema},
            })  # fmt: skip
        slow = np.flatnonzero(~fast)
        if len(slow):
            rest = block.take(pa.array(slow))
            texts = [rest.column(i).to_pylist() for i in range(len(self.header))]
            parts.append(self._records(rest.to_pylist(), texts))
        self._stage(parts)

    def records(self, records: list[dict]) -> None:
        """Records read per record (a file Arrow did not take): the per-record rules alone."""
        texts = [[record.get(name) for record in records] for name in self.header]
        self._stage([self._records(records, texts)])

    def _records(self, records: list[dict], texts: list[list]) -> dict | None:
        now = dt.datetime.now(dt.UTC)
        kept, keys, times, ok, bad = [], [], [], [], []
        values = {f.name: [] for f in self.schema}
        build = CONFORMERS[self.entity][1] if self.conforming else None
        for n, record in enumerate(records):
            try:
                source_id, modified = raw_key(record, self.tz)
            except RecordError as exc:
                bad.append(
                    quarantine_row(
                        self.entity, self.writer.dealership_id, record, self.raw.quarantine(exc), now
                    )
                )
                continue
            row = None
            if build:
                try:
                    row = build(self.writer.dealership_id, record, self.tz)
                except RecordError as exc:
                    reason = self.contract.quarantine(exc)
                    bad.append(quarantine_row(self.entity, self.writer.dealership_id, record, reason, now))
            kept.append(n)
            keys.append(source_id)
            times.append(modified)
            ok.append(row is not None)
            for name, column in values.items():
                column.append(as_arrow(row[name]) if row is not None else None)
        self.writer.quarantine(self.warehouse.backend, bad)
        if not kept:
            return None
        return {
            "k": pa.array(keys, pa.string()),
            "m": pa.array(times, columnar.UTC_MICROS),
            "ok": pa.array(ok, pa.bool_()),
            **{f"p{i}": pa.array([texts[i][n] for n in kept], pa.string()) for i in range(len(self.header))},
            **{f.name: pa.array(values[f.name], f.type) for f in self.schema},
        }

    def _stage(self, parts: list[dict | None]) -> None:
        for part in parts:
            if part is None:
                continue
            table = pa.table(part)
            self.writer.stage(self.entity, table)
            self.raw.rows += table.num_rows
            if self.conforming:
                good = table.filter(table.column("ok"))
                self.contract.rows += good.num_rows
                if self.checked is not None:
                    self.checked.add(CONFORMERS[self.entity][0], good)


def load_extract_day(
    warehouse: Warehouse,
    reader: ExtractReader,
    dealership_id: str,
    timezone: str,
    window: Window,
    run_id: str,
    raw: Iterable[str],
    conform: Iterable[str] = (),
    checked: PartitionRows | None = None,
    log=None,
) -> tuple[dict[str, LoadStats], dict[str, LoadStats]]:
    """Load the `raw` entities of one extract day, conforming those also in `conform`.

    Returns the raw and the contract statistics per entity; `checked` collects the conformed
    rows for the quality checks.
    """
    tz = ZoneInfo(timezone)
    raw = [e for e in ENTITIES if e in set(raw)]
    conforming = set(conform) & set(raw)
    reader.check(window, read_whole=frozenset(raw))
    writer = PartitionWriter(warehouse.engine, dealership_id, window.day, run_id)
    loads: dict[str, _EntityLoad] = {}
    try:
        for entity in raw:
            started = time.perf_counter()
            if reader.path(entity, window) is None:
                continue
            header = reader.header(entity, window)
            args = (writer, warehouse, entity, header, tz, entity in conforming, checked)
            load = loads[entity] = _EntityLoad(*args)
            try:
                for block in reader.blocks(entity, window):
                    load.block(block)
            except NotColumnar as exc:
                if log:
                    log.warning(f"{entity}: {exc}; reading the file per record")
                reader.verify(entity, window)
                load = loads[entity] = _EntityLoad(*args)
                for batch in reader.batches(entity, window):
                    load.records(batch)
            writer.merge_raw(entity, dt.datetime.now(dt.UTC))
            if entity in conforming:
                writer.merge_contract(entity)
                load.contract.released = writer.release(entity)
            load.raw.seconds = load.contract.seconds = time.perf_counter() - started
            if log:
                log.info(
                    f"{entity}: {load.raw.rows} rows staged, {load.raw.quarantined + load.contract.quarantined} quarantined"
                )
        writer.analyze([CONFORMERS[e][0] for e in conforming if CONFORMERS[e][0] in REFERENCED])
        writer.commit()
    except BaseException:
        writer.rollback()
        raise
    return (
        {e: load.raw for e, load in loads.items()},
        {e: load.contract for e, load in loads.items() if e in conforming},
    )
