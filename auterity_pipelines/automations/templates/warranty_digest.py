"""warranty_digest: each day, the lines flagged as likely warranty work, in one message."""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import and_, select

from auterity_pipelines.automations.library import Notify, Params, Scope, Subject, Template
from auterity_pipelines.automations.queries import ui_link
from auterity_pipelines.schema import RAW_TABLES, repair_order_enrichments, repair_orders

MAX_ITEMS = 20  # lines named in the message; the count covers all


class WarrantyDigestParams(Params):
    notify: Notify
    at: str = Field(
        "07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="rooftop-local time of the daily run"
    )


def find(scope: Scope, params: WarrantyDigestParams):
    raw, ro, e = RAW_TABLES["repair_orders"], repair_orders, repair_order_enrichments
    query = (
        select(e.c.ro_number, e.c.line_number, e.c.category, e.c.summary)
        .join(ro, and_(ro.c.dealership_id == e.c.dealership_id, ro.c.ro_number == e.c.ro_number))
        .join(raw, and_(raw.c.dealership_id == ro.c.dealership_id, raw.c.source_id == ro.c.source_id))
        .where(
            e.c.dealership_id == scope.dealership_id,
            raw.c.partition_day == scope.day,
            e.c.status == "ok",
            e.c.warranty_likely.is_(True),
        )
        .distinct()
        .order_by(e.c.ro_number, e.c.line_number)
    )
    with scope.engine.connect() as conn:
        items = [dict(r._mapping) for r in conn.execute(query)]
    unique = list({(i["ro_number"], i["line_number"]): i for i in items}.values())
    yield Subject(
        key=f"digest:{scope.day.isoformat()}",
        window=scope.day.isoformat(),
        variables={
            "day": scope.day.isoformat(),
            "count": len(unique),
            "items": unique[:MAX_ITEMS],
            "more": max(0, len(unique) - MAX_ITEMS),
            "link": ui_link(scope, "enrichment/repair_order_enrichments"),
            "dealership": scope.dealership_name,
        },
        cancelled=None if unique else "no line was flagged as likely warranty",
    )


TEMPLATE = Template(
    name="warranty_digest",
    description="Daily: one digest of the repair-order lines flagged as likely warranty work.",
    trigger="daily",
    trigger_text="daily, at `at` rooftop-local time, for the previous local day",
    reads=(("core", "repair_orders"), ("enrichment", "repair_order_enrichments")),
    audience="staff",
    params=WarrantyDigestParams,
    message="{{ dealership }}, {{ day }}: {{ count }} likely warranty line(s).\n"
    "{% for i in items %}RO {{ i.ro_number }}/{{ i.line_number }} {{ i.category }}: {{ i.summary }}\n{% endfor %}"
    "{% if more %}…and {{ more }} more. {% endif %}{{ link }}",
    email_subject="Likely warranty work at {{ dealership }}, {{ day }}",
    variables=frozenset({"day", "count", "items", "more", "link", "dealership"}),
    find=find,
    runs_for="yesterday",
)
