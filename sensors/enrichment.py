"""Enrichment follows the syncs: repair-order lines are enriched as soon as a sync has loaded them."""

import dagster as dg

from assets.core import CORE_KEYS
from auterity_pipelines.jobs import enrichment_job
from sensors.materializations import latest_storage_id, materializations_after

PAGE = 200
REPAIR_ORDER_ENRICHMENTS = dg.AssetKey(["enrichment", "repair_order_enrichments"])


@dg.sensor(
    job=enrichment_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Enriches each rooftop-day's repair-order lines once a sync has loaded them (only new or "
    "changed lines are sent), so an unhappy customer is raised the day their order closes.",
)
def enrich_synced_repair_orders(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    key = CORE_KEYS["repair_order_lines"]
    if context.cursor is None:
        # From now on: days synced before the sensor first looked are a backfill's to enrich.
        return dg.SensorResult(cursor=str(latest_storage_id(context.instance, key)))
    records = materializations_after(context.instance, key, int(context.cursor), PAGE)
    if not records:
        return dg.SkipReason("no repair-order lines synced since the last look")
    partitions = {r.partition_key: r.storage_id for r in records if r.partition_key}  # the newest per day
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"enrich-ro:{storage_id}",
                partition_key=partition,
                asset_selection=[REPAIR_ORDER_ENRICHMENTS],
            )
            for partition, storage_id in partitions.items()
        ],
        cursor=str(records[-1].storage_id),
    )
