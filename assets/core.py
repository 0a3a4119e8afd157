"""Conformed contract tables: the specs the sync step materializes, and conforming from raw."""

import datetime as dt

import dagster as dg

from assets.sync import LoadStats, conform_partition
from auterity_pipelines.conform import CONFORMERS
from auterity_pipelines.quality.rows import PartitionRows
from resources.warehouse import Warehouse

CORE_KEYS = {entity: dg.AssetKey(["core", table]) for entity, (table, _) in CONFORMERS.items()}
DESCRIPTIONS = {
    "customers": "Customers by (dealership_id, customer_id).",
    "vehicles": "Vehicles by (dealership_id, vin), with vin_valid and vin_model_year decoded from the VIN.",
    "deals": "Vehicle sales and leases by (dealership_id, deal_id).",
    "repair_orders": "Service repair orders by (dealership_id, ro_number).",
    "repair_order_lines": "Repair-order lines by (dealership_id, ro_number, line_number): op code, complaint, cause, correction.",
    "leads": "Sales leads by (dealership_id, lead_id).",
}


def record_volume(
    warehouse: Warehouse, entity: str, dealership_id: str, day: dt.date, stats: LoadStats
) -> None:
    """Keep a conformed rooftop-day's volume for the volume check of the days after it."""
    warehouse.upsert(
        "partition_volumes",
        [(dealership_id, CONFORMERS[entity][0], day, stats.rows, stats.quarantined, dt.datetime.now(dt.UTC))],
    )


def conform_day(
    warehouse: Warehouse, entity: str, dealership_id: str, timezone: str, day: dt.date, rows: PartitionRows
) -> LoadStats:
    """One rooftop-day of an entity from its raw table into its contract table (the per-record
    path: REST loads, replays, a run that conforms without loading)."""
    rows.restart(CONFORMERS[entity][0])
    stats = conform_partition(warehouse, entity, dealership_id, timezone, day, rows.observe)
    record_volume(warehouse, entity, dealership_id, day, stats)
    return stats


def contract_day(
    warehouse: Warehouse,
    entity: str,
    dealership_id: str,
    timezone: str,
    day: dt.date,
    conformed: dict[str, LoadStats],
    rows: PartitionRows,
) -> LoadStats:
    """An entity's contract rows for a rooftop-day: what the load conformed in its pass (an
    extract), else conformed now from the raw table; its volume kept either way."""
    if entity not in conformed:
        return conform_day(warehouse, entity, dealership_id, timezone, day, rows)
    record_volume(warehouse, entity, dealership_id, day, conformed[entity])
    return conformed[entity]
