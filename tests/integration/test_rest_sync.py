"""Both REST styles against the simulator over real HTTP, every fault injected: the warehouse ends
with exactly the simulator's records, no duplicates, no gaps; bad records are quarantined, not lost."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from auterity_pipelines.records import ENTITIES
from auterity_pipelines.schema import CONFORMED_TABLES, quarantine
from auterity_pipelines.simulator.data import RooftopDms, SimulatorSettings
from auterity_pipelines.simulator.server import Faults
from tests.conftest import NOW, start_simulator, write_fleet
from tests.helpers import checksum, expected, raw_payloads, sync

DAYS = [dt.date(2026, 11, 15), dt.date(2026, 11, 16), dt.date(2026, 11, 17)]
ROOFTOPS = {"lakeside-honda": "America/Chicago", "northgate-ford": "America/Los_Angeles"}
EVERY_FAULT = Faults(rate_limit_every=7, server_error_every=5, slow_every=11, slow_seconds=0.2, drop_every=9,
                     expire_token_every=13, token_ttl=3)  # fmt: skip


def quarantined(warehouse, dealership_id: str) -> dict[str, set[str]]:
    by_entity: dict[str, set[str]] = {}
    with warehouse.engine.connect() as conn:
        rows = conn.execute(select(quarantine.c.entity, quarantine.c.source_id, quarantine.c.reason)
                            .where(quarantine.c.dealership_id == dealership_id))  # fmt: skip
        for entity, source_id, reason in rows:
            assert reason, source_id
            by_entity.setdefault(entity, set()).add(source_id)
    return by_entity


@pytest.mark.parametrize("dealership_id", list(ROOFTOPS))
def test_a_faulty_dms_syncs_to_exactly_its_records(tmp_path, instance, warehouse, dealership_id):
    settings = SimulatorSettings(now=NOW, malformed_share=0.04)
    with start_simulator(settings, EVERY_FAULT) as url:
        fleet = write_fleet(tmp_path / "fleet.yaml", url)
        for day in DAYS:
            result = sync(instance, fleet, warehouse, dealership_id, day)
            assert result.success, day
    dms = RooftopDms(dealership_id, settings)
    held = quarantined(warehouse, dealership_id)
    for entity in ENTITIES:
        truth = expected(dms, entity, ROOFTOPS[dealership_id], DAYS)
        payloads = raw_payloads(warehouse, entity, dealership_id)
        assert checksum(payloads) == checksum(truth.records), entity
        assert len({p["source_id"] for p in payloads}) == len(payloads), f"{entity}: duplicates"
        faults = truth.raw_faults | truth.conform_faults
        assert held.get(entity, set()) == faults, entity
        if entity in CONFORMED_TABLES:
            assert warehouse.count(entity, dealership_id) == len(truth.records) - len(truth.conform_faults), (
                entity
            )
    assert held, "the fault options should have produced some malformed records"
    assert_contract_values(warehouse, dms, dealership_id)


def assert_contract_values(warehouse, dms, dealership_id: str) -> None:
    """Contract rows carry the simulator's values (compared with what it served, not via conform)."""
    tz = ROOFTOPS[dealership_id]
    orders = expected(dms, "repair_orders", tz, DAYS)
    want = {r["ro_number"]: (r["vin"], Decimal(str(r["total_amount"])), r["customer_source_id"])
            for r in orders.records if r["source_id"] not in orders.conform_faults}  # fmt: skip
    table = CONFORMED_TABLES["repair_orders"]
    with warehouse.engine.connect() as conn:
        rows = conn.execute(select(table.c.ro_number, table.c.vin, table.c.total_amount, table.c.customer_id)
                            .where(table.c.dealership_id == dealership_id)).all()  # fmt: skip
    assert {
        r.ro_number: (r.vin, Decimal(str(r.total_amount)).quantize(Decimal("0.01")), r.customer_id)
        for r in rows
    } == {k: (vin, amount.quantize(Decimal("0.01")), customer) for k, (vin, amount, customer) in want.items()}
    vehicles = expected(dms, "vehicles", tz, DAYS)
    served = [r for r in vehicles.records if r["source_id"] not in vehicles.conform_faults]
    table = CONFORMED_TABLES["vehicles"]
    with warehouse.engine.connect() as conn:
        rows = {r.vin: r for r in conn.execute(select(table).where(table.c.dealership_id == dealership_id))}
    assert {r.vin: (r.mileage, r.make) for r in rows.values()} == {
        v["vin"]: (v["mileage"], v["make"]) for v in served
    }
    stated = {v["vin"]: v["model_year"] for v in served if v["model_year"]}
    assert stated and {vin: rows[vin].model_year for vin in stated} == stated
