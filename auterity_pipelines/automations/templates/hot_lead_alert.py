"""hot_lead_alert: a lead scored at or above `min_score`, or marked urgent, is told to staff at once."""

from __future__ import annotations

from pydantic import Field

from auterity_pipelines.automations.library import Notify, Params, Scope, Subject, Template
from auterity_pipelines.automations.queries import (
    contacts_of_leads,
    latest,
    partition_rows,
    short_name,
    ui_link,
)
from auterity_pipelines.schema import lead_enrichments, lead_scores, leads


class HotLeadParams(Params):
    notify: Notify
    min_score: float = Field(0.6, ge=0, le=1, description="alert on a conversion score at or above this")
    urgent_at: float = Field(0.8, ge=0, le=1, description="alert on an enrichment urgency at or above this")


def find(scope: Scope, params: HotLeadParams):
    rows = partition_rows(scope, "leads", leads, "lead_id")
    ids = [r["lead_id"] for r in rows]
    scores = latest(scope, lead_scores, ids, "lead_id", "scored_at", lead_scores.c.variant == "champion")
    urgency = latest(
        scope, lead_enrichments, ids, "lead_id", "enriched_at", lead_enrichments.c.status == "ok"
    )
    reach = contacts_of_leads(rows)
    for lead in rows:
        score = scores.get(lead["lead_id"], {}).get("score")
        enrichment = urgency.get(lead["lead_id"], {})
        urgent = (enrichment.get("urgency") or 0) >= params.urgent_at
        if not urgent and (score is None or score < params.min_score):
            continue
        vehicle = " ".join(
            str(v) for v in (lead["vehicle_year"], lead["vehicle_make"], lead["vehicle_model"]) if v
        )
        yield Subject(
            key=f"lead:{lead['lead_id']}",
            window="once",
            variables={
                "lead_id": lead["lead_id"],
                "name": short_name(lead["first_name"], lead["last_name"]),
                "vehicle": vehicle or "a vehicle",
                "source": lead["source"] or "unknown source",
                "score": None if score is None else round(score, 2),
                "why": f"score {score:.2f}" if score is not None and score >= params.min_score else "urgent",
                "summary": enrichment.get("summary") or "",
                "link": ui_link(scope, "ml/lead_scores"),
                "dealership": scope.dealership_name,
            },
            contact=reach[lead["lead_id"]],
        )


TEMPLATE = Template(
    name="hot_lead_alert",
    description="Tell staff about a lead scored at or above min_score, or with high urgency, within a minute.",
    trigger="event",
    trigger_text="a lead scored (ml/lead_scores materialized)",
    reads=(("core", "leads"), ("ml", "lead_scores"), ("enrichment", "lead_enrichments")),
    triggered_by=(("ml", "lead_scores"),),
    audience="staff",
    params=HotLeadParams,
    message="Hot lead at {{ dealership }}: {{ name }}, {{ vehicle }} ({{ source }}, {{ why }}). {{ link }}",
    email_subject="Hot lead: {{ name }}, {{ vehicle }}",
    variables=frozenset(
        {"lead_id", "name", "vehicle", "source", "score", "why", "summary", "link", "dealership"}
    ),
    find=find,
)
