"""Full then incremental syncs, reruns and backfills in any order leave the same tables."""

import datetime as dt

from auterity_pipelines.records import ENTITIES
from auterity_pipelines.simulator.data import SimulatorSettings
from auterity_pipelines.simulator.server import Faults, Simulator, serve_in_thread
from resources.dms.window import Window
from resources.warehouse import Warehouse
from tests.conftest import write_fleet
from tests.helpers import checksum, data_columns, expected, raw_payloads, snapshot, sync

ROOFTOP, TZ = "lakeside-honda", "America/Chicago"
FIRST = [dt.date(2026, 11, 10) + dt.timedelta(days=n) for n in range(3)]
LATER = [dt.date(2026, 11, 13) + dt.timedelta(days=n) for n in range(3)]
BOOKKEEPING = {"synced_at", "run_id", "first_seen_at"}  # when and by which run, not what


def contents(warehouse: Warehouse) -> dict:
    from auterity_pipelines.schema import metadata

    tables = snapshot(warehouse)
    keep = {name: [i for i, c in enumerate(data_columns(t)) if c.name not in BOOKKEEPING]
            for name, t in metadata.tables.items()}  # fmt: skip
    return {
        name: sorted((tuple(row[i] for i in keep[name]) for row in rows), key=repr)
        for name, rows in tables.items()
    }


def test_incremental_sync_then_reruns_and_backfills_change_nothing(tmp_path, instance, new_warehouse):
    warehouse = new_warehouse()
    # The DMS as it stood just after the first three days, then after the next three.
    first_clock = Window.local_day(FIRST[-1], TZ).end + dt.timedelta(hours=1)
    final_clock = Window.local_day(LATER[-1], TZ).end
    simulator = Simulator(SimulatorSettings(now=first_clock, malformed_share=0.03), Faults())
    with serve_in_thread(simulator) as url:
        fleet = write_fleet(tmp_path / "fleet.yaml", url)
        for day in FIRST:
            assert sync(instance, fleet, warehouse, ROOFTOP, day).success
        after_first = snapshot(warehouse)
        simulator.settings = SimulatorSettings(now=final_clock, malformed_share=0.03)
        for day in LATER:
            assert sync(instance, fleet, warehouse, ROOFTOP, day).success
        incremental = snapshot(warehouse)
        assert incremental != after_first

        # The warehouse is what a correct sync of the six days holds, updates from the later days included.
        for entity in ENTITIES:
            truth = expected(simulator.rooftop(ROOFTOP), entity, TZ, FIRST + LATER)
            assert checksum(raw_payloads(warehouse, entity, ROOFTOP)) == checksum(truth.records), entity

        # Rerunning any partition, old or new, changes no row.
        for day in (FIRST[1], LATER[0], LATER[-1]):
            assert sync(instance, fleet, warehouse, ROOFTOP, day).success
        assert snapshot(warehouse) == incremental

        # A backfill of the same days in reverse order into an empty warehouse gives the same contents.
        other = new_warehouse()
        for day in reversed(FIRST + LATER):
            assert sync(instance, fleet, other, ROOFTOP, day).success
        assert contents(other) == contents(warehouse)
