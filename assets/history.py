"""A rooftop's history before the daily window, loaded a month at a time.

The same code as the daily sync and conform steps, day by day through the month, into the same
raw and contract tables; quality results land in `quality_results` as the daily checks' do, so
enrichment and training honour a blocked history day too.
"""

import dagster as dg

from assets.core import conform_day
from assets.dms import DMS_RETRY, OWNERS, open_client, pull
from assets.quality import PartitionRows, evaluate
from assets.sync import RawLoader
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
    """Load one rooftop-month of DMS history."""
    dealership_id, days = split_month_key(context.partition_key)
    fleet = dms.fleet()
    dealership = fleet.get(dealership_id)
    warehouse.register_fleet(fleet)
    rows = raw = quarantined = failed_checks = 0
    missing = []
    client = open_client(dms, dealership, f"{dealership_id} {context.partition_key}")
    try:
        for number, day in enumerate(days, 1):
            window = Window.local_day(day, dealership.timezone)
            loader = RawLoader(warehouse, dealership_id, dealership.timezone, window, context.run.run_id)
            try:
                pull(client, loader, window, set(ENTITIES), context.log)
            except ExtractIncomplete as exc:  # an extract folder keeps what was dropped, not every day
                missing.append(f"{day}: {exc}")
                continue
            except DmsError as exc:
                raise dg.Failure(f"{dealership_id} {day}: {exc}") from exc
            raw += sum(s.rows for s in loader.stats.values())
            checked = PartitionRows()
            for entity in CONFORMERS:
                table = CONFORMERS[entity][0]
                stats = conform_day(warehouse, entity, dealership_id, dealership.timezone, day, checked)
                rows += stats.rows
                quarantined += stats.quarantined
                names = {c.name for c in CHECKS if table in c.tables}
                results = evaluate(
                    warehouse,
                    HISTORY_KEY,
                    table,
                    checked.frame(table),
                    dealership_id,
                    day,
                    context.run.run_id,
                    names,
                )
                # Kept in quality_results, where enrichment and training look; a history month
                # loads whole and says how many of its checks failed.
                failed_checks += sum(not r.passed for r in results)
                checked.batches.pop(table, None)
            quarantined += sum(s.quarantined for s in loader.stats.values())
            context.log.info(f"{dealership_id} {day} ({number}/{len(days)}): {raw} raw rows so far")
    finally:
        client.close()
    if missing:
        context.log.warning(f"{len(missing)} days had no complete extract: {'; '.join(missing[:5])}")
    return dg.MaterializeResult(
        metadata={
            "dealership": dealership_id,
            "month": days[0].strftime("%Y-%m"),
            "days_loaded": len(days) - len(missing),
            "days_without_extract": len(missing),
            "raw_rows": raw,
            "contract_rows": rows,
            "quarantined": quarantined,
            "failed_checks": failed_checks,
        }
    )
