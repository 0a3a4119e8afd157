"""Scored inbound leads out to each rooftop's CRM: one signed POST per lead, recorded in the delivery ledger."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import select

from auterity_pipelines import tracing
from auterity_pipelines.automations.decide import MAX_ATTEMPTS
from auterity_pipelines.automations.rules import delivery_key
from auterity_pipelines.fleet import Dealership
from auterity_pipelines.schema import lead_enrichments, lead_scores
from auterity_pipelines.settings import named_secret
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


CRM = "crm"  # the name the lead posts have in the delivery ledger, beside the automations


def crm_key(dealership_id: str, lead_id: str) -> str:
    return delivery_key(CRM, dealership_id, f"lead:{lead_id}", "crm", "once")


def deliver_scored_leads(
    warehouse: Warehouse,
    dealership: Dealership,
    events: list[dict],
    partition_key: str,
    run_id: str,
    run_alive: Callable[[str], bool],
    unscored_reason: str | None = None,
) -> tuple[int, int]:
    """(posted, recorded without a CRM) for the partition's loaded lead events, each posted once.

    Each post is a row in `automation_deliveries`, claimed before it is sent. A claim whose run
    died is posted again: the CRM gets the same `Idempotency-Key` and event id, so it can tell.
    Raises when a post failed (CrmConfigError when no retry can help), after recording it.
    `unscored_reason` says why this run scored nothing (no champion yet), for leads without a score.
    """
    from resources.channels import SendFailed, ledger, post_crm

    now = dt.datetime.now(dt.UTC)
    keys = {crm_key(dealership.id, e["payload"]["source_id"]): e for e in events}
    seen = ledger.existing(warehouse.engine, list(keys))
    if not dealership.crm_webhook_url:
        ledger.record(
            warehouse.engine,
            [_row(dealership, e, k, partition_key, run_id, "suppressed", "no crm_webhook_url in the fleet")
             for k, e in keys.items() if k not in seen],
        )  # fmt: skip
        return 0, len(keys)
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
    posted, failures, final = 0, [], []
    for key, event in keys.items():
        previous = seen.get(key)
        if previous is not None and not _may_post(previous, run_id, run_alive, now):
            continue
        row = _row(dealership, event, key, partition_key, run_id, "sending", None)
        if not ledger.claim(warehouse.engine, row, previous):
            continue
        message = lead_message(warehouse, dealership.id, event, unscored_reason)
        # In the run's trace; a lead batched into another lead's run links to its own trace too.
        with tracing.span(
            "crm post",
            kind=SpanKind.CLIENT,
            links=tracing.link_to(event.get("traceparent")),
            auterity__event_id=event["event_id"],
            auterity__dealership=dealership.id,
        ) as span:
            try:
                sent = post_crm(dealership.crm_webhook_url, secret, dealership.id, message, key)
            except SendFailed as exc:
                ledger.finish(warehouse.engine, key, "failed", exc.reason, exc.retryable, None, exc.attempts)
                (failures if exc.retryable else final).append(f"{event['event_id']}: {exc.reason}")
                span.set_status(Status(StatusCode.ERROR, "not posted"))
                span.set_attribute("auterity.attempts", exc.attempts)
                continue
            span.set_attribute("auterity.attempts", sent.attempts)
        ledger.finish(warehouse.engine, key, "sent", None, False, sent.message_id, sent.attempts)
        posted += 1
    if final:
        raise CrmConfigError(f"{dealership.id}: the CRM refused {len(final)} lead(s): {'; '.join(final[:5])}")
    if failures:
        raise RuntimeError(
            f"{dealership.id}: {len(failures)} lead(s) not posted to the CRM: {'; '.join(failures[:5])}"
        )
    return posted, 0


def _may_post(previous: dict, run_id: str, run_alive: Callable[[str], bool], now: dt.datetime) -> bool:
    """Whether a lead's recorded post may be (re)tried by this run."""
    decision = previous["decision"]
    if decision == "failed":
        return previous["retryable"] and previous["attempts"] < MAX_ATTEMPTS
    if decision == "sending":
        from resources.channels.ledger import orphaned

        return orphaned(previous, run_id, run_alive, STALLED_CLAIM, now)
    return decision == "deferred"


def _row(dealership, event, key, partition_key, run_id, decision, reason) -> dict:
    from resources.channels.ledger import new_row

    subject = f"lead:{event['payload']['source_id']}"
    return new_row(
        key,
        CRM,
        dealership.id,
        subject,
        "crm",
        "once",
        "crm webhook",
        decision,
        reason,
        partition_key,
        run_id,
    )
