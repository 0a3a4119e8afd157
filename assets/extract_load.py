"""A rooftop-day of extract files in one pass: read once, conform, write raw and contract rows.

Each file is read in Arrow blocks, counted and hashed on the way; the fast column rules settle
most rows, and the rest go through the per-record rules (`conform.py`), which normalise them or
quarantine them with a reason. Everything is staged and merged in one transaction per
rooftop-day, committed only after every file has matched its manifest. A file the Arrow reader
does not take whole is read again per record, within the same transaction.

Contract rows come from the staged records, not from what raw holds after the merge: a staged
record older than raw's current version is still conformed, and the contract table's own
version guard keeps the newer row (only its conform failure, if any, is quarantined where a
read-back would not have seen it).

The sync asset and `bench/dms_load` run exactly this code.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assets.sync import LoadStats
from auterity_pipelines import columnar
from auterity_pipelines.column_kernels import UTC_MICROS
from auterity_pipelines.columnar import as_arrow, contract_schema
from auterity_pipelines.conform import CONFORMERS, RecordError, raw_key
from auterity_pipelines.quality.rows import PartitionRows
from auterity_pipelines.records import ENTITIES
from resources.dms.extract import ExtractReader, NotColumnar
from resources.dms.window import Window
from resources.warehouse import Warehouse, quarantine_row
from resources.warehouse.bulk import PartitionWriter

# Contract tables the quality checks look references up in: given fresh statistics after a load.
REFERENCED = ("customers", "vehicles", "repair_orders")
PROGRESS_EVERY = 50  # blocks (about 250,000 lines) between progress lines in the run's log
# Below this many rows the per-record rules cost less than the Arrow kernels' calls (about a
# hundred a block, some 20 µs each): a small rooftop's day is read per record.
SMALL_BLOCK = 128


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
        self.staging = writer.begin_entity(entity, header, self.conforming)
        # Plain text the checks do not read is left to the database to derive.
        self.skip = frozenset(self.schema.names)
        if self.checked is not None:
            table = CONFORMERS[entity][0]
            self.skip -= self.checked.columns(table)
            self.checked.restart(table)

    def block(self, block: pa.Table) -> None:
        """An Arrow block: the fast rules first, the per-record rules for what they leave."""
        if block.num_rows < SMALL_BLOCK:
            texts = [block.column(i).to_pylist() for i in range(len(self.header))]
            self._stage(self._records(block.to_pylist(), texts))
            return
        converted = columnar.convert(self.entity, block, self.tz, self.conforming, self.skip)
        fast = converted.keyed & (converted.conformed if self.conforming else True)
        if fast.any():
            keep = pa.array(fast)
            columns = {"m": converted.modified_at, **converted.columns}
            self._stage(
                {
                    "ok": pa.array(np.full(int(fast.sum()), self.conforming)),
                    "plain": pa.array(converted.plain[fast]),
                    **{f"p{i}": block.column(i).filter(keep) for i in range(len(self.header))},
                    **{name: column.values.filter(keep) for name, column in columns.items()},
                },
                {name: c.derivable[fast] for name, c in columns.items() if c.derivable is not None},
            )
        slow = np.flatnonzero(~fast)
        if len(slow):
            rest = block.take(pa.array(slow))
            texts = [rest.column(i).to_pylist() for i in range(len(self.header))]
            self._stage(self._records(rest.to_pylist(), texts))

    def records(self, records: list[dict]) -> None:
        """Records read per record (a file Arrow did not take): the per-record rules alone."""
        texts = [[record.get(name) for record in records] for name in self.header]
        self._stage(self._records(records, texts))

    def _records(self, records: list[dict], texts: list[list]) -> dict | None:
        now = dt.datetime.now(dt.UTC)
        kept, times, ok, bad = [], [], [], []
        values = {f.name: [] for f in self.schema}
        build = CONFORMERS[self.entity][1] if self.conforming else None
        dealership_id = self.writer.dealership_id
        for n, record in enumerate(records):
            try:
                _, modified = raw_key(record, self.tz)
            except RecordError as exc:
                bad.append(quarantine_row(self.entity, dealership_id, record, self.raw.quarantine(exc), now))
                continue
            row = None
            if build:
                try:
                    row = build(dealership_id, record, self.tz)
                except RecordError as exc:
                    reason = self.contract.quarantine(exc)
                    bad.append(quarantine_row(self.entity, dealership_id, record, reason, now))
            kept.append(n)
            times.append(modified)
            ok.append(row is not None)
            for name, column in values.items():
                column.append(as_arrow(row[name]) if row is not None else None)
        self.writer.quarantine(self.warehouse.backend, bad)
        if not kept:
            return None
        return {
            "ok": pa.array(ok, pa.bool_()),
            "plain": pa.array(np.zeros(len(kept), dtype=bool)),
            **{f"p{i}": pa.array([texts[i][n] for n in kept], pa.string()) for i in range(len(self.header))},
            "m": pa.array(times, UTC_MICROS),
            **{f.name: pa.array(values[f.name], f.type) for f in self.schema},
        }

    def _stage(self, part: dict | None, derivable: dict[str, np.ndarray] | None = None) -> None:
        """Stage a part's rows: what the database derives is left null (`Staging.masked`)."""
        if part is None:
            return
        derivable = derivable or {}
        staged = {
            "ok": part["ok"],
            "plain": part["plain"],
            **{f"p{i}": part[f"p{i}"] for i in range(len(self.header))},
        }
        for name in self.staging.columns:
            values, mask = part[name], derivable.get(name)
            if name in self.staging.masked and mask is not None and mask.any():
                values = pc.if_else(pa.array(mask), pa.nulls(len(values), values.type), values)
            staged[name] = values
        self.writer.stage(self.entity, pa.table(staged))
        rows = len(part["ok"])
        self.raw.rows += rows
        if self.conforming:
            ok = part["ok"]
            self.contract.rows += pc.sum(ok).as_py() or 0
            if self.checked is not None:
                names = [n for n in part if n in self.schema.names]
                self.checked.add(CONFORMERS[self.entity][0], pa.table({n: part[n] for n in names}).filter(ok))


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
                for n, block in enumerate(reader.blocks(entity, window), 1):
                    load.block(block)
                    if log and n % PROGRESS_EVERY == 0:
                        log.info(f"{entity}: {load.raw.rows:,} rows staged so far")
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
