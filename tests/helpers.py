"""Helpers the integration tests share: run a sync, compare the warehouse with the simulator's truth."""

from __future__ import annotations

import datetime as dt

import dagster as dg
from sqlalchemy import select

from assets.dms import dms_sync
from auterity_pipelines.partitions import partition_key
from auterity_pipelines.records import content_checksum
from auterity_pipelines.schema import RAW_TABLES, metadata
from auterity_pipelines.simulator.data import RooftopDms, truth
from resources.dms.fleet import DmsFleet
from resources.dms.window import Window
from resources.warehouse import Warehouse


def sync(instance, fleet_file, warehouse: Warehouse, dealership_id: str, day: dt.date, page_size: int = 25):
    return dg.materialize(
        [dms_sync],
        resources={"dms": DmsFleet(fleet_file=str(fleet_file), page_size=page_size), "warehouse": warehouse},
        partition_key=partition_key(dealership_id, day),
        instance=instance,
        raise_on_error=False,
    )


def raw_payloads(warehouse: Warehouse, entity: str, dealership_id: str) -> list[dict]:
    table = RAW_TABLES[entity]
    with warehouse.engine.connect() as conn:
        return [
            r[0] for r in conn.execute(select(table.c.payload).where(table.c.dealership_id == dealership_id))
        ]


def expected(dms: RooftopDms, entity: str, timezone: str, days: list[dt.date]):
    """What the warehouse must hold after syncing these days: truth per day window, merged."""
    start = Window.local_day(min(days), timezone).start
    end = Window.local_day(max(days), timezone).end
    return truth(dms, entity, start, end)


# Records of what a run saw, not data: a rerun judges a day against the warehouse as it is then
# (references a later day brought are found) and counts the rows its day holds then (a
# record a later day updated has moved to that day).
RUN_LOGS = {"quality_results", "partition_volumes"}


def data_columns(table) -> list:
    """The columns a rerun must leave alone: all but quarantine's last sighting."""
    return [c for c in table.columns if c.name != "last_seen_at"]


def snapshot(warehouse: Warehouse) -> dict[str, list[tuple]]:
    """Every data table's rows, sorted (RUN_LOGS left out, and each table's data_columns only)."""
    tables = {}
    with warehouse.engine.connect() as conn:
        for name, table in metadata.tables.items():
            if name in RUN_LOGS:
                continue
            rows = conn.execute(select(*data_columns(table))).all()
            tables[name] = sorted((tuple(map(_comparable, row)) for row in rows), key=repr)
    return tables


def _comparable(value):
    return repr(sorted(value.items())) if isinstance(value, dict) else value


def checksum(records) -> tuple[int, str]:
    return content_checksum(records)


def load_history(
    warehouse: Warehouse,
    dms: RooftopDms,
    dealership_id: str,
    start: dt.datetime,
    end: dt.datetime,
    day: dt.date,
) -> None:
    """Load [start, end) of a simulated rooftop in one go, as if partition `day` had pulled it.

    Training needs months of history; syncing them a day at a time would only re-test the sync.
    """
    from assets.sync import RawLoader, conform_partition

    loader = RawLoader(warehouse, dealership_id, "UTC", Window(day, start, end), run_id="history")
    entities = ["customers", "deals", "repair_orders", "leads"]
    for entity in entities:
        records = [record for _, record in dms.stream(entity, start, end)]
        loader.load(entity, [records[i : i + 2000] for i in range(0, len(records), 2000)])
    for entity in [*entities, "repair_order_lines"]:
        conform_partition(warehouse, entity, dealership_id, "UTC", day)


def crm_posts(warehouse: Warehouse) -> list[tuple[str, str]]:
    """(subject, decision) of each lead's CRM delivery row."""
    from auterity_pipelines.schema import automation_deliveries as d

    with warehouse.engine.connect() as conn:
        query = select(d.c.subject, d.c.decision).where(d.c.automation == "crm").order_by(d.c.subject)
        return [tuple(r) for r in conn.execute(query)]
