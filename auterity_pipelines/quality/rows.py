"""The rows a load conformed, kept for the quality checks: the checked columns, as Arrow blocks,
handed to Great Expectations in pandas frames of bounded size."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import Integer, Numeric

from auterity_pipelines.quality.runner import DAY
from auterity_pipelines.quality.suites import checked_columns, kept_columns, key_columns, streamed_groups
from auterity_pipelines.schema import CONFORMED_TABLES

# Rows per frame handed to Great Expectations: its working memory grows with the frame, and
# each frame costs one run (about 0.1 s). The row-by-row checks run during the load, where
# memory is tightest, on smaller frames; the whole-day checks read only keys.
STREAM_ROWS = 50_000
FRAME_ROWS = 100_000


class PartitionRows:
    """The rows a load conformed, per table: the checked columns only, as compact Arrow blocks
    (text dictionary-encoded, money as floats, whole numbers in 32 bits).

    The row-by-row checks (`suites.STREAMED`) run on each `STREAM_ROWS` rows as they arrive,
    their failures counted; of those rows only the keys and what references name are kept for
    the whole-day checks. A day under `STREAM_ROWS` is kept whole and checked in one run.

    With `by_day`, each block carries the `day` it was loaded for (set `day` before each), so
    a month is checked in one run per table.
    """

    def __init__(self, dealership_id: str, by_day: bool = False, now: dt.datetime | None = None):
        self.dealership_id = dealership_id
        self.by_day = by_day
        self.now = now or dt.datetime.now(dt.UTC)  # what "in the future" is measured against
        self.day: dt.date | None = None
        self.batches: dict[str, list] = {}  # blocks not yet checked row by row, every column
        self.kept: dict[str, list] = {}  # blocks checked row by row: the kept columns
        self.tallies: dict[str, dict] = {}  # the row-by-row checks' counts so far

    def add(self, table: str, rows) -> None:
        """An Arrow table of contract columns (a fast-path block)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        rows = rows.select([c for c in rows.column_names if c in checked_columns(table)])
        contract = CONFORMED_TABLES[table].c
        for i, field in enumerate(rows.schema):
            kind = type(contract[field.name].type)
            if issubclass(kind, Numeric):  # decimals travel as text
                rows = rows.set_column(i, field.name, pc.cast(rows.column(i), pa.float64()))
            elif kind is Integer:  # conformed to fit the column's 32 bits
                rows = rows.set_column(i, field.name, pc.cast(rows.column(i), pa.int32()))
            elif pa.types.is_string(field.type):  # keys and codes repeat: kept once each
                rows = rows.set_column(i, field.name, pc.dictionary_encode(rows.column(i)))
        if self.by_day:
            rows = rows.append_column(DAY, pa.array([self.day] * rows.num_rows, pa.date32()))
        self.batches.setdefault(table, []).append((self.day, rows))
        if sum(b.num_rows for _, b in self.batches[table]) >= STREAM_ROWS:
            self._stream(table)

    def _stream(self, table: str) -> None:
        """Run the row-by-row checks on the blocks not yet checked, then keep their kept columns."""
        from auterity_pipelines.quality.gx import count

        blocks = self.batches.pop(table, [])
        rows = TableRows(table, self.dealership_id, _concat([b for _, b in blocks]))
        groups = streamed_groups(table, self.now)
        if len(rows) and groups:
            by = DAY if self.by_day else None
            count(rows.frames(len(rows)), groups, key_columns(table), by, self.tallies.setdefault(table, {}))
        kept = kept_columns(table) | {DAY}
        self.kept.setdefault(table, []).extend(
            (day, b.select([c for c in b.column_names if c in kept])) for day, b in blocks
        )

    def observe(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        """Contract rows as tuples (the per-record path)."""
        import pyarrow as pa

        from auterity_pipelines.columnar import arrow_type, as_arrow

        contract = CONFORMED_TABLES[table]
        keep = [(i, c) for i, c in enumerate(columns) if c in checked_columns(table)]
        self.add(
            table,
            pa.table(
                {c: pa.array([as_arrow(r[i]) for r in rows], arrow_type(contract.c[c])) for i, c in keep}
            ),
        )

    def columns(self, table: str) -> frozenset[str]:
        """The contract columns the checks read."""
        return checked_columns(table)

    def restart(self, table: str) -> None:
        """Forget what was collected of a table for the current day (its file is read again)."""
        for held in (self.batches, self.kept):
            held[table] = [(day, b) for day, b in held.get(table, []) if day != self.day]
        part = self.day if self.by_day else None
        self.tallies[table] = {k: t for k, t in self.tallies.get(table, {}).items() if k[0] != part}

    def discard(self, table: str) -> None:
        """Forget a table's rows: they are checked."""
        for held in (self.batches, self.kept, self.tallies):
            held.pop(table, None)

    def rows(self, table: str) -> TableRows:
        """A table's collected rows, handed over (a table's rows can be taken once): every checked
        column of a small day; the kept columns and the row-by-row counts of a large one."""
        if not self.kept.get(table):
            return TableRows(table, self.dealership_id, _concat([b for _, b in self.batches.pop(table, [])]))
        self._stream(table)
        kept = _concat([b for _, b in self.kept.pop(table)])
        return TableRows(table, self.dealership_id, kept, self.tallies.pop(table, {}))


def _concat(blocks: list):
    import pyarrow as pa

    blocks = [b for b in blocks if b.num_rows]
    return pa.concat_tables(blocks, promote_options="permissive") if blocks else None


class TableRows:
    """One table's checked rows of a rooftop-day or month: an Arrow table, which the reference
    lookups extend and Great Expectations reads in frames of at most `FRAME_ROWS`."""

    def __init__(self, table: str, dealership_id: str, rows=None, tallies: dict | None = None):
        self.table, self.dealership_id, self.arrow = table, dealership_id, rows
        # The row-by-row checks' counts, when they ran as the rows arrived (`gx.count`); then
        # only the kept columns are here.
        self.tallies = tallies

    def __len__(self) -> int:
        return self.arrow.num_rows if self.arrow is not None else 0

    def counts(self, column: str) -> dict:
        """How many rows have each value of `column` (the days of a month)."""
        import pyarrow.compute as pc

        if not len(self):
            return {}
        return {c["values"].as_py(): c["counts"].as_py() for c in pc.value_counts(self.arrow[column])}

    def column(self, name: str):
        return self.arrow[name]

    def set(self, name: str, values) -> None:
        """Add or replace a column (an Arrow array, one value per row)."""
        index = self.arrow.schema.get_field_index(name)
        if index < 0:
            self.arrow = self.arrow.append_column(name, values)
        else:
            self.arrow = self.arrow.set_column(index, name, values)

    def frames(self, rows: int = FRAME_ROWS) -> Iterator:
        """The rows as pandas frames of about `rows` each (money as floats, times as UTC). Rows
        that share a key always share a frame, so uniqueness is judged whole frame by frame."""
        import pyarrow as pa

        if not len(self):
            return
        parts = -(-len(self) // rows)
        if parts == 1:
            yield self._frame(self.arrow)
            return
        bucket = _buckets(self.arrow[next(k for k in key_columns(self.table) if k != "dealership_id")], parts)
        for part in range(parts):
            yield self._frame(self.arrow.filter(pa.array(bucket == part)))

    def _frame(self, rows):
        import pandas as pd
        import pyarrow as pa
        import pyarrow.compute as pc

        for i, name in enumerate(rows.column_names):
            if pa.types.is_dictionary(rows.schema.field(i).type):  # text again, a frame at a time
                rows = rows.set_column(i, name, pc.cast(rows.column(i), pa.string()))
        frame = rows.to_pandas(date_as_object=True, split_blocks=True)
        frame.insert(0, "dealership_id", pd.Categorical([self.dealership_id] * len(frame)))
        return frame


def _buckets(column, parts: int):
    """A bucket in `range(parts)` per row, equal for equal values of `column`: a hash of each
    block's dictionary entries, not of every row (a day's keys repeat within a block)."""
    import numpy as np
    import pyarrow as pa

    buckets = []
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            of_entry = np.fromiter((hash(v) % parts for v in chunk.dictionary.to_pylist()), np.int16)
            buckets.append(
                of_entry[chunk.indices.fill_null(0).to_numpy()]
                if len(of_entry)
                else np.zeros(len(chunk), np.int16)
            )
        else:
            buckets.append((chunk.fill_null(0).to_numpy() % parts).astype(np.int16))
    return np.concatenate(buckets) if buckets else np.zeros(0, np.int16)
