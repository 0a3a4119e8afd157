"""The rows a load conformed, kept for the quality checks: the checked columns, as Arrow blocks."""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import Numeric

from auterity_pipelines.quality.runner import DAY
from auterity_pipelines.schema import CONFORMED_TABLES

# Free text is not checked, and would make the collected frames large.
_UNCHECKED = {"complaint", "cause", "correction", "comments", "first_name", "last_name", "trim", "model"}


class PartitionRows:
    """The rows a load conformed, per table: the checked columns only, as compact Arrow blocks.

    With `by_day`, each block carries the `day` it was loaded for (set `day` before each), so
    a month is checked in one run per table.
    """

    def __init__(self, dealership_id: str, by_day: bool = False):
        self.dealership_id = dealership_id
        self.by_day = by_day
        self.day: dt.date | None = None
        self.batches: dict[str, list] = {}

    def add(self, table: str, rows) -> None:
        """An Arrow table of contract columns (a fast-path block)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        rows = rows.select([c for c in rows.column_names if c in _checked(table)])
        for i, field in enumerate(rows.schema):  # keys and codes repeat: kept once each
            if pa.types.is_string(field.type):
                rows = rows.set_column(i, field.name, pc.dictionary_encode(rows.column(i)))
        if self.by_day:
            rows = rows.append_column(DAY, pa.array([self.day] * rows.num_rows, pa.date32()))
        self.batches.setdefault(table, []).append((self.day, rows))

    def observe(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        """Contract rows as tuples (the per-record path)."""
        import pyarrow as pa

        from auterity_pipelines.columnar import arrow_type, as_arrow

        contract = CONFORMED_TABLES[table]
        keep = [(i, c) for i, c in enumerate(columns) if c in _checked(table)]
        self.add(
            table,
            pa.table(
                {c: pa.array([as_arrow(r[i]) for r in rows], arrow_type(contract.c[c])) for i, c in keep}
            ),
        )

    def columns(self, table: str) -> frozenset[str]:
        """The contract columns the checks read."""
        return _checked(table)

    def restart(self, table: str) -> None:
        """Forget what was collected of a table for the current day (its file is read again)."""
        self.batches[table] = [(day, b) for day, b in self.batches.get(table, []) if day != self.day]

    def discard(self, table: str) -> None:
        """Forget a table's rows: they are checked."""
        self.batches.pop(table, None)

    def frame(self, table: str):
        """The checked rows of a table as one pandas frame (money as floats, times as UTC); the
        collected blocks are handed over to it, so a table's rows can be framed once."""
        import pandas as pd
        import pyarrow as pa
        import pyarrow.compute as pc

        blocks = [b for _, b in self.batches.pop(table, []) if b.num_rows]  # handed over, not copied
        if not blocks:
            return pd.DataFrame()
        rows = pa.concat_tables(blocks, promote_options="permissive")
        del blocks
        contract = CONFORMED_TABLES[table].c
        for i, name in enumerate(rows.column_names):
            if pa.types.is_dictionary(rows.schema.field(i).type):  # text again, one chunk at a time
                rows = rows.set_column(i, name, pc.cast(rows.column(i), pa.string()))
            if name in contract and isinstance(contract[name].type, Numeric):  # decimals travel as text
                rows = rows.set_column(i, name, pc.cast(rows.column(i), pa.float64()))
        frame = rows.to_pandas(date_as_object=True, split_blocks=True, self_destruct=True)
        del rows
        frame.insert(0, "dealership_id", pd.Categorical([self.dealership_id] * len(frame)))
        return frame


@functools.cache
def _checked(table: str) -> frozenset[str]:
    # The dealership is the partition's own: the frame adds it once, as a category.
    skip = {*_UNCHECKED, "dealership_id"}
    return frozenset(c.name for c in CONFORMED_TABLES[table].columns if c.name not in skip)
