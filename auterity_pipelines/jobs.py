"""Jobs: what a run does. Schedules, sensors and the CLI decide when."""

import dagster as dg

from auterity_pipelines.fleet import Dealership
from auterity_pipelines.k8s import (
    AI_POD,
    IDENTITY_POD,
    ORCHESTRATOR_POD,
    SCORING_POD,
    SYNC_POD,
    step_executor,
)
from resources.dms.fleet import DmsFleet
from resources.warehouse import Warehouse

# In process: the two steps of a sync run one after the other anyway, and a process per
# step would cost more than most rooftop-days take to load.
dms_sync_job = dg.define_asset_job(
    "dms_sync_job",
    selection=dg.AssetSelection.groups("dms_raw", "core"),
    executor_def=dg.in_process_executor,
    tags=SYNC_POD,
    description="Sync one rooftop-day from its DMS into the raw and contract tables.",
)

dms_history_job = dg.define_asset_job(
    "dms_history_job",
    selection=dg.AssetSelection.groups("dms_history"),
    executor_def=dg.in_process_executor,
    tags=SYNC_POD,
    description="Load one rooftop-month of DMS history from before the daily window.",
)

enrichment_job = dg.define_asset_job(
    "enrichment_job",
    selection=dg.AssetSelection.groups("enrichment"),
    executor_def=dg.in_process_executor,
    tags=AI_POD,
    description="Enrich one rooftop-day's new and changed leads and repair-order lines through RelayCore.",
)


def sync_tags(dealership: Dealership) -> dict[str, str]:
    """Run tags that the instance's concurrency limits key on: syncs per rooftop, per DMS
    endpoint and per DMS kind (dagster.yaml, deploy/dagster.yaml)."""
    return {
        "auterity/dealership": dealership.id,
        "auterity/sync-dealership": dealership.id,
        "auterity/dms-endpoint": dealership.dms.endpoint,
        "auterity/dms-kind": dealership.dms.kind,
    }


_LIVE = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)


def run_is_live(instance: dg.DagsterInstance, run_id: str | None) -> bool:
    """Whether a run may still be doing its work (a claim it holds is not yet abandoned)."""
    run = instance.get_run_by_id(run_id) if run_id else None
    return run is not None and run.status in _LIVE


INTAKE_MAX_RUNTIME_SECONDS = 120  # an intake run takes seconds; one "running" longer lost its worker


def intake_tags(dealership_id: str, partition: str) -> dict[str, str]:
    """Run tags of a lead intake run: dagster.yaml runs one per rooftop-day and two in all at a
    time, and run monitoring ends one whose worker died (a killed daemon leaves it "started")."""
    return {
        "auterity/dealership": dealership_id,
        "auterity/intake-day": partition,
        "dagster/max_runtime_seconds": str(INTAKE_MAX_RUNTIME_SECONDS),
    }


model_training_job = dg.define_asset_job(
    "model_training_job",
    selection=dg.AssetSelection.groups("ml"),
    executor_def=step_executor(),
    tags=ORCHESTRATOR_POD,
    description="Train every NeuroWeaver model, register each as challenger and promote those that win.",
)

lead_scoring_job = dg.define_asset_job(
    "lead_scoring_job",
    selection=dg.AssetSelection.groups("scoring"),
    executor_def=dg.in_process_executor,
    tags=SCORING_POD,
    description="Score one rooftop-day's new leads with the lead conversion champion and challenger.",
)

lead_intake_job = dg.define_asset_job(
    "lead_intake_job",
    selection=dg.AssetSelection.groups("intake")
    | dg.AssetSelection.assets(["enrichment", "lead_enrichments"])
    | dg.AssetSelection.assets(["ml", "lead_scores"]).without_checks()
    # The automations that follow intake (hot-lead alerts, the response watch): see assets/automations.py.
    | dg.AssetSelection.tag("auterity/runs-with", "intake"),
    executor_def=dg.in_process_executor,
    tags=SCORING_POD,
    description="A rooftop-day's inbound leads: loaded, enriched, scored, posted to the rooftop's CRM, and "
    "handed to the automations that follow intake.",
)


# Group `automations`: one asset per automation in the automations file (assets/automations.py).
automations_job = dg.define_asset_job(
    "automations_job",
    selection=dg.AssetSelection.groups("automations"),
    executor_def=dg.in_process_executor,
    description="Run one automation (or several) for a rooftop-day: decide, send, record.",
)

identity_job = dg.define_asset_job(
    "identity_job",
    selection=dg.AssetSelection.groups("identity"),
    executor_def=dg.in_process_executor,
    tags=IDENTITY_POD,
    description="Rebuild the group's customer and vehicle profiles from the contract tables.",
)


class DroppedFileConfig(dg.Config):
    dealership_id: str
    path: str
    stamp: str  # what the sensor saw (inode, size, mtime); the file is read only if it is still that
    refusal: str | None = None  # why the sensor judged it unreadable


@dg.op(
    description="Read a dropped ADF document into the events inbox, then move it to processed/ or failed/."
)
def take_dropped_file(
    context: dg.OpExecutionContext, config: DroppedFileConfig, warehouse: Warehouse
) -> None:
    import os
    from pathlib import Path

    from auterity_pipelines.adf import AdfError, parse_adf
    from auterity_pipelines.drops import FAILED, PROCESSED, DropChanged, DropRefused, read_drop, set_aside
    from resources.events.inbox import lead_events, quarantine, store

    path = Path(config.path)
    if not os.path.lexists(path):  # moved by an earlier attempt of this run
        context.log.info(f"{path} was already taken")
        return
    try:
        if config.refusal:
            raise DropRefused(config.refusal)
        body = read_drop(path, config.stamp)
    except DropChanged as exc:
        context.log.info(str(exc))  # a new stamp makes a new run once it settles
        return
    except DropRefused as exc:
        # Kept with its reason, and nothing of it read: the record is the name, not the content.
        quarantine(
            warehouse, config.dealership_id, "file", f"{path.name} ({config.stamp})", f"refused: {exc}"
        )
        context.log.warning(f"{path}: refused: {exc}")
        set_aside(path, FAILED, f"refused: {exc}")
        return
    try:
        result = parse_adf(body, _timezone_of(config.dealership_id))
    except AdfError as exc:
        quarantine(warehouse, config.dealership_id, "file", body, f"ADF: {exc}")
        context.log.warning(f"{path}: {exc}")
        set_aside(path, FAILED, str(exc))
        return
    events = lead_events(result.leads)
    stored = store(warehouse, config.dealership_id, events, "file")
    for number, reason in result.rejected:
        quarantine(warehouse, config.dealership_id, "file", body, f"ADF prospect {number}: {reason}")
    reasons = "; ".join(f"prospect {n}: {r}" for n, r in result.rejected)
    set_aside(path, PROCESSED if stored else FAILED, reasons or None)
    context.log.info(
        f"{path}: {sum(s.created for s in stored)} new lead events, {len(result.rejected)} rejected"
    )


def _timezone_of(dealership_id: str) -> str | None:
    """The rooftop's time zone, which places a request date written without an offset."""
    from auterity_pipelines.fleet import FleetError, load_fleet
    from auterity_pipelines.settings import fleet_path

    try:
        return load_fleet(fleet_path()).get(dealership_id).timezone
    except FleetError:
        return None


@dg.job(description="Take one dropped lead file into the events inbox.")
def file_drop_job():
    take_dropped_file()


class QuarantineReplayConfig(dg.Config):
    entity: str | None = None  # e.g. "vehicles"; all DMS entities when unset
    dealership_id: str | None = None  # one rooftop; the whole fleet when unset


@dg.op(
    description="Quarantined DMS records through today's rules again: those that pass leave quarantine, "
    "the rest stay with today's reason."
)
def replay_quarantined_records(
    context: dg.OpExecutionContext, config: QuarantineReplayConfig, dms: DmsFleet, warehouse: Warehouse
) -> dg.Output:
    from assets.quarantine import replay_quarantine

    fleet = dms.fleet()
    timezones = {d.id: d.timezone for d in fleet.dealerships}
    if config.dealership_id is not None and config.dealership_id not in timezones:
        raise dg.Failure(f"{config.dealership_id} is not in the fleet")
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        context.log.info(f"{done} quarantined records replayed")

    stats = replay_quarantine(
        warehouse, timezones, context.run_id, config.entity, config.dealership_id, progress
    )
    context.log.info(
        f"released {sum(stats.released.values())}, still quarantined {sum(stats.still.values())}"
    )
    return dg.Output(None, metadata=stats.metadata())


@dg.job(description="Replay quarantined DMS records after a fix.")
def quarantine_replay_job():
    replay_quarantined_records()
