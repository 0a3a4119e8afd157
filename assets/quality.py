"""Data quality checks on each conformed rooftop-day: Great Expectations suites and the volume rule.

The conform step collects the rows it writes (`PartitionRows`) and yields these results with
its materializations, so a failing blocking check fails the step. Results are also written to
`quality_results`, where the steps of other runs (enrichment) look before reading a partition.
"""

import datetime as dt
import functools

import dagster as dg
from sqlalchemy import Numeric

from auterity_pipelines.quality.runner import DAY
from auterity_pipelines.quality.suites import CHECKS, FAILING_ROWS, Check
from auterity_pipelines.schema import CONFORMED_TABLES

# Free text is not checked, and would make the collected frames large.
_UNCHECKED = {"complaint", "cause", "correction", "comments", "first_name", "last_name", "trim", "model"}


def check_specs(keys: dict[str, dg.AssetKey]) -> list[dg.AssetCheckSpec]:
    """One spec per check and contract table, for the conform multi-asset (`keys`: table -> asset key)."""
    return [
        dg.AssetCheckSpec(
            check.name, asset=keys[table], blocking=check.blocking, description=check.description
        )
        for check in CHECKS
        for table in check.tables
        if table in keys
    ]


class PartitionRows:
    """The rows a load conformed, per table: the checked columns only, as compact Arrow blocks.

    With `by_day`, each block carries the `day` it was loaded for (set `day` before each), so
    a month is checked in one run per table.
    """

    def __init__(self, dealership_id: str | None = None, by_day: bool = False):
        self.dealership_id = dealership_id
        self.by_day = by_day
        self.day: dt.date | None = None
        self.batches: dict[str, list] = {}

    def add(self, table: str, rows) -> None:
        """An Arrow table of contract columns (a fast-path block)."""
        import pyarrow as pa

        rows = rows.select([c for c in rows.column_names if c in _checked(table)])
        if self.by_day:
            rows = rows.append_column(DAY, pa.array([self.day] * rows.num_rows, pa.date32()))
        self.batches.setdefault(table, []).append((self.day, rows))

    def observe(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        """Contract rows as tuples (the per-record path)."""
        import pyarrow as pa

        from resources.warehouse.bulk import arrow_type, as_arrow

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

    def frame(self, table: str, dealership_id: str | None = None):
        """The day's checked rows as one pandas frame: money as floats, times as UTC."""
        import pandas as pd
        import pyarrow as pa
        import pyarrow.compute as pc

        blocks = [b for _, b in self.batches.get(table, []) if b.num_rows]
        if not blocks:
            return pd.DataFrame()
        rows = pa.concat_tables(blocks, promote_options="permissive")
        contract = CONFORMED_TABLES[table].c
        for name in rows.column_names:  # decimals travel as their text
            if name in contract and isinstance(contract[name].type, Numeric):
                rows = rows.set_column(rows.column_names.index(name), name, pc.cast(rows[name], pa.float64()))
        frame = rows.to_pandas(date_as_object=True)
        frame.insert(0, "dealership_id", pd.Categorical([dealership_id or self.dealership_id] * len(frame)))
        return frame


@functools.cache
def _checked(table: str) -> frozenset[str]:
    # The dealership is the partition's own: the frame adds it once, as a category.
    skip = {*_UNCHECKED, "dealership_id"}
    return frozenset(c.name for c in CONFORMED_TABLES[table].columns if c.name not in skip)


def evaluate(
    warehouse,
    asset_key: dg.AssetKey,
    table: str,
    frame,
    dealership_id: str,
    day: dt.date,
    run_id: str,
    selected: set[str],
    now: dt.datetime | None = None,
) -> list[dg.AssetCheckResult]:
    """Every selected check of one table on the day's conformed rows; results also kept in the warehouse."""
    checks = [c for c in CHECKS if table in c.tables and c.name in selected]
    verdicts = judge_days(warehouse, checks, table, frame, dealership_id, [day], run_id, now)[day]
    return [_result(asset_key, check, verdicts[check.name]) for check in checks]


def judge_days(
    warehouse, checks: list[Check], table: str, frame, dealership_id: str, days, run_id: str, now=None
):
    """The checks of one table on several days' rows (a `day` column tells them apart), in one
    Great Expectations run; each day's verdicts kept in `quality_results`, and returned."""
    from auterity_pipelines.quality.runner import run_checks_by_day

    now = now or dt.datetime.now(dt.UTC)
    verdicts = run_checks_by_day(warehouse.engine, checks, table, frame, dealership_id, list(days), now)
    stored = [
        (dealership_id, day, table, c.name, v.passed, c.blocking, c.severity, v.summary, now, run_id)
        for day, by_check in verdicts.items()
        for c in checks
        for v in [by_check[c.name]]
    ]
    warehouse.upsert("quality_results", stored)
    return verdicts


def _result(asset_key: dg.AssetKey, check: Check, verdict) -> dg.AssetCheckResult:
    metadata = {"summary": verdict.summary, "rows": verdict.rows, **verdict.extra}
    if verdict.failing_rows:
        metadata[f"failing_rows (first {FAILING_ROWS})"] = dg.MetadataValue.json(verdict.failing_rows)
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check.name,
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity.ERROR if check.severity == "ERROR" else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )
