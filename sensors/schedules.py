"""The nightly sync: each rooftop's previous local day, once its local midnight has passed."""

import datetime as dt

import dagster as dg

from auterity_pipelines.fleet import Dealership, Fleet, load_fleet
from auterity_pipelines.jobs import dms_sync_job, sync_tags
from auterity_pipelines.partitions import DEALERSHIPS, partition_key
from auterity_pipelines.settings import fleet_path


def nightly_partitions(fleet: Fleet, now: dt.datetime) -> list[tuple[Dealership, dt.date]]:
    """For each rooftop, the local day that ended most recently at `now`."""
    return [(d, d.last_full_day(now)) for d in fleet.dealerships]


# Hourly, so that every time zone's midnight is followed within the hour; a rooftop's
# run key is its day, so the 23 later ticks of that day request nothing new. This holds
# across DST changes, where a local midnight can be 23 or 25 hours after the last.
@dg.schedule(
    job=dms_sync_job,
    cron_schedule="15 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Each rooftop's previous local day, requested in the first hour after its local midnight.",
)
def nightly_dms_sync(context: dg.ScheduleEvaluationContext):
    fleet = load_fleet(fleet_path())
    now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    known = set(context.instance.get_dynamic_partitions(DEALERSHIPS.name))
    requests = []
    for dealership, day in nightly_partitions(fleet, now):
        if dealership.id not in known:
            context.log.warning(
                f"{dealership.id} is not a partition yet; the fleet_partitions sensor adds it"
            )
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"nightly:{dealership.id}:{day.isoformat()}",
                partition_key=partition_key(dealership.id, day),
                tags=sync_tags(dealership),
            )
        )
    return requests or dg.SkipReason("no rooftop in the fleet has a partition yet")


# After the last rooftop's nightly sync: rooftops in the fleet's westernmost zones sync from
# about 08:15 UTC (a Pacific midnight plus the quarter hour), so profiles are rebuilt at 11:00.
nightly_identity = dg.ScheduleDefinition(
    name="nightly_identity",
    job_name="identity_job",
    cron_schedule="0 11 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Rebuild the group's customer and vehicle profiles once the night's syncs are in.",
)
