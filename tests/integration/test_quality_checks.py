"""Quality checks on synced rooftop-days: Great Expectations suites in the conform step, blocking
what must not flow on, warning about the rest, and kept in the warehouse for other runs."""

import datetime as dt

import dagster as dg
from sqlalchemy import select

from assets.enrichment import repair_order_enrichments
from auterity_pipelines.partitions import partition_key
from auterity_pipelines.schema import partition_volumes, quality_results, repair_order_lines
from resources.ai import RelayCore
from tests.conftest import write_fleet
from tests.helpers import sync
from tests.integration.test_extract_sync import DAY, ROOFTOP, vehicle_row, write_day

VIN = "1HGCM82633A004352"


def line_row(source_id: str, ro_number: str, line: int, hours: str = "1.5") -> list[str]:
    return [
        source_id,
        "2026-11-16T15:00:00Z",
        ro_number,
        str(line),
        "A01",
        "noise",
        "worn",
        "replaced",
        hours,
        "120",
    ]


def results(warehouse) -> dict[tuple[str, str], dict]:
    with warehouse.engine.connect() as conn:
        return {(r.table_name, r.check_name): r._asdict() for r in conn.execute(select(quality_results))}


def evaluations(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}


def test_a_clean_day_passes_and_each_result_is_kept(tmp_path, instance, warehouse):
    write_day(
        tmp_path / "extracts",
        {
            "vehicles": [vehicle_row(1, VIN), vehicle_row(2, "JH4DC4340RS003205")],
            "repair_order_lines": [line_row("R1/1", "R1", 1), line_row("R1/2", "R1", 2)],
        },
    )
    fleet = write_fleet(tmp_path / "fleet.yaml", "http://127.0.0.1:9", extract_root=tmp_path / "extracts")
    result = sync(instance, fleet, warehouse, ROOFTOP, DAY)
    assert result.success
    checks = evaluations(result)
    assert checks[("vehicles", "keys_present_and_unique")].passed
    assert checks[("vehicles", "schema_matches_contract")].passed
    assert checks[("vehicles", "valid_vin_share")].passed
    # The lines name a repair order this warehouse has never seen: a warning, not a stop.
    references = checks[("repair_order_lines", "references_exist")]
    assert not references.passed and references.severity == dg.AssetCheckSeverity.WARN
    kept = results(warehouse)
    assert kept[("repair_order_lines", "references_exist")]["passed"] is False
    assert kept[("vehicles", "keys_present_and_unique")]["passed"] is True
    assert kept[("vehicles", "keys_present_and_unique")]["blocking"] is True
    with warehouse.engine.connect() as conn:
        volumes = {r.table_name: r.rows for r in conn.execute(select(partition_volumes))}
    assert volumes["vehicles"] == 2 and volumes["repair_order_lines"] == 2


def test_two_lines_with_one_key_fail_the_blocking_check_and_enrichment_refuses_the_day(
    tmp_path, instance, warehouse, monkeypatch
):
    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AUTERITY_NEUROWEAVER_URL"):
        monkeypatch.delenv(name, raising=False)
    # Two source records the contract keys alike: the upsert can keep only one of them.
    write_day(
        tmp_path / "extracts",
        {"repair_order_lines": [line_row("R7/1", "R7", 1), line_row("R7/1-dup", "R7", 1, hours="400")]},
    )
    fleet = write_fleet(tmp_path / "fleet.yaml", "http://127.0.0.1:9", extract_root=tmp_path / "extracts")
    result = sync(instance, fleet, warehouse, ROOFTOP, DAY)
    assert not result.success  # a failed blocking check fails the step
    keys = evaluations(result)[("repair_order_lines", "keys_present_and_unique")]
    assert not keys.passed and keys.severity == dg.AssetCheckSeverity.ERROR
    failing = keys.metadata["failing_rows (first 20)"].value
    assert {(r["ro_number"], r["line_number"]) for r in failing} == {("R7", 1)}
    ranges = evaluations(result)[("repair_order_lines", "values_in_range")]
    assert not ranges.passed and ranges.severity == dg.AssetCheckSeverity.WARN
    assert "labor_hours" in ranges.metadata["summary"].value
    with warehouse.engine.connect() as conn:
        assert conn.execute(select(repair_order_lines)).all()  # the rows stay, visible

    refused = dg.materialize(
        [repair_order_enrichments],
        resources={"warehouse": warehouse, "relaycore": RelayCore()},
        partition_key=partition_key(ROOFTOP, DAY),
        instance=instance,
        raise_on_error=False,
    )
    assert not refused.success
    [failure] = [e for e in refused.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.event_specific_data.error.message
    assert "repair_order_lines.keys_present_and_unique" in message


def test_a_day_that_goes_quiet_fails_the_volume_check(tmp_path, instance, warehouse):
    now = dt.datetime.now(dt.UTC)
    history = [(ROOFTOP, "vehicles", DAY - dt.timedelta(days=d), 40 + d, 0, now) for d in range(1, 15)]
    warehouse.upsert("partition_volumes", history)
    write_day(tmp_path / "extracts", {"vehicles": [vehicle_row(1, VIN)]})
    fleet = write_fleet(tmp_path / "fleet.yaml", "http://127.0.0.1:9", extract_root=tmp_path / "extracts")
    result = sync(instance, fleet, warehouse, ROOFTOP, DAY)
    assert result.success  # an alarm, not a stop: the day may really have been quiet
    volume = evaluations(result)[("vehicles", "volume_within_trailing_range")]
    assert not volume.passed and volume.severity == dg.AssetCheckSeverity.ERROR
    assert "near zero" in volume.metadata["summary"].value
    assert volume.metadata["trailing_days_loaded"].value == 14


def test_training_leaves_out_what_a_failed_day_loaded(warehouse):
    import pandas as pd

    from ml.features.frames import without_blocked_days

    now = dt.datetime.now(dt.UTC)
    warehouse.upsert(
        "raw_leads",
        [(ROOFTOP, s, {"source_id": s}, now, now, "run", DAY) for s in ("L1", "L2")]
        + [(ROOFTOP, "L3", {"source_id": "L3"}, now, now, "run", DAY - dt.timedelta(days=1))],
    )
    warehouse.upsert(
        "quality_results",
        [
            (
                ROOFTOP,
                DAY,
                "leads",
                "keys_present_and_unique",
                False,
                True,
                "ERROR",
                "2 rows share a key",
                now,
                "run",
            )
        ],
    )
    frames = {"leads": pd.DataFrame({"dealership_id": [ROOFTOP] * 3, "lead_id": ["L1", "L2", "L3"]})}
    kept, dropped = without_blocked_days(warehouse.engine, frames)
    assert dropped == 2 and list(kept["leads"]["lead_id"]) == ["L3"]
    warehouse.upsert(  # the day synced again after a fix, and passed
        "quality_results",
        [
            (
                ROOFTOP,
                DAY,
                "leads",
                "keys_present_and_unique",
                True,
                True,
                "ERROR",
                "3 rows passed",
                now,
                "run2",
            )
        ],
    )
    assert without_blocked_days(warehouse.engine, frames)[1] == 0


def test_a_table_that_drifted_from_the_contract_stops_the_sync(tmp_path, instance, warehouse):
    from sqlalchemy import text

    with warehouse.engine.begin() as conn:
        conn.execute(text("ALTER TABLE vehicles ADD COLUMN colour VARCHAR(20)"))  # a hand-made change
    write_day(tmp_path / "extracts", {"vehicles": [vehicle_row(1, VIN)]})
    fleet = write_fleet(tmp_path / "fleet.yaml", "http://127.0.0.1:9", extract_root=tmp_path / "extracts")
    result = sync(instance, fleet, warehouse, ROOFTOP, DAY)
    assert not result.success
    schema = evaluations(result)[("vehicles", "schema_matches_contract")]
    assert not schema.passed and "colour" in schema.metadata["summary"].value
    assert evaluations(result)[("customers", "schema_matches_contract")].passed
