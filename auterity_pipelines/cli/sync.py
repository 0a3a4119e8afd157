"""`auterity sync`: DMS sync partitions run headlessly through Dagster, recorded in the instance."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict

import click
from tqdm import tqdm

from auterity_pipelines.fleet import Dealership, Fleet, FleetError, load_fleet
from auterity_pipelines.settings import fleet_path

# The run's own log stays in the instance (the UI shows it); the terminal gets the summary.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def plan(
    fleet: Fleet, ids: tuple[str, ...], date, start, end, now: dt.datetime
) -> list[tuple[Dealership, dt.date]]:
    """The (rooftop, day) partitions a sync command asks for; by default each rooftop's local yesterday."""
    try:
        rooftops = [fleet.get(i) for i in ids] if ids else list(fleet.dealerships)
    except FleetError as exc:
        raise click.BadParameter(str(exc), param_hint="--dealership") from None
    if date and (start or end):
        raise click.UsageError("give --date or --start/--end, not both")
    if bool(start) != bool(end):
        raise click.UsageError("--start and --end go together")
    if start and end < start:
        raise click.UsageError(f"--end {end:%Y-%m-%d} is before --start {start:%Y-%m-%d}")
    if date:
        days = [date.date()]
    elif start:
        days = [start.date() + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    else:
        return [(d, d.last_full_day(now)) for d in rooftops]
    return [(d, day) for d in rooftops for day in days]


def history_months(
    partitions: list[tuple[Dealership, dt.date]], first_day: dt.date
) -> tuple[list[tuple[Dealership, dt.date]], list[tuple[Dealership, dt.date]]]:
    """(days in the daily window, first days of the whole months before it that the rest fall in).

    Days before the window are partitions of `dms/history`, a month each: asking for one of
    them loads its whole month.
    """
    recent = [(d, day) for d, day in partitions if day >= first_day]
    months = dict.fromkeys((d, day.replace(day=1)) for d, day in partitions if day < first_day)
    return recent, list(months)


def failure_reason(result) -> str:
    """Why a run failed, in the words of the step that failed (a Failure's description first)."""
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        data = event.event_specific_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            return data.user_failure_data.description
        if data.error is not None:
            # A step that exhausted its RetryPolicy says "Exceeded max_retries"; the cause is inside.
            error = data.error
            while error.cause is not None:
                error = error.cause
            return error.message.strip().splitlines()[-1]
    return "the run failed; see it in the Dagster UI"


@click.command()
@click.option(
    "--dealership", "ids", multiple=True, help="A rooftop id from the fleet file (repeatable); default all."
)
@click.option("--date", type=click.DateTime(["%Y-%m-%d"]), help="One local day.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First local day of a range.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last local day of a range (inclusive).")
def sync(ids, date, start, end):
    """Run DMS sync partitions through Dagster, then print rows per entity and rooftop."""
    import dagster as dg

    from auterity_pipelines.cli.instance import ensure_partitions, prepare_dagster_home, ready_warehouse
    from auterity_pipelines.definitions import defs
    from auterity_pipelines.jobs import sync_tags
    from auterity_pipelines.partitions import FIRST_DAY, partition_key

    try:
        fleet = load_fleet(fleet_path())
    except FleetError as exc:
        raise click.ClickException(str(exc)) from None
    recent, months = history_months(plan(fleet, ids, date, start, end, dt.datetime.now(dt.UTC)), FIRST_DAY)
    if months:
        click.echo(
            f"days before {FIRST_DAY} are loaded a month at a time (dms/history): {len(months)} rooftop-months"
        )
    daily, history = defs.resolve_job_def("dms_sync_job"), defs.resolve_job_def("dms_history_job")
    partitions = [(d, daily, partition_key(d.id, day), str(day)) for d, day in recent] + [
        (d, history, dg.MultiPartitionKey({"dealership": d.id, "month": m.isoformat()}), f"{m:%Y-%m}")
        for d, m in months
    ]
    instance = prepare_dagster_home()
    ready_warehouse()
    ensure_partitions(instance, fleet)
    started = time.perf_counter()
    table: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    failures = []
    with tqdm(partitions, unit="partition", desc="syncing", disable=None) as bar:
        for dealership, job, key, label in bar:
            bar.set_postfix_str(f"{dealership.id} {label}")
            result = job.execute_in_process(
                instance=instance,
                partition_key=key,
                run_config=QUIET,
                tags=sync_tags(dealership),
                raise_on_error=False,
            )
            if not result.success:
                failures.append(f"{failure_reason(result)} (run {result.run_id})")
            for event in result.get_asset_materialization_events():
                layer, name = event.asset_key.path
                meta = event.materialization.metadata
                if name == "history":
                    row = table[(dealership.id, f"history {label}")]
                    row["raw"] += meta["raw_rows"].value
                    row["contract"] += meta["contract_rows"].value
                else:
                    row = table[(dealership.id, name.removeprefix("raw_"))]
                    row["raw" if layer == "dms" else "contract"] += meta["rows"].value
                row["quarantined"] += meta["quarantined"].value
    if table:
        click.echo(f"\n{'rooftop':<22}{'entity':<22}{'raw rows':>10}{'contract rows':>15}{'quarantined':>13}")
    for (rooftop, entity), row in sorted(table.items()):
        contract = row["contract"] if entity != "appointments" else "-"
        click.echo(f"{rooftop:<22}{entity:<22}{row['raw']:>10}{contract!s:>15}{row['quarantined']:>13}")
    elapsed = time.perf_counter() - started
    click.echo(
        f"\n{len(partitions) - len(failures)} of {len(partitions)} partitions synced in {elapsed:.1f} s"
    )
    for failure in failures:
        click.echo(f"failed: {failure}", err=True)
    if failures:
        raise SystemExit(1)
