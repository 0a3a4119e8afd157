"""deal_thank_you: a customer whose deal was funded is thanked, `delay_hours` later."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from auterity_pipelines.automations.library import Params, Scope, Subject, Template
from auterity_pipelines.automations.queries import contact_of, customer_rows, partition_rows
from auterity_pipelines.records import as_utc
from auterity_pipelines.schema import deals


class DealThankYouParams(Params):
    channel: Literal["email", "sms"] = Field("email", description="how the customer is thanked")
    delay_hours: float = Field(24, ge=0, le=24 * 30, description="hours after the sale to send")
    max_age_days: int = Field(
        7, ge=1, le=365, description="deals sold longer ago are not thanked (a backfill of old days)"
    )


def find(scope: Scope, params: DealThankYouParams):
    rows = [d for d in partition_rows(scope, "deals", deals, "deal_id") if d["sold_at"] is not None]
    people = customer_rows(scope, [d["customer_id"] for d in rows])
    for deal in rows:
        sold = as_utc(deal["sold_at"])
        person = people.get(deal["customer_id"], {})
        too_old = scope.now - sold > dt.timedelta(days=params.max_age_days)
        yield Subject(
            key=f"deal:{deal['deal_id']}",
            window="once",
            variables={
                "first_name": person.get("first_name") or "there",
                "vehicle": "your new vehicle",
                "dealership": scope.dealership_name,
            },
            contact=contact_of(people.get(deal["customer_id"])),
            not_before=sold + dt.timedelta(hours=params.delay_hours),
            cancelled=f"sold {sold:%Y-%m-%d}, over {params.max_age_days} days ago" if too_old else None,
        )


TEMPLATE = Template(
    name="deal_thank_you",
    description="Thank the customer of a funded deal, `delay_hours` after the sale, by e-mail or SMS.",
    trigger="event",
    trigger_text="a deal synced (core/deals materialized, e.g. after a deal.funded event)",
    reads=(("core", "deals"), ("core", "customers")),
    triggered_by=(("core", "deals"),),
    audience="customer",
    params=DealThankYouParams,
    message="Hi {{ first_name }}, thank you for choosing {{ dealership }}! Enjoy {{ vehicle }}. "
    "Reply STOP to opt out.",
    email_subject="Thank you from {{ dealership }}",
    variables=frozenset({"first_name", "vehicle", "dealership"}),
    find=find,
)
