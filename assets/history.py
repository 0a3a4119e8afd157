"""A rooftop's history before the daily window, loaded a month at a time.

The same code as the daily sync, day by day through the month, into the same raw and contract
tables. The month is checked at its end, one Great Expectations run per table with a verdict per
day; the results land in `quality_results` as the daily checks' do, so enrichment and training
honour a blocked history day too.
"""

import dagster as dg

from assets.core import contract_day
from assets.dms import DMS_RETRY, OWNERS, load_day, open_client
from assets.quality import PartitionRows, judge_days
from auterity_pipelines.conform import CONFORMERS
from auterity_pipelines.partitions import rooftop_months, split_month_key
from auterity_pipelines.quality.suites import CHECKS
from auterity_pipelines.records import ENTITIES
from resources.dms.extract import ExtractIncomplete
from resources.dms.fleet import DmsFleet
from resources.dms.http import DmsError
from resources.dms.window import Window
from resources.warehouse import Warehouse

HISTORY_KEY = dg.AssetKey(["dms", "history"])


@dg.asset(
    key=HISTORY_KEY,
    partitions_def=rooftop_months,
    group_name="dms_history",
    kinds={"python", "sql"},
    owners=OWNERS,
    pool="dms",
    retry_policy=DMS_RETRY,
    description="A rooftop-month before the daily window: every DMS entity pulled day by day into "
    "the raw and contract tables, and checked as the daily syncs are.",
)
def dms_history(
    context: dg.AssetExecutionContext, dms: DmsFleet, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Load one rooftop-month of DMS history, then check it: one run per table for the month."""
    dealership_id, days = split_month_key(context.partition_key)
    fleet = dms.fleet()
    dealership = fleet.get(dealership_id)
    warehouse.register_fleet(fleet)
    run_id = context.run.run_id
    rows = raw = quarantined = 0
    loaded, missing = [], []
    checked = PartitionRows(dealership_id, by_day=True)
    month_log = _MonthLog(context.log)
    client = open_client(dms, dealership, f"{dealership_id} {context.partition_key}")
    try:
        for number, day in enumerate(days, 1):
            window = Window.local_day(day, dealership.timezone)
            checked.day = day
            try:
                raw_stats, conformed = load_day(
                    client,
                    warehouse,
                    dealership,
                    window,
                    run_id,
                    set(ENTITIES),
                    set(CONFORMERS),
                    checked,
                    month_log,
                )
            except ExtractIncomplete as exc:  # an extract folder keeps what was dropped, not every day
                missing.append(f"{day}: {exc}")
                continue
            except DmsError as exc:
                raise dg.Failure(f"{dealership_id} {day}: {exc}") from exc
            raw += sum(s.rows for s in raw_stats.values())
            quarantined += sum(s.quarantined for s in raw_stats.values())
            for entity in CONFORMERS:
                stats = contract_day(
                    warehouse, entity, dealership_id, dealership.timezone, day, conformed, checked
                )
                rows += stats.rows
                quarantined += stats.quarantined
            loaded.append(day)
            context.log.info(f"{dealership_id} {day} ({number}/{len(days)}): {raw} raw rows so far")
    finally:
        client.close()
    if missing:
        context.log.warning(f"{len(missing)} days had no complete extract: {'; '.join(missing[:5])}")
    # Each table's month in one Great Expectations run, judged day by day: the results land in
    # quality_results, where enrichment and training look; the month says how many failed.
    failed_checks = 0
    for table in dict.fromkeys(t for t, _ in CONFORMERS.values()):
        checks = [c for c in CHECKS if table in c.tables]
        if loaded:
            verdicts = judge_days(
                warehouse, checks, table, checked.rows(table), dealership_id, loaded, run_id
            )
            failed_checks += sum(not v.passed for by_check in verdicts.values() for v in by_check.values())
        checked.discard(table)
    return dg.MaterializeResult(
        metadata={
            "dealership": dealership_id,
            "month": days[0].strftime("%Y-%m"),
            "days_loaded": len(loaded),
            "days_without_extract": len(missing),
            "raw_rows": raw,
            "contract_rows": rows,
            "quarantined": quarantined,
            "failed_checks": failed_checks,
        }
    )


class _MonthLog:
    """What a day's load says, for a month: its warnings reach the run's log, its per-entity
    lines do not (thirty days of them were hundreds of events, each a write to the instance,
    a quarter of a month's CPU). Each day's progress line is the month's own."""

    def __init__(self, log):
        self.log = log

    def debug(self, message: str) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        self.log.warning(message)
