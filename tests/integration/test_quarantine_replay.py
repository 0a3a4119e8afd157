"""Quarantine replay: after a fix, records that now pass leave quarantine; the rest stay, reasons renewed."""

from sqlalchemy import select

from auterity_pipelines import conform
from auterity_pipelines.jobs import quarantine_replay_job
from auterity_pipelines.schema import RAW_TABLES, quarantine, vehicles
from resources.dms.fleet import DmsFleet
from tests.conftest import write_fleet
from tests.helpers import sync
from tests.integration.test_extract_sync import DAY, ROOFTOP, vehicle_row, write_day


def quarantined(warehouse) -> dict[str, dict]:
    with warehouse.engine.connect() as conn:
        return {r.source_id: r._asdict() for r in conn.execute(select(quarantine))}


def replay(fleet, warehouse, **config):
    return quarantine_replay_job.execute_in_process(
        resources={"dms": DmsFleet(fleet_file=str(fleet)), "warehouse": warehouse},
        run_config={"ops": {"replay_quarantined_records": {"config": config}}},
    )


def test_a_fixed_rule_releases_what_it_now_reads_and_the_rest_stays_with_its_reason(
    tmp_path, instance, warehouse, monkeypatch
):
    unknown_mileage = vehicle_row(1, "1HGCM82633A004352")
    unknown_mileage[7] = "unknown"
    bad_time = vehicle_row(2, "1FMCU14T3JU402061")
    bad_time[1] = "2026-13-45T99:00:00"
    write_day(
        tmp_path / "extracts", {"vehicles": [unknown_mileage, bad_time, vehicle_row(3, "JH4DC4340RS003205")]}
    )
    fleet = write_fleet(tmp_path / "fleet.yaml", "http://127.0.0.1:9", extract_root=tmp_path / "extracts")
    assert sync(instance, fleet, warehouse, ROOFTOP, DAY).success
    before = quarantined(warehouse)
    assert set(before) == {"V1", "V2"} and "mileage" in before["V1"]["reason"]

    assert replay(fleet, warehouse).success  # nothing fixed yet: both stay, seen again
    after = quarantined(warehouse)
    assert set(after) == {"V1", "V2"}
    for source_id in after:
        assert after[source_id]["first_seen_at"] == before[source_id]["first_seen_at"]
        assert after[source_id]["last_seen_at"] > before[source_id]["last_seen_at"]

    # The fix, as a deploy would bring it: mileage "unknown" now reads as no mileage.
    vehicle = conform.CONFORMERS["vehicles"][1]

    def lenient(dealership_id, record, tz):
        return vehicle(
            dealership_id, {**record, "mileage": None} if record.get("mileage") == "unknown" else record, tz
        )

    monkeypatch.setitem(conform.CONFORMERS, "vehicles", ("vehicles", lenient))
    events = replay(fleet, warehouse, entity="vehicles", dealership_id=ROOFTOP).all_node_events
    [output] = [e for e in events if e.event_type_value == "STEP_OUTPUT"]
    counts = {k: v.value for k, v in output.event_specific_data.metadata.items()}
    assert (counts["released"], counts["still_quarantined"]) == (1, 1)

    remaining = quarantined(warehouse)
    assert set(remaining) == {"V2"} and "modified_at" in remaining["V2"]["reason"]
    with warehouse.engine.connect() as conn:
        loaded = conn.execute(select(vehicles).where(vehicles.c.source_id == "V1")).one()
        assert loaded.mileage is None and loaded.vin == "1HGCM82633A004352"
        assert (
            conn.execute(
                select(RAW_TABLES["vehicles"].c.partition_day).where(
                    RAW_TABLES["vehicles"].c.source_id == "V1"
                )
            ).scalar_one()
            == DAY
        )


def test_a_rooftop_outside_the_fleet_is_refused(tmp_path, warehouse):
    fleet = write_fleet(tmp_path / "fleet.yaml", "http://127.0.0.1:9", extract_root=tmp_path / "extracts")
    result = quarantine_replay_job.execute_in_process(
        resources={"dms": DmsFleet(fleet_file=str(fleet)), "warehouse": warehouse},
        run_config={"ops": {"replay_quarantined_records": {"config": {"dealership_id": "nowhere"}}}},
        raise_on_error=False,
    )
    assert not result.success
