"""service_due_reminder: customers whose last visit was `months` ago are reminded that service is due."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field
from sqlalchemy import and_, select

from auterity_pipelines.automations.library import Params, Scope, Subject, Template
from auterity_pipelines.automations.queries import contact_of, newest_per_customer
from auterity_pipelines.records import as_utc
from auterity_pipelines.schema import customers, repair_orders


class ServiceDueParams(Params):
    channel: Literal["email", "sms"] = Field("email", description="how the customer is reminded")
    months: int = Field(6, ge=1, le=36, description="months since the customer's last repair order")
    within_days: int = Field(
        30, ge=1, le=365, description="how far past due a customer still gets a first reminder"
    )
    min_score: float = Field(
        0.0, ge=0, le=1, description="service retention score the customer must reach (0: everyone due)"
    )
    at: str = Field(
        "07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="rooftop-local time of the nightly run"
    )


def _months_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def find(scope: Scope, params: ServiceDueParams):
    due_by = _months_before(scope.day, params.months)
    oldest = due_by - dt.timedelta(days=params.within_days)
    last = newest_per_customer(scope, repair_orders, "closed_at")
    query = (
        select(
            repair_orders.c.ro_number,
            repair_orders.c.vin,
            last.c.last_at,
            customers.c.customer_id,
            customers.c.first_name,
            customers.c.email,
            customers.c.phone,
            customers.c.email_opt_in,
            customers.c.sms_opt_in,
        )
        .join(
            repair_orders,
            and_(
                repair_orders.c.dealership_id == scope.dealership_id,
                repair_orders.c.customer_id == last.c.customer_id,
                repair_orders.c.closed_at == last.c.last_at,
            ),
        )
        .join(
            customers,
            and_(
                customers.c.dealership_id == scope.dealership_id,
                customers.c.customer_id == last.c.customer_id,
            ),
        )
        .where(
            last.c.last_at >= dt.datetime.combine(oldest, dt.time(), dt.UTC),
            last.c.last_at < dt.datetime.combine(due_by + dt.timedelta(days=1), dt.time(), dt.UTC),
        )
    )
    with scope.engine.connect() as conn:
        rows = [r._mapping for r in conn.execute(query.execution_options(yield_per=10_000))]
    scores = None
    if params.min_score > 0:
        if scope.retention_scores is None:
            raise LookupError("no service_retention model is available to score customers")
        scores = scope.retention_scores([r["ro_number"] for r in rows])
    seen = set()
    for row in rows:
        if row["customer_id"] in seen:  # two orders closed at the same moment
            continue
        seen.add(row["customer_id"])
        cancelled = None
        if scores is not None:
            score = scores.get(row["ro_number"])
            if score is None or score < params.min_score:
                cancelled = (
                    f"retention score {'none' if score is None else f'{score:.2f}'} below {params.min_score}"
                )
        yield Subject(
            key=f"customer:{row['customer_id']}",
            window=f"ro:{row['ro_number']}",
            variables={
                "first_name": row["first_name"] or "there",
                "last_visit": f"{as_utc(row['last_at']):%B %-d, %Y}",
                "months": params.months,
                "dealership": scope.dealership_name,
            },
            contact=contact_of(row),
            cancelled=cancelled,
        )


TEMPLATE = Template(
    name="service_due_reminder",
    description="Nightly: remind customers whose last repair order is `months` old (and whose retention "
    "score reaches min_score) that service is due, by e-mail or SMS.",
    trigger="daily",
    trigger_text="nightly, at `at` rooftop-local time",
    reads=(("core", "customers"), ("core", "repair_orders")),
    audience="customer",
    params=ServiceDueParams,
    message="Hi {{ first_name }}, it has been {{ months }} months since your last visit to {{ dealership }} "
    "({{ last_visit }}). Reply or call us to book your service. Reply STOP to opt out.",
    email_subject="Your vehicle is due for service at {{ dealership }}",
    variables=frozenset({"first_name", "last_visit", "months", "dealership"}),
    find=find,
)
