"""aged_inventory_digest: each week, the vehicles in stock longer than `days`, in one message."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field
from sqlalchemy import select

from auterity_pipelines.automations.library import Notify, Params, Scope, Subject, Template
from auterity_pipelines.automations.queries import ui_link
from auterity_pipelines.automations.rules import local_window
from auterity_pipelines.records import as_utc
from auterity_pipelines.schema import vehicles

MAX_ITEMS = 25
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class AgedInventoryParams(Params):
    notify: Notify
    days: int = Field(60, ge=1, le=3650, description="days in stock after which a vehicle is aged")
    weekday: Literal[WEEKDAYS] = Field("monday", description="rooftop-local day of the weekly run")
    at: str = Field(
        "07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="rooftop-local time of the run"
    )


def find(scope: Scope, params: AgedInventoryParams):
    # The DMS's last change to a vehicle still in stock is its stocking date here: the contract
    # keeps no separate one, and a status change out of stock removes it from the list anyway.
    cutoff = scope.now - dt.timedelta(days=params.days)
    query = (
        select(
            vehicles.c.vin,
            vehicles.c.stock_number,
            vehicles.c.model_year,
            vehicles.c.make,
            vehicles.c.model,
            vehicles.c.list_price,
            vehicles.c.updated_at,
        )
        .where(
            vehicles.c.dealership_id == scope.dealership_id,
            vehicles.c.status == "in_stock",
            vehicles.c.updated_at < cutoff,
        )
        .order_by(vehicles.c.updated_at)
    )
    with scope.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    items = [
        {
            "stock_number": r["stock_number"] or r["vin"],
            "vehicle": " ".join(str(v) for v in (r["model_year"], r["make"], r["model"]) if v),
            "days": (scope.now - as_utc(r["updated_at"])).days,
            "price": None if r["list_price"] is None else f"{r['list_price']:,.0f}",
        }
        for r in rows
    ]
    week = local_window(scope.now, scope.timezone, "week")
    yield Subject(
        key=f"digest:{week}",
        window=week,
        variables={
            "week": week,
            "days": params.days,
            "count": len(items),
            "items": items[:MAX_ITEMS],
            "more": max(0, len(items) - MAX_ITEMS),
            "link": ui_link(scope, "core/vehicles"),
            "dealership": scope.dealership_name,
        },
        cancelled=None if items else f"no vehicle has been in stock over {params.days} days",
    )


TEMPLATE = Template(
    name="aged_inventory_digest",
    description="Weekly: one digest of the vehicles in stock longer than `days`.",
    trigger="weekly",
    trigger_text="weekly, on `weekday` at `at` rooftop-local time",
    reads=(("core", "vehicles"),),
    audience="staff",
    params=AgedInventoryParams,
    message="{{ dealership }}, week {{ week }}: {{ count }} vehicle(s) in stock over {{ days }} days.\n"
    "{% for v in items %}{{ v.stock_number }} {{ v.vehicle }}: {{ v.days }} days{% if v.price %}, ${{ v.price }}"
    "{% endif %}\n{% endfor %}{% if more %}…and {{ more }} more. {% endif %}{{ link }}",
    email_subject="Aged inventory at {{ dealership }}, week {{ week }}",
    variables=frozenset({"week", "days", "count", "items", "more", "link", "dealership"}),
    find=find,
)
