"""When automations run: after the runs whose tables they read, at their rooftop-local hour, and
when a deferred message falls due. The file's problems show here too."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import dagster as dg

from assets.automations import AUTOMATIONS, automation_key, runs_with_intake
from auterity_pipelines.automations.config import load_automations
from auterity_pipelines.jobs import automations_job, lead_intake_job
from auterity_pipelines.partitions import DAYS, DEALERSHIPS, partition_key, split_key
from resources.warehouse import Warehouse
from sensors.events import fleet_or_skip
from sensors.materializations import latest_storage_id, materializations_after

PAGE = 300
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _tags(name: str, dealership_id: str) -> dict[str, str]:
    return {"auterity/automation": name, "auterity/dealership": dealership_id}


def _request(name: str, key: str, run_key: str) -> dg.RunRequest:
    dealership_id, _ = split_key(key)
    return dg.RunRequest(
        run_key=run_key,
        asset_selection=[automation_key(name)],
        partition_key=key,
        tags=_tags(name, dealership_id),
    )


def triggered_requests(
    records, automations, log=None, intake_runs: frozenset = frozenset()
) -> list[dg.RunRequest]:
    """A run per automation that reads what a materialization wrote, for its rooftop-day; none for one
    that already ran in the intake run that wrote it."""
    requests = []
    for record in records:
        try:
            dealership_id, _ = split_key(record.partition_key)
        except Exception as exc:  # not a rooftop-day: nothing of ours to run, and nothing else stops
            if log is not None:
                log.warning(
                    f"{record.asset_key.to_user_string()} {record.partition_key!r} passed over: {exc}"
                )
            continue
        for a in automations:
            if record.run_id in intake_runs and runs_with_intake(a):
                continue
            if tuple(record.asset_key.path) in a.template.triggered_by and a.covers(dealership_id):
                requests.append(_request(a.name, record.partition_key, f"{a.name}:{record.storage_id}"))
    return requests


def _intake_runs(instance: dg.DagsterInstance, records) -> frozenset[str]:
    """Which of the records' runs are lead intake runs (their automations ran in them)."""
    ids = list({r.run_id for r in records if r.run_id})
    if not ids:
        return frozenset()
    found = instance.get_run_records(filters=dg.RunsFilter(run_ids=ids, job_name=lead_intake_job.name))
    return frozenset(r.dagster_run.run_id for r in found)


def _in_flight(instance: dg.DagsterInstance, name: str, key: str) -> bool:
    return bool(
        instance.get_run_records(
            filters=dg.RunsFilter(
                statuses=[
                    dg.DagsterRunStatus.QUEUED,
                    dg.DagsterRunStatus.NOT_STARTED,
                    dg.DagsterRunStatus.STARTING,
                    dg.DagsterRunStatus.STARTED,
                ],
                tags={"auterity/automation": name, "dagster/partition": key},
            ),
            limit=1,
        )
    )


@dg.sensor(
    job=automations_job,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs each event-triggered automation after a run wrote what it reads (a lead scored, "
    "lines enriched, deals synced), and any automation whose deferred messages have fallen due.",
)
def automation_triggers(
    context: dg.SensorEvaluationContext, warehouse: Warehouse
) -> dg.SensorResult | dg.SkipReason:
    from resources.channels.ledger import due

    cursor = json.loads(context.cursor) if context.cursor else {}
    event_driven = [a for a in AUTOMATIONS.automations if a.template.trigger == "event" and a.enabled]
    keys = sorted({k for a in event_driven for k in a.template.triggered_by})
    requests: list[dg.RunRequest] = []
    for path in keys:
        name = "/".join(path)
        after = cursor.get(name)
        if after is None:
            # First evaluation: start from now, not from every materialization in history.
            cursor[name] = latest_storage_id(context.instance, dg.AssetKey(list(path)))
            continue
        records = materializations_after(context.instance, dg.AssetKey(list(path)), after, PAGE)
        if records:
            cursor[name] = records[-1].storage_id
        requests += triggered_requests(
            records, event_driven, context.log, _intake_runs(context.instance, records)
        )
    now = dt.datetime.now(dt.UTC)
    known = {a.name for a in AUTOMATIONS.automations}
    minute = now.strftime("%Y%m%d%H%M")
    for row in due(warehouse.engine, now):
        if row["automation"] in known and not _in_flight(
            context.instance, row["automation"], row["partition_key"]
        ):
            requests.append(
                _request(
                    row["automation"],
                    row["partition_key"],
                    f"due:{row['automation']}:{row['partition_key']}:{minute}",
                )
            )
    if not requests:
        return dg.SensorResult(cursor=json.dumps(cursor), skip_reason="nothing new for an automation")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor))


def scheduled_due(
    automation, dealership_id: str, timezone: str, now: dt.datetime
) -> tuple[str, dt.date] | None:
    """(run key, partition day) when a scheduled automation's rooftop-local time has come today."""
    local = now.astimezone(ZoneInfo(timezone))
    hour, minute = map(int, automation.params.at.split(":"))
    if (local.hour, local.minute) < (hour, minute):
        return None
    if automation.template.trigger == "weekly" and WEEKDAYS[local.weekday()] != automation.params.weekday:
        return None
    today = local.date()
    day = today - dt.timedelta(days=1) if automation.template.runs_for == "yesterday" else today
    return f"{automation.name}:{dealership_id}:{today.isoformat()}", day


@dg.sensor(
    job=automations_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs each scheduled automation (nightly reminders, daily and weekly digests) once per "
    "rooftop at its rooftop-local time.",
)
def automation_schedule(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    fleet = fleet_or_skip()
    if isinstance(fleet, dg.SkipReason):
        return fleet
    known = set(context.instance.get_dynamic_partitions(DEALERSHIPS.name))
    first = DAYS.start.date()
    now = dt.datetime.now(dt.UTC)
    requests = []
    for a in AUTOMATIONS.automations:
        if a.template.trigger == "event":
            continue
        for dealership in fleet.dealerships:
            if dealership.id not in known or not a.covers(dealership.id):
                continue
            found = scheduled_due(a, dealership.id, dealership.timezone, now)
            if found and found[1] >= first:
                requests.append(_request(a.name, str(partition_key(dealership.id, found[1])), found[0]))
    if not requests:
        return dg.SkipReason("no scheduled automation is due")
    return dg.SensorResult(run_requests=requests)


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Checks the automations file every minute: each problem is named here (as a sensor error) "
    "until the file is fixed; an automation with a problem does not run, the others do.",
)
def automations_file(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    fleet = fleet_or_skip()
    current = load_automations(fleet=None if isinstance(fleet, dg.SkipReason) else fleet)
    problems = [str(p) for p in current.problems]
    if problems:
        raise ValueError(
            f"{current.path}: {len(problems)} problem(s); automations with one are not running:\n"
            + "\n".join(problems)
        )
    if current.digest != AUTOMATIONS.digest:
        return dg.SkipReason(
            f"{current.path} changed since the code location loaded: reload it (Deployment → Reload) to apply"
        )
    return dg.SkipReason(f"{len(current.automations)} automation(s) valid in {current.path}")
