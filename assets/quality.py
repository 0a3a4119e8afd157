"""Data quality checks on each conformed rooftop-day: Great Expectations suites and the volume rule.

The sync step collects the rows it conforms (`PartitionRows`) and yields these results with
its materializations, so a failing blocking check fails the step. Results are also written to
`quality_results`, where the steps of other runs (enrichment) look before reading a partition.
"""

import datetime as dt

import dagster as dg

from auterity_pipelines.quality.rows import PartitionRows, TableRows
from auterity_pipelines.quality.suites import CHECKS, FAILING_ROWS, Check

__all__ = ["PartitionRows", "check_specs", "evaluate", "judge_days"]


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


def evaluate(
    warehouse,
    asset_key: dg.AssetKey,
    table: str,
    rows: TableRows,
    dealership_id: str,
    day: dt.date,
    run_id: str,
    selected: set[str],
    now: dt.datetime | None = None,
) -> list[dg.AssetCheckResult]:
    """Every selected check of one table on the day's conformed rows; results also kept in the warehouse."""
    checks = [c for c in CHECKS if table in c.tables and c.name in selected]
    verdicts = judge_days(warehouse, checks, table, rows, dealership_id, [day], run_id, now)[day]
    return [_result(asset_key, check, verdicts[check.name]) for check in checks]


def judge_days(
    warehouse,
    checks: list[Check],
    table: str,
    rows: TableRows,
    dealership_id: str,
    days,
    run_id: str,
    now=None,
):
    """The checks of one table on several days' rows (a `day` column tells them apart), in one
    Great Expectations run; each day's verdicts kept in `quality_results`, and returned."""
    from auterity_pipelines.quality.runner import run_checks_by_day

    now = now or dt.datetime.now(dt.UTC)
    verdicts = run_checks_by_day(warehouse.engine, checks, table, rows, dealership_id, list(days), now)
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
