"""Freshness: every rooftop in the fleet has synced within the last 26 hours."""

import datetime as dt

import dagster as dg

from assets.dms import RAW_KEYS
from auterity_pipelines.fleet import FleetError, load_fleet
from auterity_pipelines.partitions import split_key
from auterity_pipelines.settings import fleet_path

MAX_AGE = dt.timedelta(hours=26)  # a nightly sync, plus two hours of slack


def stale_rooftops(fleet_ids: list[str], synced: set[str]) -> list[str]:
    return [i for i in fleet_ids if i not in synced]


@dg.asset_check(
    asset=RAW_KEYS["customers"],
    name="every_rooftop_synced_within_26_hours",
    description="Flags each rooftop of the fleet with no sync in the last 26 hours.",
)
def sync_freshness(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    try:
        fleet = load_fleet(fleet_path())
    except FleetError as exc:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN, description=str(exc))
    since = dt.datetime.now(dt.UTC) - MAX_AGE
    synced: set[str] = set()
    cursor = None
    while True:
        page = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=RAW_KEYS["customers"], after_timestamp=since.timestamp()),
            limit=5000,
            cursor=cursor,
        )
        synced |= {split_key(r.partition_key)[0] for r in page.records if r.partition_key}
        if not page.has_more:
            break
        cursor = page.cursor
    stale = stale_rooftops(fleet.ids, synced)
    return dg.AssetCheckResult(
        passed=not stale,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "stale_rooftops": ", ".join(stale) or "none",
            "stale": len(stale),
            "synced_within_26h": len(synced & set(fleet.ids)),
        },
    )


freshness_job = dg.define_asset_job(
    "freshness_job",
    selection=dg.AssetSelection.checks(sync_freshness),
    description="Check that every rooftop synced within 26 hours.",
)
hourly_freshness = dg.ScheduleDefinition(
    name="hourly_freshness_check",
    job=freshness_job,
    cron_schedule="40 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
