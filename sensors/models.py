"""When NeuroWeaver trains and scores: weekly, when enough new outcomes arrive, and after each lead sync."""

import datetime as dt

import dagster as dg

from assets.core import CORE_KEYS
from assets.models import champion_key, model_key
from assets.scoring import LEAD_MODEL, LEAD_SCORES, UNSCORED
from auterity_pipelines.jobs import lead_scoring_job, model_training_job
from resources.mlflow import NeuroWeaver
from resources.warehouse import Warehouse
from sensors.materializations import materializations_after

SCORING_PAGE = 200  # materializations per evaluation, well inside the 60 s limit

weekly_model_training = dg.ScheduleDefinition(
    name="weekly_model_training",
    job=model_training_job,
    cron_schedule="0 4 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every model retrained on Monday 04:00 UTC; promotion decides whether it ships.",
)


def new_outcomes(labelled_now: int, labelled_at_last_version: int | None) -> int:
    """Labelled outcomes that no registered version has seen."""
    return labelled_now - (labelled_at_last_version or 0)


def _labelled_at_last_version(instance: dg.DagsterInstance, key: dg.AssetKey) -> int | None:
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get("labelled_outcomes")
    return int(value.value) if value is not None else None


@dg.sensor(
    job=model_training_job,
    minimum_interval_seconds=600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Retrain a model once enough labelled outcomes have arrived since its last version.",
)
def retrain_on_new_outcomes(
    context: dg.SensorEvaluationContext, warehouse: Warehouse, neuroweaver: NeuroWeaver
) -> dg.SensorResult | dg.SkipReason:
    from ml.models import MODELS

    now = dt.datetime.now(dt.UTC)
    requests, waiting = [], []
    for name, model in MODELS.items():
        labelled = model.matured_outcomes(warehouse.engine, now)
        fresh = new_outcomes(labelled, _labelled_at_last_version(context.instance, model_key(name)))
        if fresh < neuroweaver.min_new_outcomes:
            waiting.append(f"{name}: {fresh} new of {neuroweaver.min_new_outcomes}")
            continue
        requests.append(
            dg.RunRequest(
                # Keyed on the count: a failed retrain is not retried until more outcomes arrive.
                run_key=f"retrain:{name}:{labelled}",
                asset_selection=[model_key(name), champion_key(name)],
                tags={"auterity/trigger": f"{fresh} new outcomes"},
            )
        )
    if not requests:
        return dg.SkipReason("; ".join(waiting))
    return dg.SensorResult(run_requests=requests)


@dg.sensor(
    job=lead_scoring_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Score each rooftop-day's leads as soon as a sync has loaded them, and the leads an intake "
    "run had to send unscored once a champion can score them.",
)
def score_new_leads(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    champion = champion_version(context.instance)
    if champion is None:
        # The cursor stays put: what arrives before the first champion is scored once there is one.
        return dg.SkipReason(f"{LEAD_MODEL} has no champion yet; materialize ml/{LEAD_MODEL}_champion first")
    after = int(context.cursor) if context.cursor else None
    # Storage ids are the event log's own order, so one cursor serves both keys.
    records = sorted(
        (
            record
            for key in (CORE_KEYS["leads"], LEAD_SCORES)
            for record in materializations_after(context.instance, key, after, SCORING_PAGE)
        ),
        key=lambda record: record.storage_id,
    )[:SCORING_PAGE]
    if not records:
        return dg.SkipReason("no lead sync since the last evaluation")
    requests = [
        dg.RunRequest(run_key=f"score:{record.storage_id}", partition_key=record.partition_key)
        for record in records
        if record.partition_key and _needs_scoring(record, champion)
    ]
    return dg.SensorResult(run_requests=requests, cursor=str(records[-1].storage_id))


def champion_version(instance: dg.DagsterInstance) -> str | None:
    """The lead model's champion as its champion asset last recorded it (no registry call per tick)."""
    event = instance.get_latest_materialization_event(champion_key(LEAD_MODEL))
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get("champion_version")
    return str(value.value) if value is not None and value.value is not None else None


def _needs_scoring(record, champion: str) -> bool:
    """A lead sync always; a lead_scores materialization only if it scored nothing under another champion
    (the same champion failing again would only fail again)."""
    if record.asset_key != LEAD_SCORES:
        return True
    metadata = record.asset_materialization.metadata
    return UNSCORED in metadata and metadata["champion_version"].value != champion
