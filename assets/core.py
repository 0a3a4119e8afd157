"""Conformed contract tables, built from the raw records each partition loaded."""

import datetime as dt

import dagster as dg

from assets.dms import OWNERS, RAW_KEYS
from assets.quality import PartitionRows, check_specs, evaluate
from assets.sync import LoadStats, conform_partition
from auterity_pipelines.conform import CONFORMERS
from auterity_pipelines.events.routes import EVENT_TAG
from auterity_pipelines.partitions import rooftop_days, split_key
from resources.dms.fleet import DmsFleet
from resources.warehouse import Warehouse

CORE_KEYS = {entity: dg.AssetKey(["core", table]) for entity, (table, _) in CONFORMERS.items()}
_DESCRIPTIONS = {
    "customers": "Customers by (dealership_id, customer_id).",
    "vehicles": "Vehicles by (dealership_id, vin), with vin_valid and vin_model_year decoded from the VIN.",
    "deals": "Vehicle sales and leases by (dealership_id, deal_id).",
    "repair_orders": "Service repair orders by (dealership_id, ro_number).",
    "repair_order_lines": "Repair-order lines by (dealership_id, ro_number, line_number): op code, complaint, cause, correction.",
    "leads": "Sales leads by (dealership_id, lead_id).",
}


def conform_day(
    warehouse: Warehouse, entity: str, dealership_id: str, timezone: str, day: dt.date, rows: PartitionRows
) -> LoadStats:
    """One rooftop-day of an entity into its contract table; its volume kept for the volume check."""
    stats = conform_partition(warehouse, entity, dealership_id, timezone, day, rows.observe)
    warehouse.upsert(
        "partition_volumes",
        [(dealership_id, CONFORMERS[entity][0], day, stats.rows, stats.quarantined, dt.datetime.now(dt.UTC))],
    )
    return stats


@dg.multi_asset(
    name="conform",
    specs=[
        dg.AssetSpec(
            key,
            deps=[RAW_KEYS[entity]],
            group_name="core",
            kinds={"python", "sql"},
            owners=OWNERS,
            skippable=True,
            description=_DESCRIPTIONS[entity] + " Records that cannot conform go to quarantine.",
        )
        for entity, key in CORE_KEYS.items()
    ],
    check_specs=check_specs({CONFORMERS[entity][0]: key for entity, key in CORE_KEYS.items()}),
    partitions_def=rooftop_days,
    can_subset=True,
)
def conform(context: dg.AssetExecutionContext, dms: DmsFleet, warehouse: Warehouse):
    """Parse, validate and upsert one rooftop-day's raw records into the contract tables, then check them."""
    dealership_id, day = split_key(context.partition_key)
    timezone = dms.fleet().get(dealership_id).timezone
    rows = PartitionRows()
    for entity, key in CORE_KEYS.items():
        if key not in context.selected_asset_keys:
            continue
        table = CONFORMERS[entity][0]
        stats = conform_day(warehouse, entity, dealership_id, timezone, day, rows)
        context.log.info(
            f"{entity}: {stats.rows} rows, {stats.quarantined} quarantined, {stats.released} released"
        )
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "dealership": dealership_id,
                "day": day.isoformat(),
                "released_from_quarantine": stats.released,
                **stats.metadata(),
            },
        )
        selected = {k.name for k in context.selected_asset_check_keys if k.asset_key == key}
        if selected:
            yield from evaluate(
                warehouse, key, table, rows.frame(table), dealership_id, day, context.run.run_id, selected
            )
        rows.batches.pop(table, None)  # a table's rows are checked: let them go
    # The run says its event is done, not a sensor: the sync the event asked for has loaded its day.
    event_id = context.run.tags.get(EVENT_TAG)
    if event_id:
        from resources.events.inbox import mark

        mark(warehouse, [event_id], "done")
