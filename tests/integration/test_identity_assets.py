"""The identity assets on a real warehouse: one profile per person and per VIN, ids stable across reruns."""

import datetime as dt

import dagster as dg
import httpx
from sqlalchemy import select

from assets.identity import customer_identity, vehicle_identity
from auterity_pipelines.schema import (
    customer_identity_links,
    customer_profiles,
    vehicle_history,
    vehicle_profiles,
)
from auterity_pipelines.simulator.data import RooftopDms, SimulatorSettings
from tests.conftest import NOW, start_simulator

T = dt.datetime(2026, 11, 18, 15, tzinfo=dt.UTC)
VIN = "1HGCM82633A004352"


def fill(warehouse) -> None:
    warehouse.upsert(
        "customers",
        [
            (
                "north",
                "C-1",
                "Maria",
                "Lopez",
                "maria.lopez7@gmail.com",
                "(312) 555-0100",
                "60614",
                T,
                True,
                None,
            ),
            (
                "south",
                "C-9",
                "Maria",
                "Lopes",
                "marialopez7@gmail.com",
                "312.555.0100",
                "60614-1234",
                T,
                None,
                None,
            ),
            ("south", "C-2", "Ann", "Lee", None, None, "10001", T, False, False),
        ],
    )
    warehouse.upsert(
        "vehicles",
        [("north", VIN, True, 2003, 2003, "Honda", "Accord", "EX", 90_000, "S1", "sold", 8000, T, "V-1")],
    )
    warehouse.upsert("deals", [("north", "D-1", "C-1", VIN, "used", 8200, T, None, T)])
    warehouse.upsert("repair_orders", [("south", "R-1", "C-9", VIN.lower(), T, None, 420, "R-1", T)])


def rows(warehouse, table) -> list[dict]:
    with warehouse.engine.connect() as conn:
        return [r._asdict() for r in conn.execute(select(table))]


def test_profiles_join_rooftops_and_keep_their_ids_on_a_rerun(instance, warehouse):
    fill(warehouse)
    for _ in range(2):
        result = dg.materialize(
            [customer_identity, vehicle_identity], resources={"warehouse": warehouse}, instance=instance
        )
        assert result.success
        if _ == 0:
            first_links = sorted(
                (r["dealership_id"], r["customer_id"], r["profile_id"])
                for r in rows(warehouse, customer_identity_links)
            )
    links = {r["customer_id"]: r for r in rows(warehouse, customer_identity_links)}
    assert (
        sorted((r["dealership_id"], r["customer_id"], r["profile_id"]) for r in links.values()) == first_links
    )
    assert links["C-1"]["profile_id"] == links["C-9"]["profile_id"] != links["C-2"]["profile_id"]
    assert links["C-1"]["rule"] == "email" and links["C-2"]["rule"] == "single"
    profiles = {r["profile_id"]: r for r in rows(warehouse, customer_profiles)}
    assert len(profiles) == 2
    maria = profiles[links["C-1"]["profile_id"]]
    assert (maria["members"], maria["rooftops"], maria["phone"]) == (2, 2, "+13125550100")

    (vehicle,) = rows(warehouse, vehicle_profiles)
    assert (vehicle["vin"], vehicle["rooftops"], vehicle["events"], vehicle["manufacturer"]) == (
        VIN,
        2,
        3,
        "Honda",
    )
    history = sorted((r["dealership_id"], r["event"]) for r in rows(warehouse, vehicle_history))
    assert history == [("north", "sold"), ("north", "stocked"), ("south", "serviced")]


def test_the_simulator_reports_who_each_customer_is():
    start, end = dt.datetime(2026, 10, 1, tzinfo=dt.UTC), dt.datetime(2026, 10, 20, tzinfo=dt.UTC)
    with start_simulator() as url:
        params = {"key": "lakeside-honda", "start": start.isoformat(), "end": end.isoformat()}
        found = httpx.get(f"{url}/_sim/identities", params=params).json()["identities"]
    dms = RooftopDms("lakeside-honda", SimulatorSettings(now=NOW))
    assert [f["source_id"] for f in found] == [r["source_id"] for _, r in dms.stream("customers", start, end)]
    assert {f["identity"] == dms.identity(f["source_id"]) for f in found} == {True}
    assert any(f["identity"].startswith("person-") for f in found)
