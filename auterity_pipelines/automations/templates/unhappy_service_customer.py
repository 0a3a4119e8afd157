"""unhappy_service_customer: a repair-order line whose customer sounds unhappy goes to the service manager."""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import select

from auterity_pipelines.automations.library import Notify, Params, Scope, Subject, Template
from auterity_pipelines.automations.queries import (
    contact_of,
    customer_rows,
    partition_rows,
    short_name,
    ui_link,
)
from auterity_pipelines.schema import repair_order_enrichments, repair_orders


class UnhappyParams(Params):
    notify: Notify
    max_sentiment: float = Field(
        -0.3, ge=-1, le=1, description="lines whose enriched sentiment is at or below this are raised"
    )


def find(scope: Scope, params: UnhappyParams):
    orders = {r["ro_number"]: r for r in partition_rows(scope, "repair_orders", repair_orders, "source_id")}
    if not orders:
        return
    query = (
        select(repair_order_enrichments)
        .where(
            repair_order_enrichments.c.dealership_id == scope.dealership_id,
            repair_order_enrichments.c.ro_number.in_(list(orders)),
            repair_order_enrichments.c.status == "ok",
        )
        .order_by(repair_order_enrichments.c.enriched_at)
    )
    lines: dict = {}
    with scope.engine.connect() as conn:
        for row in conn.execute(query):
            lines[(row.ro_number, row.line_number)] = row._mapping  # the newest prompt version wins
    people = customer_rows(scope, [o["customer_id"] for o in orders.values()])
    for (ro_number, line_number), line in sorted(lines.items()):
        if line["sentiment"] is None or line["sentiment"] > params.max_sentiment:
            continue
        customer_id = orders[ro_number]["customer_id"]
        person = people.get(customer_id, {})
        yield Subject(
            key=f"ro_line:{ro_number}/{line_number}",
            window="once",
            variables={
                "ro_number": ro_number,
                "line_number": line_number,
                "customer": short_name(person.get("first_name"), person.get("last_name")),
                "category": line["category"] or "other",
                "sentiment": round(line["sentiment"], 2),
                "summary": line["summary"] or "",
                "link": ui_link(scope, "enrichment/repair_order_enrichments"),
                "dealership": scope.dealership_name,
            },
            contact=contact_of(people.get(customer_id)),
        )


TEMPLATE = Template(
    name="unhappy_service_customer",
    description="Tell the service manager about a repair-order line with negative sentiment, with the "
    "enrichment's summary.",
    trigger="event",
    trigger_text="repair-order lines enriched (enrichment/repair_order_enrichments materialized)",
    reads=(("core", "repair_orders"), ("enrichment", "repair_order_enrichments")),
    triggered_by=(("enrichment", "repair_order_enrichments"),),
    audience="staff",
    params=UnhappyParams,
    message="Unhappy customer at {{ dealership }}: RO {{ ro_number }} line {{ line_number }} ({{ category }}, "
    "sentiment {{ sentiment }}), {{ customer }}. {{ summary }} {{ link }}",
    email_subject="Unhappy service customer: RO {{ ro_number }}",
    variables=frozenset(
        {"ro_number", "line_number", "customer", "category", "sentiment", "summary", "link", "dealership"}
    ),
    find=find,
)
