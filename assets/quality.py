"""Data quality checks on each conformed rooftop-day: Great Expectations suites and the volume rule.

The conform step collects the rows it writes (`PartitionRows`) and yields these results with
its materializations, so a failing blocking check fails the step. Results are also written to
`quality_results`, where the steps of other runs (enrichment) look before reading a partition.
"""

import datetime as dt
from decimal import Decimal

import dagster as dg

from auterity_pipelines.quality.suites import CHECKS, FAILING_ROWS, Check

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
    """The rows a conform step wrote, per table, as frames of the checked columns."""

    def __init__(self):
        self.batches: dict[str, list] = {}

    def observe(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        import pandas as pd

        keep = [i for i, c in enumerate(columns) if c not in _UNCHECKED]
        frame = pd.DataFrame([[r[i] for i in keep] for r in rows], columns=[columns[i] for i in keep])
        self.batches.setdefault(table, []).append(frame)

    def frame(self, table: str):
        import pandas as pd

        frames = [f for f in self.batches.get(table, []) if not f.empty]
        if not frames:
            return pd.DataFrame()
        frame = pd.concat(frames, ignore_index=True)
        for column in frame.columns:  # Decimals (money) and datetimes, as pandas compares them
            if frame[column].dtype == object:
                converted = _numeric_or_time(frame[column])
                if converted is not None:
                    frame[column] = converted
        return frame


def _numeric_or_time(series):
    import pandas as pd

    sample = series.dropna()
    if sample.empty:
        return None
    first = sample.iloc[0]
    if isinstance(first, Decimal):
        return pd.to_numeric(series.astype("float64"), errors="coerce")
    if isinstance(first, dt.datetime):
        return pd.to_datetime(series, utc=True)
    return None


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
    from auterity_pipelines.quality.runner import run_checks

    now = now or dt.datetime.now(dt.UTC)
    checks = [c for c in CHECKS if table in c.tables and c.name in selected]
    verdicts = run_checks(warehouse.engine, checks, table, frame, dealership_id, day, now)
    results, stored = [], []
    for check in checks:
        verdict = verdicts[check.name]
        results.append(_result(asset_key, check, verdict))
        stored.append(
            (
                dealership_id,
                day,
                table,
                check.name,
                verdict.passed,
                check.blocking,
                check.severity,
                verdict.summary,
                now,
                run_id,
            )
        )
    warehouse.upsert("quality_results", stored)
    return results


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
