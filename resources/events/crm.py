"""Scored inbound leads out to each rooftop's CRM: one signed POST per lead, never two."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import httpx
from sqlalchemy import select

from auterity_pipelines.events.signing import headers
from auterity_pipelines.fleet import Dealership
from auterity_pipelines.schema import lead_enrichments, lead_scores
from auterity_pipelines.settings import named_secret
from resources.events.inbox import claim, mark, pending_of, release_stalled_claims
from resources.warehouse import Warehouse

STALLED_CLAIM = dt.timedelta(minutes=10)


class CrmConfigError(RuntimeError):
    """The CRM cannot be posted to as configured (no signing secret): no retry fixes it."""


ENRICHMENT_FIELDS = ("intent", "urgency", "urgency_reason", "contact_channel", "summary")


def lead_message(
    warehouse: Warehouse, dealership_id: str, event: dict, unscored_reason: str | None = None
) -> dict:
    """What the CRM receives: the lead as it arrived, its latest enrichment and its latest score (or why
    it has none: it is sent unscored rather than held back)."""
    lead_id = event["payload"]["source_id"]
    with warehouse.engine.connect() as conn:
        score = conn.execute(
            select(lead_scores)
            .where(lead_scores.c.dealership_id == dealership_id, lead_scores.c.lead_id == lead_id)
            .order_by(lead_scores.c.scored_at.desc())
        ).first()
        enrichment = conn.execute(
            select(lead_enrichments)
            .where(
                lead_enrichments.c.dealership_id == dealership_id,
                lead_enrichments.c.lead_id == lead_id,
                lead_enrichments.c.status == "ok",
            )
            .order_by(lead_enrichments.c.enriched_at.desc())
        ).first()
    return {
        "event_id": event["event_id"],
        "dealership_id": dealership_id,
        "lead": event["payload"],
        "enrichment": {k: enrichment._mapping[k] for k in ENRICHMENT_FIELDS} if enrichment else None,
        "score": {k: score._mapping[k] for k in ("score", "model_name", "model_version", "variant")}
        if score
        else None,
        **({} if score else {"unscored_reason": unscored_reason or "no score was recorded for this lead"}),
    }


def deliver_scored_leads(
    warehouse: Warehouse,
    dealership: Dealership,
    in_partition: Callable[[dict], bool],
    unscored_reason: str | None = None,
) -> tuple[int, int]:
    """(posted, closed without a CRM) for the partition's loaded lead events; raises if the CRM refuses.

    `unscored_reason` says why this run scored nothing (no champion yet), for leads without a score.
    """
    # A run that died between claiming and posting left its claims; after a while they are free again.
    release_stalled_claims(warehouse, dealership.id, dt.datetime.now(dt.UTC) - STALLED_CLAIM)
    events = [e for e in pending_of(warehouse, dealership.id, "lead.received", "loaded") if in_partition(e)]
    if not dealership.crm_webhook_url:
        mark(warehouse, [e["event_id"] for e in events], "done")
        return 0, len(events)
    secret = named_secret(dealership.webhook_secret_env or "")
    if not secret:
        raise CrmConfigError(
            f"{dealership.id}: crm_webhook_url is set but "
            + (
                f"{dealership.webhook_secret_env} is not set"
                if dealership.webhook_secret_env
                else "no webhook_secret_env"
            )
        )
    posted = 0
    by_id = {e["event_id"]: e for e in events}
    # Claimed first: a second run for the same day finds them taken and posts nothing.
    for event_id in claim(warehouse, list(by_id), "loaded", "notifying"):
        message = lead_message(warehouse, dealership.id, by_id[event_id], unscored_reason)
        body = json.dumps(message, default=str).encode()
        try:
            response = httpx.post(
                dealership.crm_webhook_url,
                content=body,
                headers={**headers(secret, body, dealership.id), "Content-Type": "application/json"},
                timeout=10,
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            claim(warehouse, [event_id], "notifying", "loaded")  # the retry posts it again
            raise RuntimeError(f"{dealership.id}: the CRM refused lead event {event_id}: {exc}") from exc
        mark(warehouse, [event_id], "notified")
        posted += 1
    return posted, 0
