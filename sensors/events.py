"""Events to runs: each event in the inbox starts the run it calls for, keyed by its event id."""

import datetime as dt
import hashlib
import json
import time
from pathlib import Path

import dagster as dg

from assets.intake import local_day
from auterity_pipelines import tracing
from auterity_pipelines.drops import drop_root, extract_days, new_lead_files
from auterity_pipelines.events.routes import EVENT_TAG, Unroutable, route_for
from auterity_pipelines.fleet import Dealership, FleetError, load_fleet
from auterity_pipelines.jobs import dms_history_job, dms_sync_job, file_drop_job, lead_intake_job, sync_tags
from auterity_pipelines.partitions import DAYS, DEALERSHIPS, partition_key
from auterity_pipelines.settings import fleet_path
from resources.warehouse import Warehouse

PAGE = 500  # events per evaluation, well inside the 60 s limit
# On PostgreSQL an insert can commit after a later one, so its seq shows up behind the cursor.
# The cursor remembers the numbers it skipped for this long and looks for them again.
GAP_SECONDS = 300


RETRY_AFTER = dt.timedelta(minutes=10)
GIVE_UP_AFTER = dt.timedelta(days=1)


def next_cursor(cursor: dict, seen: list[int], now: float) -> dict:
    """The cursor after seeing `seen`: the highest seq, and the numbers below it not seen yet."""
    after = cursor.get("after", 0)
    gaps = {
        int(k): t for k, t in cursor.get("gaps", {}).items() if now - t < GAP_SECONDS and int(k) not in seen
    }
    top = max([after, *seen])
    present = set(seen)
    gaps |= {n: now for n in range(after + 1, top) if n not in present}
    return {"after": top, "gaps": {str(k): t for k, t in gaps.items()}}


def fleet_or_skip():
    """The fleet, or why a sensor cannot act now (an unreadable file changes nothing until fixed)."""
    try:
        return load_fleet(fleet_path())
    except FleetError as exc:
        return dg.SkipReason(f"fleet file not usable: {exc}")


def event_day(event: dict, timezone: str) -> dt.date:
    """The rooftop-day an event's run covers.

    A lead belongs to the day it reached us, whatever date its sender wrote; a DMS event to the
    day it happened in the DMS, unless that day has no partition (backdated, or from a wrong
    clock), when it too takes the day it reached us.
    """
    arrived = local_day(event["received_at"], timezone)
    if route_for(event["event_type"]).day == "arrival":
        return arrived
    happened = local_day(event["payload"]["occurred_at"], timezone)
    first = DAYS.start.date()
    return happened if first <= happened <= arrived else arrived


def run_request(event: dict, dealership: Dealership) -> dg.RunRequest:
    """The run the event's route names, for the rooftop-day the event belongs to."""
    route = route_for(event["event_type"])
    if route.job is None:
        raise Unroutable(f"{event['event_type']} starts no run")
    key = partition_key(dealership.id, event_day(event, dealership.timezone))
    # The event's trace goes on through this request into its run (the run's steps read the tag).
    with tracing.span(
        "run request",
        parent=event.get("traceparent"),
        auterity__event_id=event["event_id"],
        auterity__event_type=event["event_type"],
        dagster__job=route.job,
        dagster__partition=str(key),
    ):
        carried = tracing.traceparent()
    tags = {
        EVENT_TAG: event["event_id"],
        "auterity/event-type": event["event_type"],
        **route.tags(dealership, str(key)),
        **({tracing.TRACE_TAG: carried} if carried else {}),
    }
    return dg.RunRequest(run_key=event["event_id"], job_name=route.job, partition_key=key, tags=tags)


@dg.sensor(
    jobs=[lead_intake_job, dms_sync_job],
    minimum_interval_seconds=2,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="One run per event in the events inbox, as the routing table (events/routes.py) says: lead "
    "intake for leads, a rooftop-day sync for DMS events.",
)
def inbox_events(
    context: dg.SensorEvaluationContext, warehouse: Warehouse
) -> dg.SensorResult | dg.SkipReason:
    from resources.events.inbox import mark, pending

    fleet = fleet_or_skip()
    if isinstance(fleet, dg.SkipReason):
        return fleet
    cursor = json.loads(context.cursor) if context.cursor else {}
    events = pending(warehouse, cursor.get("after", 0), [int(k) for k in cursor.get("gaps", {})], PAGE)
    known = set(context.instance.get_dynamic_partitions(DEALERSHIPS.name))
    requests, seen, busy = [], [], {}
    for event in events:
        if event["dealership_id"] not in fleet.ids:
            # Kept in the inbox, marked, and out of the way of the events behind it.
            mark(warehouse, [event["event_id"]], "failed", f"{event['dealership_id']} is not in the fleet")
            seen.append(event["seq"])
            continue
        if event["dealership_id"] not in known:
            # The fleet sensor adds the partition shortly; stop here rather than skip past it.
            context.log.info(f"{event['event_id']}: {event['dealership_id']} is not a partition yet; waiting")
            break
        try:
            request = run_request(event, fleet.get(event["dealership_id"]))
        except Exception as exc:  # one bad row is marked and passed over; the rest still get runs
            reason = f"not routed: {type(exc).__name__}: {exc}"[:500]
            context.log.warning(f"{event['event_id']}: {reason}")
            mark(warehouse, [event["event_id"]], "failed", reason)
            seen.append(event["seq"])
            continue
        if _intake_in_flight(context.instance, request, busy):
            # Its day's next run will take this lead: not seen yet, so the next tick looks again.
            continue
        requests.append(request)
        seen.append(event["seq"])
    requests = batched(requests) + retries(warehouse, fleet, known)
    new_cursor = next_cursor(cursor, seen, time.time()) if seen else cursor
    if not requests:
        reason = (
            "the next event waits for its rooftop's partition or its day's run" if events else "no new event"
        )
        return (
            dg.SkipReason(reason) if new_cursor == cursor else dg.SensorResult(cursor=json.dumps(new_cursor))
        )
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(new_cursor))


def _batched(request: dg.RunRequest) -> bool:
    return route_for(request.tags["auterity/event-type"]).batched


def _intake_in_flight(instance: dg.DagsterInstance, request: dg.RunRequest, busy: dict[str, bool]) -> bool:
    """Whether a batched run of the request's job and rooftop-day waits to start (one query per day and tick).

    Such a run takes every lead of its day that is waiting when it starts, this one included. A
    run that has started has read its batch or is about to: the lead needs the next run, which
    dagster.yaml holds in the queue until the running one ends, gathering leads meanwhile.
    """
    if not _batched(request):
        return False
    day = str(request.partition_key)
    if day not in busy:
        busy[day] = bool(
            instance.get_run_records(
                filters=dg.RunsFilter(
                    job_name=request.job_name,
                    statuses=[
                        dg.DagsterRunStatus.QUEUED,
                        dg.DagsterRunStatus.NOT_STARTED,
                        dg.DagsterRunStatus.STARTING,
                    ],
                    tags={"dagster/partition": day},
                ),
                limit=1,
            )
        )
    return busy[day]


def retries(warehouse: Warehouse, fleet, known: set[str]) -> list[dg.RunRequest]:
    """Runs again for events left unfinished for 10 minutes (their run died with a daemon or a worker).

    Keyed by the event and the 10-minute period, so each is asked for once a period, and for a
    day at most: an event that fails all day stays in the inbox, visible, for a person to look at.
    """
    from resources.events.inbox import stalled

    now = time.time()
    period = int(now // RETRY_AFTER.total_seconds())
    moment = dt.datetime.fromtimestamp(now, dt.UTC)
    requests = []
    for event in stalled(warehouse, (moment - GIVE_UP_AFTER, moment - RETRY_AFTER), PAGE):
        if event["dealership_id"] in known and event["dealership_id"] in fleet.ids:
            try:
                request = run_request(event, fleet.get(event["dealership_id"]))
            except Exception:  # inbox_events marked it failed when it first saw it
                continue
            requests.append(request.with_replaced_attrs(run_key=f"retry:{period}:{event['event_id']}"))
    return requests


def batched(requests: list[dg.RunRequest]) -> list[dg.RunRequest]:
    """One intake run per rooftop-day among leads that arrived together; DMS events keep one run each.

    Dagster starts a process per run, and an intake run takes every lead of its day that is
    waiting, so the leads of one tick need one run. It is keyed by the newest of them: the key
    is still an event's id, used once.
    """
    out: dict[tuple, dg.RunRequest] = {}
    counts: dict[tuple, int] = {}
    for request in requests:
        key = (request.job_name, request.partition_key) if _batched(request) else request.run_key
        counts[key] = counts.get(key, 0) + 1
        out[key] = request  # the newest of the group
    return [
        r.with_replaced_attrs(tags={**r.tags, "auterity/batch-size": str(counts[k])}) if counts[k] > 1 else r
        for k, r in out.items()
    ]


@dg.sensor(
    job=file_drop_job,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Each ADF file dropped under <drop root>/<dealership>/leads/ is taken once it stops changing, "
    "keyed by path, inode, size and time; links and oversized files are set aside unread.",
)
def lead_file_drops(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    fleet = fleet_or_skip()
    if isinstance(fleet, dg.SkipReason):
        return fleet
    root = drop_root()
    files = new_lead_files(root, fleet.ids)[:PAGE]
    if not files:
        return dg.SkipReason(f"no lead file waiting under {root}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f.run_key,
                run_config={
                    "ops": {
                        "take_dropped_file": {
                            "config": {
                                "dealership_id": f.dealership_id,
                                "path": str(f.path),
                                "stamp": f.stamp,
                                "refusal": f.refusal,
                            }
                        }
                    }
                },
                tags={"auterity/dealership": f.dealership_id},
            )
            for f in files
        ]
    )


@dg.sensor(
    jobs=[dms_sync_job, dms_history_job],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Syncs each extract day as soon as its manifest lands; a rewritten manifest syncs the day "
    "again. A day before the daily window syncs its month of history.",
)
def extract_day_drops(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    fleet = fleet_or_skip()
    if isinstance(fleet, dg.SkipReason):
        return fleet
    seen = json.loads(context.cursor) if context.cursor else {}
    known = set(context.instance.get_dynamic_partitions(DEALERSHIPS.name))
    first = DAYS.start.date()
    requests, months = [], {}
    for dealership in fleet.dealerships:
        if dealership.dms.kind != "extract" or dealership.id not in known:
            continue
        for day, digest in extract_days(Path(dealership.dms.path)).items():
            place = f"{dealership.id}/{day}"
            if seen.get(place) == digest:
                continue
            seen[place] = digest
            date = dt.date.fromisoformat(day)
            if date < first:
                months.setdefault((dealership, date.replace(day=1)), []).append(digest)
                continue
            requests.append(
                dg.RunRequest(
                    run_key=f"extract:{place}:{digest[:16]}",
                    job_name=dms_sync_job.name,
                    partition_key=partition_key(dealership.id, date),
                    tags=sync_tags(dealership),
                )
            )
    for (dealership, month), digests in months.items():
        changed = hashlib.sha256("".join(sorted(digests)).encode()).hexdigest()[:16]
        requests.append(
            dg.RunRequest(
                run_key=f"extract-history:{dealership.id}/{month:%Y-%m}:{changed}",
                job_name=dms_history_job.name,
                partition_key=dg.MultiPartitionKey({"dealership": dealership.id, "month": month.isoformat()}),
                tags=sync_tags(dealership),
            )
        )
    if not requests:
        return dg.SkipReason("no new or rewritten extract day")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen))
