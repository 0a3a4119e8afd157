"""`auterity leads`: recent leads with their score, the model that gave it, and whether the CRM has them."""

from __future__ import annotations

import datetime as dt
import json

import click

# What a lead's CRM delivery row says, in words; a lead with none is still with its intake run.
CRM_STATUS = {
    "sent": "posted",
    "sending": "being posted",
    "suppressed": "not posted",
    "failed": "failed",
}
WAITING = {"received": "waiting for its run", "done": "waiting to be posted", "failed": "not taken"}


def recent_leads(warehouse, dealership_id: str | None, day: dt.date | None, limit: int) -> list[dict]:
    """The newest leads (of a rooftop's local day, if given), each with its latest score and CRM status."""
    from sqlalchemy import and_, func, select

    from auterity_pipelines.schema import automation_deliveries, dealerships, events_inbox, lead_scores, leads
    from resources.events.crm import crm_key
    from resources.events.inbox import event_id_for

    newest = (
        select(
            lead_scores.c.dealership_id,
            lead_scores.c.lead_id,
            func.max(lead_scores.c.scored_at).label("scored_at"),
        )
        .group_by(lead_scores.c.dealership_id, lead_scores.c.lead_id)
        .subquery()
    )
    score = lead_scores.join(
        newest,
        and_(
            lead_scores.c.dealership_id == newest.c.dealership_id,
            lead_scores.c.lead_id == newest.c.lead_id,
            lead_scores.c.scored_at == newest.c.scored_at,
        ),
    )
    scores = (
        select(
            lead_scores.c.dealership_id,
            lead_scores.c.lead_id,
            lead_scores.c.score,
            lead_scores.c.model_version,
            lead_scores.c.variant,
        )
        .select_from(score)
        .subquery()
    )
    query = (
        select(
            leads.c.dealership_id,
            leads.c.lead_id,
            leads.c.source,
            leads.c.received_at,
            scores.c.score,
            scores.c.model_version,
            scores.c.variant,
            dealerships.c.timezone,
        )
        .select_from(
            leads.outerjoin(
                scores,
                and_(scores.c.dealership_id == leads.c.dealership_id, scores.c.lead_id == leads.c.lead_id),
            ).outerjoin(dealerships, dealerships.c.dealership_id == leads.c.dealership_id)
        )
        .order_by(leads.c.received_at.desc(), leads.c.lead_id)
    )
    if dealership_id:
        query = query.where(leads.c.dealership_id == dealership_id)
    if day is not None:  # a day wide enough for every time zone; each rooftop's own is kept below
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        query = query.where(
            leads.c.received_at >= start - dt.timedelta(days=1),
            leads.c.received_at < start + dt.timedelta(days=2),
        )
    with warehouse.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query if day else query.limit(limit))]
        if day is not None:
            rows = [r for r in rows if _local_day(r["received_at"], r["timezone"]) == day][:limit]
        ids = {event_id_for(r["dealership_id"], f"lead:{r['lead_id']}"): r for r in rows}
        events = conn.execute(
            select(events_inbox.c.event_id, events_inbox.c.status, events_inbox.c.error).where(
                events_inbox.c.event_id.in_(list(ids))
            )
        ).all()
        keys = {crm_key(r["dealership_id"], r["lead_id"]): event_id for event_id, r in ids.items()}
        posts = conn.execute(
            select(automation_deliveries.c.delivery_key, automation_deliveries.c.decision, automation_deliveries.c.reason)
            .where(automation_deliveries.c.delivery_key.in_(list(keys)))
        ).all()  # fmt: skip
    crm = {event_id: (WAITING.get(status, status), error) for event_id, status, error in events}
    crm |= {keys[key]: (CRM_STATUS.get(decision, decision), reason) for key, decision, reason in posts}
    out = []
    for event_id, row in ids.items():
        status, error = crm.get(event_id, ("synced from the DMS", None))
        out.append(
            {
                "dealership_id": row["dealership_id"],
                "lead_id": row["lead_id"],
                "source": row["source"],
                "received_at": _utc(row["received_at"]).isoformat(),
                "score": round(float(row["score"]), 4) if row["score"] is not None else None,
                "model_version": row["model_version"],
                "variant": row["variant"] or "unscored",
                "crm": f"{status}: {error}" if error else status,
            }
        )
    return out


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _local_day(moment: dt.datetime, timezone: str | None) -> dt.date:
    from zoneinfo import ZoneInfo

    return _utc(moment).astimezone(ZoneInfo(timezone or "UTC")).date()


@click.command("leads")
@click.option("--dealership", "dealership_id", default=None, help="One rooftop's leads; default all.")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Leads received on this local day.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per lead instead of a table.")
def leads(dealership_id: str | None, day: dt.datetime | None, limit: int, as_json: bool):
    """Recent leads: score, model version, variant (champion, challenger or unscored) and CRM delivery."""
    from auterity_pipelines.cli.instance import ready_warehouse
    from auterity_pipelines.fleet import FleetError, load_fleet
    from auterity_pipelines.settings import fleet_path

    if dealership_id:
        try:
            load_fleet(fleet_path()).get(dealership_id)
        except FleetError as exc:
            raise click.BadParameter(str(exc), param_hint="--dealership") from None
    found = recent_leads(ready_warehouse(), dealership_id, day.date() if day else None, limit)
    if as_json:
        for row in found:
            click.echo(json.dumps(row))
        return
    if not found:
        click.echo("no lead yet", err=True)
        return
    click.echo(
        f"{'received (UTC)':<21}{'rooftop':<17}{'lead':<28}{'score':>7}  {'model':<7}{'variant':<12}crm"
    )
    for row in found:
        score = f"{row['score']:.3f}" if row["score"] is not None else "-"
        click.echo(
            f"{row['received_at'][:19]:<21}{row['dealership_id'][:16]:<17}{row['lead_id'][:27]:<28}{score:>7}  "
            f"{row['model_version'] or '-':<7}{row['variant']:<12}{row['crm']}"
        )
