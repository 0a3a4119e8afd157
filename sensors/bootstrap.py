"""The demo's first start: simulator history loaded, then a lead model trained, so the demo scores leads by itself."""

import dagster as dg

from assets.models import champion_key, model_key
from assets.scoring import LEAD_MODEL
from auterity_pipelines.jobs import dms_history_job, model_training_job, sync_tags
from auterity_pipelines.partitions import DEALERSHIPS, FIRST_DAY, window_start
from auterity_pipelines.settings import demo_fleet_in_use
from sensors.events import fleet_or_skip
from sensors.models import champion_version

BOOTSTRAP_TAG = "auterity/bootstrap"
# Months of history before the daily window, per REST rooftop: about 6,700 leads for the two
# demo rooftops, so that the holdout (about 1,300) measures calibration above its noise.
# An extract rooftop's history is only the days dropped in its folder, so it adds nothing.
BOOTSTRAP_MONTHS = 8
_UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def history_partitions(fleet, known: set[str]) -> list[tuple]:
    """(rooftop, first day of month) the demo loads: the months just before the daily window."""
    months = [window_start(FIRST_DAY, n) for n in range(BOOTSTRAP_MONTHS, 0, -1)]
    return [(d, m) for d in fleet.dealerships if d.dms.kind != "extract" and d.id in known for m in months]


@dg.sensor(
    jobs=[dms_history_job, model_training_job],
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="On the bundled demo fleet with no lead model yet: load months of simulator history, then "
    "train and promote the lead conversion model, once.",
)
def demo_bootstrap(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    if not demo_fleet_in_use():
        return dg.SkipReason("only on the bundled demo fleet: a real group loads its own history")
    if champion_version(context.instance) is not None:
        return dg.SkipReason(f"{LEAD_MODEL} has a champion")
    fleet = fleet_or_skip()
    if isinstance(fleet, dg.SkipReason):
        return fleet
    wanted = history_partitions(fleet, set(context.instance.get_dynamic_partitions(DEALERSHIPS.name)))
    if not wanted:
        return dg.SkipReason("waiting for the fleet sensor to add the demo rooftops' partitions")
    loads = context.instance.get_run_records(filters=dg.RunsFilter(tags={BOOTSTRAP_TAG: "history"}))
    if not loads:
        context.log.info(
            f"loading {len(wanted)} rooftop-months of simulator history for the first lead model"
        )
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"bootstrap:history:{dealership.id}:{month:%Y-%m}",
                    job_name=dms_history_job.name,
                    partition_key=dg.MultiPartitionKey(
                        {"dealership": dealership.id, "month": month.isoformat()}
                    ),
                    tags={**sync_tags(dealership), BOOTSTRAP_TAG: "history"},
                )
                for dealership, month in wanted
            ]
        )
    waiting = [r for r in loads if r.dagster_run.status in _UNFINISHED]
    if waiting:
        return dg.SkipReason(f"{len(loads) - len(waiting)} of {len(loads)} history months loaded")
    # Keyed once: a model that fails its checks is not retrained here, but by the weekly schedule
    # and retrain_on_new_outcomes, as any model is.
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key="bootstrap:train",
                job_name=model_training_job.name,
                asset_selection=[model_key(LEAD_MODEL), champion_key(LEAD_MODEL)],
                tags={BOOTSTRAP_TAG: "train"},
            )
        ]
    )
