"""lead_response_watch: a lead nobody has answered after `minutes` is raised with staff."""

from __future__ import annotations

import datetime as dt

from pydantic import Field
from sqlalchemy import select

from auterity_pipelines.automations.library import Notify, Params, Scope, Subject, Template
from auterity_pipelines.automations.queries import contacts_of_leads, partition_rows, short_name, ui_link
from auterity_pipelines.events.schemas import LEAD_RESPONDED
from auterity_pipelines.records import as_utc
from auterity_pipelines.schema import events_inbox, leads


class LeadResponseParams(Params):
    notify: Notify
    minutes: int = Field(15, ge=1, le=24 * 60, description="minutes a lead may wait for its first response")
    max_age_hours: int = Field(
        24, ge=1, le=24 * 14, description="leads older than this are not chased (a backfill of old days)"
    )


def first_responses(scope: Scope, lead_ids: list[str]) -> dict[str, dt.datetime]:
    """When each lead was first answered, from the `lead.responded` events its CRM posted."""
    query = select(events_inbox.c.payload, events_inbox.c.received_at).where(
        events_inbox.c.dealership_id == scope.dealership_id, events_inbox.c.event_type == LEAD_RESPONDED
    )
    wanted, found = set(lead_ids), {}
    with scope.engine.connect() as conn:
        for payload, received_at in conn.execute(query):
            data = payload.get("data") if isinstance(payload, dict) else None
            if isinstance(data, dict) and data.get("lead_id") in wanted:
                at = _when(data.get("responded_at"), as_utc(received_at))
                found[data["lead_id"]] = min(found.get(data["lead_id"], at), at)
    return found


def _when(responded_at, received_at: dt.datetime) -> dt.datetime:
    """The time a response states, or when its event reached us if the stated one cannot be read."""
    try:
        return as_utc(dt.datetime.fromisoformat(responded_at))
    except (TypeError, ValueError):
        return received_at


def find(scope: Scope, params: LeadResponseParams):
    rows = partition_rows(scope, "leads", leads, "lead_id")
    answered = first_responses(scope, [r["lead_id"] for r in rows])
    reach = contacts_of_leads(rows)
    for lead in rows:
        received = as_utc(lead["received_at"])
        due = received + dt.timedelta(minutes=params.minutes)
        cancelled = None
        if lead["lead_id"] in answered and answered[lead["lead_id"]] <= due:
            cancelled = f"answered at {answered[lead['lead_id']]:%Y-%m-%d %H:%M} UTC"
        elif scope.now - received > dt.timedelta(hours=params.max_age_hours):
            cancelled = f"received {received:%Y-%m-%d %H:%M} UTC, older than {params.max_age_hours} h"
        yield Subject(
            key=f"lead:{lead['lead_id']}",
            window="once",
            variables={
                "lead_id": lead["lead_id"],
                "name": short_name(lead["first_name"], lead["last_name"]),
                "minutes": params.minutes,
                "received_at": f"{received:%H:%M} UTC",
                "link": ui_link(scope, "events/inbound_leads"),
                "dealership": scope.dealership_name,
            },
            contact=reach[lead["lead_id"]],
            not_before=due,
            cancelled=cancelled,
        )


TEMPLATE = Template(
    name="lead_response_watch",
    description="Tell staff about a lead with no first response after `minutes` (responses arrive as "
    "lead.responded events from the CRM).",
    trigger="event",
    trigger_text="a lead arrived (events/inbound_leads materialized); acts once `minutes` have passed",
    reads=(("events", "inbound_leads"), ("core", "leads")),
    triggered_by=(("events", "inbound_leads"),),
    audience="staff",
    params=LeadResponseParams,
    message="{{ name }}'s lead at {{ dealership }} has waited {{ minutes }} minutes for an answer "
    "(in at {{ received_at }}). {{ link }}",
    email_subject="Unanswered lead: {{ name }}",
    variables=frozenset({"lead_id", "name", "minutes", "received_at", "link", "dealership"}),
    find=find,
)
