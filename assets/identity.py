"""One customer and one vehicle across the group's rooftops, rebuilt from the contract tables."""

import time

import dagster as dg

from assets.core import CORE_KEYS
from assets.dms import OWNERS
from resources.warehouse import Warehouse

CUSTOMER_PROFILES = dg.AssetKey(["identity", "customer_profiles"])
IDENTITY_LINKS = dg.AssetKey(["identity", "customer_identity_links"])
VEHICLE_PROFILES = dg.AssetKey(["identity", "vehicle_profiles"])
VEHICLE_HISTORY = dg.AssetKey(["identity", "vehicle_history"])
KINDS = {"python", "pandas", "sql"}
VEHICLE_SOURCES = [CORE_KEYS["vehicles"], CORE_KEYS["deals"], CORE_KEYS["repair_orders"]]


def _spec(key: dg.AssetKey, deps: list[dg.AssetKey], description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        key, deps=deps, group_name="identity", kinds=KINDS, owners=OWNERS, description=description
    )


def _read(warehouse: Warehouse, sql: str):
    import pandas as pd

    with warehouse.engine.connect() as conn:
        return pd.read_sql(sql, conn)


@dg.multi_asset(
    name="customer_identity",
    specs=[
        _spec(
            CUSTOMER_PROFILES,
            [CORE_KEYS["customers"]],
            "One row per person across rooftops: latest name, normalised email, E.164 phone, postal code.",
        ),
        _spec(
            IDENTITY_LINKS,
            [CORE_KEYS["customers"]],
            "Each rooftop's customer record and its profile, with the rule that matched it.",
        ),
    ],
)
def customer_identity(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Match every customer record of the group into profiles (rules in auterity_pipelines/identity/customers.py)."""
    from auterity_pipelines.identity.customers import resolve

    started = time.perf_counter()
    customers = _read(
        warehouse,
        "SELECT dealership_id, customer_id, first_name, last_name, email, phone, postal_code, updated_at FROM customers",
    )
    resolution = resolve(customers)
    warehouse.replace("customer_profiles", resolution.profiles)
    warehouse.replace("customer_identity_links", resolution.links)
    shared = int((resolution.profiles["rooftops"] > 1).sum())
    rules = resolution.links["rule"].value_counts().to_dict()
    context.log.info(
        f"{len(customers)} customers into {len(resolution.profiles)} profiles, {shared} across rooftops"
    )
    yield dg.MaterializeResult(
        asset_key=CUSTOMER_PROFILES,
        metadata={
            "customers": len(customers),
            "profiles": len(resolution.profiles),
            "profiles_at_several_rooftops": shared,
            "seconds": round(time.perf_counter() - started, 2),
        },
    )
    yield dg.MaterializeResult(
        asset_key=IDENTITY_LINKS,
        metadata={"links": len(resolution.links), **{f"rule: {k}": v for k, v in rules.items()}},
    )


@dg.multi_asset(
    name="vehicle_identity",
    specs=[
        _spec(
            VEHICLE_PROFILES,
            VEHICLE_SOURCES,
            "One row per VIN across rooftops: decoded year, maker and country, first and last seen.",
        ),
        _spec(
            VEHICLE_HISTORY,
            VEHICLE_SOURCES,
            "Every sighting of a VIN: stocked, sold or serviced, where and when.",
        ),
    ],
)
def vehicle_identity(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Follow each VIN through the group: stocked at one rooftop, sold or traded at another, serviced anywhere."""
    from auterity_pipelines.identity.vehicles import vehicle_history, vehicle_profiles

    vehicles = _read(
        warehouse, "SELECT dealership_id, vin, source_id, make, model_year, updated_at FROM vehicles"
    )
    deals = _read(warehouse, "SELECT dealership_id, deal_id, vin, sold_at FROM deals")
    repair_orders = _read(warehouse, "SELECT dealership_id, ro_number, vin, opened_at FROM repair_orders")
    history = vehicle_history(vehicles, deals, repair_orders)
    profiles = vehicle_profiles(history, vehicles)
    warehouse.replace("vehicle_history", history)
    warehouse.replace("vehicle_profiles", profiles)
    shared = int((profiles["rooftops"] > 1).sum()) if len(profiles) else 0
    context.log.info(f"{len(profiles)} vehicles, {shared} seen at several rooftops")
    yield dg.MaterializeResult(
        asset_key=VEHICLE_PROFILES, metadata={"vehicles": len(profiles), "seen_at_several_rooftops": shared}
    )
    yield dg.MaterializeResult(asset_key=VEHICLE_HISTORY, metadata={"sightings": len(history)})
