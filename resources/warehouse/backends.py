"""Bulk upserts per database: COPY into a staging table plus one set-based merge on PostgreSQL,
batched INSERT … ON CONFLICT on SQLite. Both keep the newer version of a row, whatever the order."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Sequence
from contextlib import nullcontext

from sqlalchemy import Boolean, Connection, Date, DateTime, Engine, Numeric

from auterity_pipelines.schema import quarantine
from resources.warehouse.upserts import UPSERTS, UpsertSpec

QUARANTINE_KEYS = ("entity", "dealership_id", "source_id")


def _guard(spec: UpsertSpec, table: str) -> str:
    newer = f"excluded.{spec.version} > {table}.{spec.version}"
    if spec.changed is None:
        return f"excluded.{spec.version} >= {table}.{spec.version}"
    return f"{newer} OR (excluded.{spec.version} = {table}.{spec.version} AND excluded.{spec.changed} <> {table}.{spec.changed})"


def merge_sql(spec: UpsertSpec, source: str, placeholder: str | None = None, unique: bool = False) -> str:
    name, cols, keys = spec.table.name, spec.columns, spec.keys
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in keys)
    if placeholder:
        select = f"VALUES ({', '.join([placeholder] * len(cols))})"
    elif unique:
        # `WHERE true`: SQLite's parser needs it to tell the upsert from a join.
        select = f"SELECT {', '.join(cols)} FROM {source} WHERE true"
    else:
        # One row per key, the newest: ON CONFLICT may not touch a row twice in one statement.
        select = (
            f"SELECT DISTINCT ON ({', '.join(keys)}) {', '.join(cols)} FROM {source} WHERE true "
            f"ORDER BY {', '.join(keys)}, {spec.version} DESC"
        )
    return (
        f"INSERT INTO {name} ({', '.join(cols)}) {select} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates} WHERE {_guard(spec, name)}"
    )


@functools.lru_cache(maxsize=4096)  # a batch shares its sync time, and often its change times
def _sqlite_time(value: dt.datetime | None) -> str | None:
    """UTC in SQLAlchemy's own SQLite storage format, so reads come back as datetimes."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


class SqliteBackend:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._adapters = {name: self._column_adapters(spec) for name, spec in UPSERTS.items()}

    @staticmethod
    def _column_adapters(spec: UpsertSpec) -> list:
        def adapter(column):
            if isinstance(column.type, DateTime):
                return _sqlite_time
            if isinstance(column.type, Date):
                return lambda v: v.isoformat() if v is not None else None
            if isinstance(column.type, Numeric):
                return lambda v: str(v) if v is not None else None
            if isinstance(column.type, Boolean):
                return lambda v: None if v is None else int(v)
            if column.name == "payload":
                return _json
            return None

        return [(i, a) for i, a in enumerate(adapter(c) for c in spec.table.columns) if a is not None]

    def _adapt(self, table: str, rows: Sequence[tuple]) -> list:
        adapters = self._adapters[table]
        adapted = []
        for row in rows:
            row = list(row)
            for i, adapt in adapters:
                row[i] = adapt(row[i])
            adapted.append(row)
        return adapted

    def upsert(self, table: str, rows: Sequence[tuple]) -> None:
        spec = UPSERTS[table]
        sql = merge_sql(spec, "", placeholder="?")
        with self.engine.begin() as conn:
            conn.connection.driver_connection.executemany(sql, self._adapt(table, rows))

    def quarantine(self, rows: Sequence[tuple], conn=None) -> None:
        sql = (
            f"INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT ({', '.join(QUARANTINE_KEYS)}) "
            "DO UPDATE SET reason = excluded.reason, payload = excluded.payload, last_seen_at = excluded.last_seen_at"
        )
        with _within(self.engine, conn) as c:
            c.connection.driver_connection.executemany(
                sql, [(*r[:5], _sqlite_time(r[5]), _sqlite_time(r[6])) for r in rows]
            )

    def release(self, entity: str, dealership_id: str, source_ids: Sequence[str]) -> int:
        with self.engine.begin() as conn:
            cursor = conn.connection.driver_connection.executemany(
                "DELETE FROM quarantine WHERE entity = ? AND dealership_id = ? AND source_id = ?",
                [(entity, dealership_id, s) for s in source_ids],
            )
            return cursor.rowcount


class PostgresBackend:
    def __init__(self, engine: Engine):
        self.engine = engine

    def _copy_merge(
        self, table: str, rows: Sequence[tuple], merge: str, columns: list[str], stage: str, conn=None
    ) -> None:
        with _within(self.engine, conn) as c:
            raw = c.connection.driver_connection
            with raw.cursor() as cur:
                cur.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                )
                with cur.copy(f"COPY {stage} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cur.execute(merge)

    def upsert(self, table: str, rows: Sequence[tuple]) -> None:
        spec = UPSERTS[table]
        stage = f"stage_{table}"
        json_at = spec.columns.index("payload") if "payload" in spec.columns else None
        if json_at is not None:
            rows = [(*r[:json_at], _json(r[json_at]), *r[json_at + 1 :]) for r in rows]
        # Sorting for DISTINCT ON is only needed when a batch holds a key twice; most never do.
        key_at = [spec.columns.index(k) for k in spec.keys]
        unique = len({tuple(r[i] for i in key_at) for r in rows}) == len(rows)
        self._copy_merge(table, rows, merge_sql(spec, stage, unique=unique), spec.columns, stage)

    def quarantine(self, rows: Sequence[tuple], conn=None) -> None:
        cols = [c.name for c in quarantine.columns]
        keys = ", ".join(QUARANTINE_KEYS)
        merge = (
            f"INSERT INTO quarantine SELECT DISTINCT ON ({keys}) * FROM stage_quarantine ORDER BY {keys} "
            f"ON CONFLICT ({keys}) DO UPDATE SET reason = excluded.reason, payload = excluded.payload, "
            "last_seen_at = excluded.last_seen_at"
        )
        self._copy_merge("quarantine", rows, merge, cols, "stage_quarantine", conn)

    def release(self, entity: str, dealership_id: str, source_ids: Sequence[str]) -> int:
        with self.engine.begin() as conn:
            raw = conn.connection.driver_connection
            cur = raw.execute(
                "DELETE FROM quarantine WHERE entity = %s AND dealership_id = %s AND source_id = ANY(%s)",
                (entity, dealership_id, list(source_ids)),
            )
            return cur.rowcount


def _within(engine: Engine, conn: Connection | None):
    """The caller's transaction when it has one, else a transaction of its own."""
    return nullcontext(conn) if conn is not None else engine.begin()


# One encoder for every payload: json.dumps with arguments would build a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def _json(value: object) -> str:
    return value if isinstance(value, str) else _ENCODER.encode(value)
