"""The warehouse resource: SQLite under AUTERITY_HOME by default, PostgreSQL in production."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from functools import lru_cache

import dagster as dg
from sqlalchemy import Engine, Text, cast, create_engine, event, func, select, text

from auterity_pipelines.fleet import Fleet
from auterity_pipelines.records import canonical_json
from auterity_pipelines.schema import RAW_TABLES, dealerships, metadata
from auterity_pipelines.settings import embedded_warehouse_url, warehouse_url
from resources.warehouse import migrate
from resources.warehouse.backends import PostgresBackend, SqliteBackend


def normalise_url(url: str) -> str:
    """psycopg 3 is the PostgreSQL driver (COPY support), whichever spelling the URL uses."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 120})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi, _):
            # WAL lets the UI read while a run writes; the busy timeout lets parallel runs queue.
            dbapi.execute("PRAGMA journal_mode=WAL")
            dbapi.execute("PRAGMA synchronous=NORMAL")
            dbapi.execute("PRAGMA busy_timeout=120000")

        return engine
    return create_engine(url, pool_pre_ping=True)


class Warehouse(dg.ConfigurableResource):
    """Loads and reads the warehouse; every write is an idempotent upsert."""

    url: str
    batch_size: int = 20_000  # rows per read and per upsert: bounds memory, not speed

    @property
    def engine(self) -> Engine:
        return engine_for(self.url)

    @property
    def backend(self) -> SqliteBackend | PostgresBackend:
        return _backend(self.url)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        migrate.check(self.engine)

    def upgrade(self) -> tuple[str | None, str]:
        return migrate.upgrade(self.engine)

    def upsert(self, table: str, rows: Sequence[tuple]) -> None:
        if rows:
            self.backend.upsert(table, rows)

    def replace(self, table: str, frame, chunk: int = 20_000) -> int:
        """A derived table's whole contents swapped for `frame`'s in one transaction: readers see
        the old rows or the new, never half of each."""
        import pandas as pd
        from sqlalchemy import DateTime

        t = metadata.tables[table]
        values = frame[[c.name for c in t.columns]].copy()
        for column in t.columns:  # SQLite hands timestamps back as text
            if isinstance(column.type, DateTime):
                values[column.name] = pd.to_datetime(values[column.name], utc=True, format="ISO8601")
        values = values.astype(object)
        values = values.where(values.notna(), None)
        with self.engine.begin() as conn:
            conn.execute(t.delete())
            for start in range(0, len(values), chunk):
                conn.execute(t.insert(), values.iloc[start : start + chunk].to_dict("records"))
        return len(values)

    def quarantine(self, rows: Sequence[tuple]) -> None:
        if rows:
            self.backend.quarantine(rows)

    def release(self, entity: str, dealership_id: str, source_ids: Sequence[str]) -> int:
        """Take records that now load out of quarantine."""
        if not source_ids or not self._has_quarantined(entity, dealership_id):
            return 0
        return self.backend.release(entity, dealership_id, source_ids)

    def _has_quarantined(self, entity: str, dealership_id: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    text("SELECT 1 FROM quarantine WHERE entity = :e AND dealership_id = :d LIMIT 1"),
                    {"e": entity, "d": dealership_id},
                ).first()
                is not None
            )

    def raw_payloads(self, entity: str, dealership_id: str, day) -> Iterator[list[dict]]:
        """Payloads of raw records whose current version a partition loaded, in batches."""
        table = RAW_TABLES[entity]
        # As text, decoded here: about half the cost of psycopg's JSONB loader for the same dicts.
        query = select(cast(table.c.payload, Text)).where(
            table.c.dealership_id == dealership_id, table.c.partition_day == day
        )
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=self.batch_size).execute(query)
            for partition in result.partitions():
                yield [json.loads(row[0]) for row in partition]

    def partition_source_ids(self, entity: str, dealership_id: str, day) -> list[str]:
        """The ids of the raw records whose current version a partition loaded."""
        return [p["source_id"] for batch in self.raw_payloads(entity, dealership_id, day) for p in batch]

    def count(self, table: str, dealership_id: str | None = None) -> int:
        t = metadata.tables[table]
        query = select(func.count()).select_from(t)
        if dealership_id is not None:
            query = query.where(t.c.dealership_id == dealership_id)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def register_fleet(self, fleet: Fleet) -> None:
        """Keep `dealerships` in step with the fleet file."""
        rows = [
            {"dealership_id": d.id, "name": d.name, "dms_vendor": d.dms.kind, "timezone": d.timezone}
            for d in fleet.dealerships
        ]
        if not rows:
            return
        with self.engine.begin() as conn:
            stmt = dialect_insert(self.engine)(dealerships).values(rows)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["dealership_id"],
                    set_={c: stmt.excluded[c] for c in ("name", "dms_vendor", "timezone")},
                )
            )


def quarantine_row(entity: str, dealership_id: str, record: dict, reason: str, now: dt.datetime) -> tuple:
    """A row for `Warehouse.quarantine`: the record kept whole, with why it could not load."""
    payload = canonical_json(record)
    # A record without an id is keyed by its content, so a rerun finds the same quarantine row.
    source_id = (
        str(record.get("source_id") or "")
        or f"unidentified:{hashlib.sha256(payload.encode()).hexdigest()[:24]}"
    )
    return (entity, dealership_id, source_id[:128], reason, payload, now, now)


def dialect_insert(engine: Engine):
    """The INSERT construct with ON CONFLICT for the engine's database."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


@lru_cache(maxsize=8)
def _backend(url: str) -> SqliteBackend | PostgresBackend:
    engine = engine_for(url)
    return PostgresBackend(engine) if engine.dialect.name == "postgresql" else SqliteBackend(engine)


def warehouse_now() -> Warehouse:
    """The configured warehouse for code outside a Dagster run (the CLI), its URL read now."""
    return Warehouse(url=warehouse_url())


def warehouse_resource() -> Warehouse:
    # EnvVar is resolved at run time and never shown in the UI or run config;
    # with no variable set, the embedded SQLite default needs no secret.
    if os.environ.get("AUTERITY_WAREHOUSE_URL"):
        return Warehouse(url=dg.EnvVar("AUTERITY_WAREHOUSE_URL"))
    return Warehouse(url=embedded_warehouse_url())
