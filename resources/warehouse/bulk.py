"""One rooftop-day of extract files into the warehouse in one transaction, set-based.

Each entity's rows are staged once (COPY of Arrow-written CSV on PostgreSQL, one executemany
on SQLite): the text of every field, and only those values the database cannot read back from
that text (`PartitionWriter._plan`). The raw table's payload is built by the database from the
staged text, and the contract table is merged from the same staged rows: nothing is read
back. The transaction commits only when the caller has checked every file whole.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from auterity_pipelines.column_kernels import WHITESPACE
from auterity_pipelines.columnar import KEY, OTHER, RULES, TEXT, TIME, Modified, contract_schema
from auterity_pipelines.conform import CONFORMERS
from resources.warehouse.backends import merge_sql
from resources.warehouse.upserts import UPSERTS

# Functions take at most 100 arguments on PostgreSQL (127 on SQLite): 50 keys and values a call.
_PAIRS_PER_CALL = 50


@dataclass
class Staging:
    """How one entity's rows are staged: the columns written (after `ok`, `plain` and the field
    texts `p0…pn`), which of them are left null where the database derives the value (`masked`), and
    the SQL that reads the raw key, the modification time and each contract column back."""

    columns: list[str]
    masked: frozenset[str]
    key: str
    modified: str
    contract: dict[str, str]


class PartitionWriter:
    """Stages and merges a partition's entities on one connection; `commit` or `rollback` ends it."""

    def __init__(self, engine: Engine, dealership_id: str, day: dt.date, run_id: str):
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.dealership_id, self.day, self.run_id = dealership_id, day, run_id
        self.conn = engine.connect()
        self.transaction = self.conn.begin()
        self.headers: dict[str, list[str]] = {}
        self.staging: dict[str, Staging] = {}

    # staging -----------------------------------------------------------------------------

    def begin_entity(self, entity: str, header: list[str], conforming: bool) -> Staging:
        """A fresh staging table for an entity's file (again, when a file is re-read per record)."""
        self.headers[entity] = header
        staging = self.staging[entity] = self._plan(entity, header, conforming)
        stage = _stage(entity)
        self._exec(f"DROP TABLE IF EXISTS {stage}")
        columns = [
            "ok BOOLEAN",
            "plain BOOLEAN",
            *(f"p{i} TEXT" for i in range(len(header))),
            *(f"{name} {self._sql_type(entity, name)}" for name in staging.columns),
        ]
        self._exec(f"CREATE TEMP TABLE {stage} ({', '.join(columns)})")
        return staging

    def _plan(self, entity: str, header: list[str], conforming: bool) -> Staging:
        """What the database can read from the staged field texts is not staged again: plain
        text always (`conform.text`: stripped of what str.strip strips, cut, empty as null),
        numbers where the fast rules settled them, and, on PostgreSQL, times written with their
        offset. The rest is staged, and null where derived (`masked`)."""

        def field(source: str) -> str | None:
            if source not in header:
                return None
            return f"p{len(header) - 1 - header[::-1].index(source)}"  # the last, as a dict keeps it

        def derive(rule, staged: str | None) -> str:
            p = field(rule.source)
            if p is None:
                return staged or "NULL"
            # `plain` rows need no stripping or cutting: the text is the value (empty: null).
            limit = getattr(rule, "limit", 4000) if rule.kind == TEXT else 4000
            if self.postgres:
                strip = f"left(btrim({p}, CAST(:ws AS text)), {limit})"
            else:
                strip = f"substr(trim({p}, :ws), 1, {limit})"
            value = f"NULLIF(CASE WHEN plain THEN {p} ELSE {strip} END, '')"
            if rule.kind == TEXT:
                return value
            if self.postgres:
                sql_type = (
                    "timestamptz"
                    if rule.kind == TIME
                    else ("integer" if getattr(rule, "whole", None) else "numeric")
                )
                value = f"CAST({value} AS {sql_type})"
            return f"COALESCE({staged}, {value})"

        times_derive = self.postgres
        staged, masked = ["m"], {"m"} if times_derive else set()
        modified = derive(Modified(), "m") if times_derive else "m"
        contract: dict[str, str] = {}
        rules = RULES.get(entity, {})
        for name in contract_schema(entity).names if conforming else []:
            rule = rules.get(name)
            if (
                rule is None
                or rule.kind == OTHER
                or (rule.kind == TIME and not times_derive and not isinstance(rule, Modified))
            ):
                staged.append(name)
                contract[name] = name
            elif isinstance(rule, Modified):
                contract[name] = modified
            elif rule.kind == TEXT:
                contract[name] = derive(rule, None)
            else:
                staged.append(name)
                masked.add(name)
                contract[name] = derive(rule, name)
        return Staging(staged, frozenset(masked), derive(KEY, None), modified, contract)

    def _sql_type(self, entity: str, name: str) -> str:
        if not self.postgres:
            return ""  # SQLite: no affinity, the contract table's own converts on insert
        if name == "m":
            return "TIMESTAMPTZ"
        column = UPSERTS[CONFORMERS[entity][0]].table.c[name]
        return column.type.compile(dialect=self.engine.dialect)

    def stage(self, entity: str, block: pa.Table) -> None:
        """Rows of `ok, plain, p0…pn` and the staged columns, in the order `begin_entity` declared."""
        if block.num_rows == 0:
            return
        stage = _stage(entity)
        raw = self.conn.connection.driver_connection
        if self.postgres:
            buffer = io.BytesIO()
            pa_csv.write_csv(block, buffer, pa_csv.WriteOptions(include_header=False))
            with raw.cursor() as cur, cur.copy(f"COPY {stage} FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(buffer.getbuffer())
            return
        columns = []
        for column in block.columns:
            if pa.types.is_timestamp(column.type):
                # SQLAlchemy's own SQLite storage format, so reads come back as datetimes
                column = pc.strftime(column, format="%Y-%m-%d %H:%M:%S")
            columns.append(column.to_pylist())
        marks = ", ".join("?" * block.num_columns)
        raw.executemany(f"INSERT INTO {stage} VALUES ({marks})", zip(*columns))

    # merging -----------------------------------------------------------------------------

    def merge_raw(self, entity: str, now: dt.datetime) -> int:
        """The staged rows into raw_<entity>, the payload built from their text here."""
        header = self.headers[entity]
        spec = UPSERTS[f"raw_{entity}"]
        typed = (
            (lambda name, sql_type: f"CAST(:{name} AS {sql_type})")
            if self.postgres
            else (lambda name, _: f":{name}")
        )
        calls = []
        for start in range(0, len(header), _PAIRS_PER_CALL):
            pairs = ", ".join(
                f"{typed(f'h{i}', 'text')}, p{i}"
                for i in range(start, min(start + _PAIRS_PER_CALL, len(header)))
            )
            calls.append(f"{'jsonb_build_object' if self.postgres else 'json_object'}({pairs})")
        payload = " || ".join(calls) if self.postgres else _json_patch(calls)
        staging = self.staging[entity]
        source = (
            f"(SELECT {typed('dealership', 'text')} AS dealership_id, {staging.key} AS source_id, {payload} AS payload, "
            f"{staging.modified} AS source_modified_at, {typed('now', 'timestamptz')} AS synced_at, {typed('run', 'text')} AS run_id, "
            f"{typed('day', 'date')} AS partition_day FROM {_stage(entity)}) AS s"
        )
        params = {
            **{f"h{i}": name for i, name in enumerate(header)},
            "dealership": self.dealership_id,
            "now": now if self.postgres else now.strftime("%Y-%m-%d %H:%M:%S.%f"),
            "run": self.run_id,
            "day": self.day if self.postgres else self.day.isoformat(),
            "ws": WHITESPACE,
        }
        return self._merge(spec, source, params)

    def merge_contract(self, entity: str) -> int:
        """The staged rows that conformed into the entity's contract table."""
        spec = UPSERTS[CONFORMERS[entity][0]]
        contract = self.staging[entity].contract
        columns = ", ".join(f"{sql} AS {name}" if sql != name else name for name, sql in contract.items())
        dealership = "CAST(:dealership AS text)" if self.postgres else ":dealership"
        source = f"(SELECT {dealership} AS dealership_id, {columns} FROM {_stage(entity)} WHERE ok) AS s"
        return self._merge(spec, source, {"dealership": self.dealership_id, "ws": WHITESPACE})

    def _merge(self, spec, source: str, params: dict) -> int:
        if not self.postgres:
            # SQLite applies one row after another, so a key staged twice needs no sorting:
            # the version guard keeps the newer.
            return self._exec(merge_sql(spec, source, unique=True), params)
        # Most files hold each key once; a file that holds one twice is merged newest first.
        savepoint = self.conn.begin_nested()
        try:
            count = self._exec(merge_sql(spec, source, unique=True), params)
            savepoint.commit()
            return count
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != "21000":  # cardinality_violation
                raise
            savepoint.rollback()
        return self._exec(merge_sql(spec, source), params)

    def release(self, entity: str) -> int:
        """Records that conformed now leave quarantine."""
        found = self.conn.execute(
            text("SELECT 1 FROM quarantine WHERE entity = :e AND dealership_id = :d LIMIT 1"),
            {"e": entity, "d": self.dealership_id},
        ).first()
        if found is None:
            return 0
        return self._exec(
            f"DELETE FROM quarantine WHERE entity = :e AND dealership_id = :d "
            f"AND source_id IN (SELECT {self.staging[entity].key} FROM {_stage(entity)} WHERE ok)",
            {"e": entity, "d": self.dealership_id, "ws": WHITESPACE},
        )

    def quarantine(self, backend, rows: Sequence[tuple]) -> None:
        if rows:
            backend.quarantine(rows, conn=self.conn)

    def analyze(self, tables: Sequence[str]) -> None:
        """Fresh statistics for tables a load just filled, before anything queries them."""
        if self.postgres:
            for table in tables:
                self._exec(f"ANALYZE {table}")

    # ending ------------------------------------------------------------------------------

    def commit(self) -> None:
        self._drop_stages()
        self.transaction.commit()
        self.conn.close()

    def rollback(self) -> None:
        try:
            if self.transaction.is_active:
                self.transaction.rollback()
            # SQLite keeps temporary tables past a rollback, on a connection the pool keeps;
            # a connection that broke has none to keep, and its own error is the one to see.
            with contextlib.suppress(DBAPIError):
                self._drop_stages()
        finally:
            self.conn.close()

    def _drop_stages(self) -> None:
        for entity in self.staging:
            self._exec(f"DROP TABLE IF EXISTS {_stage(entity)}")

    def _exec(self, sql: str, params: dict | None = None) -> int:
        return self.conn.execute(text(sql), params or {}).rowcount


def _stage(entity: str) -> str:
    return f"extract_stage_{entity}"


def _json_patch(calls: list[str]) -> str:
    patched = calls[0]
    for call in calls[1:]:
        patched = f"json_patch({patched}, {call})"
    return patched
