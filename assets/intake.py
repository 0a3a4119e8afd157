"""Lead intake: leads that arrived as events, into the lead tables, and back out to the CRM once scored."""

import datetime as dt

import dagster as dg

from assets.dms import OWNERS
from assets.sync import RawLoader, conform_partition
from auterity_pipelines.jobs import run_is_live
from auterity_pipelines.partitions import rooftop_days, split_key
from auterity_pipelines.tracing import traced
from resources.dms.fleet import DmsFleet
from resources.dms.window import Window
from resources.warehouse import Warehouse

INBOUND_LEADS = dg.AssetKey(["events", "inbound_leads"])
CRM_DELIVERIES = dg.AssetKey(["events", "crm_deliveries"])
KINDS = {"python", "sql"}


def local_day(moment: dt.datetime | str, timezone: str) -> dt.date:
    """The rooftop's calendar day of a moment (naive ones, as SQLite returns them, are UTC)."""
    from zoneinfo import ZoneInfo

    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(ZoneInfo(timezone)).date()


def leads_of_day(
    warehouse: Warehouse, dealership_id: str, timezone: str, day: dt.date, status: str
) -> list[dict]:
    """The rooftop's lead events in `status` that reached us on its local `day` (sensors/events.py)."""
    from resources.events.inbox import pending_of

    start = dt.datetime.combine(day, dt.time(), dt.UTC)  # a UTC span wide enough for every time zone
    between = (start - dt.timedelta(days=1), start + dt.timedelta(days=2))
    return [
        e
        for e in pending_of(warehouse, dealership_id, "lead.received", status, between)
        if local_day(e["received_at"], timezone) == day
    ]


@dg.asset(
    key=INBOUND_LEADS,
    partitions_def=rooftop_days,
    group_name="intake",
    kinds=KINDS,
    owners=OWNERS,
    description="Leads posted as ADF (webhook, file drop, RabbitMQ), loaded into raw_leads and leads for their day.",
    retry_policy=dg.RetryPolicy(
        max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.FULL
    ),
)
@traced
def inbound_leads(
    context: dg.AssetExecutionContext, dms: DmsFleet, warehouse: Warehouse
) -> dg.MaterializeResult:
    from resources.events.inbox import mark

    dealership_id, day = split_key(context.partition_key)
    timezone = dms.fleet().get(dealership_id).timezone
    events = leads_of_day(warehouse, dealership_id, timezone, day, "received")
    loader = RawLoader(
        warehouse, dealership_id, timezone, Window.local_day(day, timezone), context.run.run_id, ["leads"]
    )
    loader.load("leads", [[e["payload"] for e in events]])
    stats = conform_partition(warehouse, "leads", dealership_id, timezone, day)
    mark(warehouse, [e["event_id"] for e in events], "done")  # the run's own work: the lead is in
    context.log.info(f"{dealership_id} {day}: {len(events)} lead events loaded")
    return dg.MaterializeResult(
        metadata={
            "dealership": dealership_id,
            "day": day.isoformat(),
            "events": len(events),
            "leads": [e["payload"]["source_id"] for e in events][:50],
            **stats.metadata(),
        }
    )


@dg.asset(
    key=CRM_DELIVERIES,
    deps=[INBOUND_LEADS, dg.AssetKey(["ml", "lead_scores"])],
    partitions_def=rooftop_days,
    group_name="intake",
    kinds={"python", "webhook"},
    owners=OWNERS,
    description="Each inbound lead, with its enrichment and score, posted once to the rooftop's CRM (signed).",
    retry_policy=dg.RetryPolicy(
        max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.FULL
    ),
)
@traced
def crm_deliveries(
    context: dg.AssetExecutionContext, dms: DmsFleet, warehouse: Warehouse
) -> dg.MaterializeResult:
    from assets.scoring import LEAD_SCORES, UNSCORED
    from resources.events.crm import CrmConfigError, deliver_scored_leads

    dealership_id, day = split_key(context.partition_key)
    dealership = dms.fleet().get(dealership_id)
    scored = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=LEAD_SCORES, asset_partitions=[context.partition_key]),
        limit=1,
        ascending=False,
    ).records
    latest = scored[0].asset_materialization.metadata if scored else {}
    unscored = latest[UNSCORED].value if UNSCORED in latest else None
    events = leads_of_day(warehouse, dealership_id, dealership.timezone, day, "done")
    try:
        delivered, skipped = deliver_scored_leads(
            warehouse,
            dealership,
            events,
            str(context.partition_key),
            context.run.run_id,
            lambda run_id: run_is_live(context.instance, run_id),
            unscored,
        )
    except CrmConfigError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    context.log.info(
        f"{dealership_id} {day}: {delivered} leads posted to the CRM{' unscored' if unscored else ''}, "
        f"{skipped} recorded without a CRM URL"
    )
    return dg.MaterializeResult(
        metadata={
            "delivered": delivered,
            "no_crm_configured": skipped,
            **({UNSCORED: unscored} if unscored else {}),
        }
    )
