"""One vehicle across rooftops and over time, keyed by its VIN: stocked here, sold there, serviced elsewhere."""

from __future__ import annotations

import pandas as pd

from auterity_pipelines import vin as vins

HISTORY_COLUMNS = ["vin", "dealership_id", "event", "source_id", "occurred_at"]


def _events(frame: pd.DataFrame, event: str, source: str, moment: str) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "vin": frame["vin"].astype("string").str.strip().str.upper(),
            "dealership_id": frame["dealership_id"],
            "event": event,
            "source_id": frame[source].astype("string"),
            "occurred_at": pd.to_datetime(frame[moment], utc=True),
        }
    )
    return out[out["vin"].str.len() == 17]


def vehicle_history(vehicles: pd.DataFrame, deals: pd.DataFrame, repair_orders: pd.DataFrame) -> pd.DataFrame:
    """Every sighting of every VIN: in stock (as last updated), sold, brought in for service."""
    parts = [
        _events(vehicles, "stocked", "source_id", "updated_at"),
        _events(deals.dropna(subset=["vin"]), "sold", "deal_id", "sold_at"),
        _events(repair_orders.dropna(subset=["vin"]), "serviced", "ro_number", "opened_at"),
    ]
    history = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    if history.empty:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    return history.sort_values(
        ["vin", "occurred_at", "dealership_id", "event", "source_id"], ignore_index=True
    )


PROFILE_COLUMNS = [
    "vin", "vin_valid", "model_year", "manufacturer", "country", "make",
    "first_seen_at", "last_seen_at", "rooftops", "events",
]  # fmt: skip


def vehicle_profiles(history: pd.DataFrame, vehicles: pd.DataFrame) -> pd.DataFrame:
    """One row per VIN: what the VIN itself says, the DMS's make, and where and when it was seen."""
    if history.empty:
        return pd.DataFrame(columns=PROFILE_COLUMNS)
    seen = history.groupby("vin").agg(
        first_seen_at=("occurred_at", "min"),
        last_seen_at=("occurred_at", "max"),
        rooftops=("dealership_id", "nunique"),
        events=("event", "size"),
    )
    stock = vehicles.assign(vin=vehicles["vin"].astype("string").str.strip().str.upper())
    stock = stock.sort_values("updated_at").groupby("vin")[["make", "model_year"]].last()
    seen = seen.join(stock, how="left")
    decoded = [
        vins.decode(v, None if pd.isna(year) else int(year))
        for v, year in zip(seen.index, seen["model_year"])
    ]
    seen["vin_valid"] = [d.valid for d in decoded]
    seen["model_year"] = [d.model_year for d in decoded]
    seen["manufacturer"] = [d.manufacturer for d in decoded]
    seen["country"] = [d.country for d in decoded]
    return seen.reset_index()[PROFILE_COLUMNS]
