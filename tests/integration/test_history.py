"""History before the daily window loads a rooftop-month at a time, through the same code as the
daily syncs: the month's records exactly, checked, and a rerun duplicates nothing."""

import datetime as dt

import dagster as dg
from sqlalchemy import func, select

from assets.history import dms_history
from auterity_pipelines.partitions import FIRST_DAY, MONTHS, split_month_key
from auterity_pipelines.records import ENTITIES
from auterity_pipelines.schema import quality_results
from auterity_pipelines.simulator.data import RooftopDms, SimulatorSettings
from resources.dms.fleet import DmsFleet
from resources.warehouse import Warehouse
from tests.conftest import NOW, start_simulator, write_fleet
from tests.helpers import checksum, expected, raw_payloads, snapshot

DEALERSHIP, TZ = "lakeside-honda", "America/Chicago"


def test_history_months_end_where_the_daily_window_begins():
    keys = MONTHS.get_partition_keys()
    assert keys[0] == "2020-01-01"
    last_month_days = split_month_key(f"x|{keys[-1]}")[1]
    assert last_month_days[-1] + dt.timedelta(days=1) == FIRST_DAY


def test_a_history_month_loads_exactly_its_records_and_reruns_change_nothing(tmp_path, instance):
    # One backend: the month goes through the daily code's upserts, which tests/integration
    # runs on both; a month here takes about 15 s.
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'warehouse.db'}")
    warehouse.upgrade()
    month = MONTHS.get_partition_keys()[-1]  # the month just before the daily window
    key = dg.MultiPartitionKey({"dealership": DEALERSHIP, "month": month})
    settings = SimulatorSettings(now=NOW, malformed_share=0.02)
    with start_simulator(settings) as url:
        resources = {
            "dms": DmsFleet(fleet_file=str(write_fleet(tmp_path / "fleet.yaml", url))),
            "warehouse": warehouse,
        }
        first = dg.materialize([dms_history], resources=resources, partition_key=key, instance=instance)
        before = snapshot(warehouse)
        again = dg.materialize([dms_history], resources=resources, partition_key=key, instance=instance)
    assert first.success and again.success
    assert snapshot(warehouse) == before

    _, days = split_month_key(f"{DEALERSHIP}|{month}")
    dms = RooftopDms(DEALERSHIP, settings)
    for entity in ENTITIES:
        truth = expected(dms, entity, TZ, days)
        payloads = raw_payloads(warehouse, entity, DEALERSHIP)
        assert checksum(payloads) == checksum(truth.records), entity
    (materialization,) = first.asset_materializations_for_node("dms__history")
    metadata = materialization.metadata
    assert metadata["days_loaded"].value == len(days)
    assert metadata["raw_rows"].value == sum(
        len(expected(dms, e, TZ, days).records) for e in ENTITIES if e != "repair_order_lines"
    ) + len(raw_payloads(warehouse, "repair_order_lines", DEALERSHIP))
    with warehouse.engine.connect() as conn:
        checked_days = conn.execute(select(func.count(func.distinct(quality_results.c.day)))).scalar()
    assert checked_days == len(days)  # every day checked as a daily sync's would be
