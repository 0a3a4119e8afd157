"""Jobs: what a run does. Schedules, sensors and the CLI decide when."""

import dagster as dg

# In process: the two steps of a sync run one after the other anyway, and a process per
# step would cost more than most rooftop-days take to load.
dms_sync_job = dg.define_asset_job(
    "dms_sync_job",
    selection=dg.AssetSelection.groups("dms_raw", "core"),
    executor_def=dg.in_process_executor,
    description="Sync one rooftop-day from its DMS into the raw and contract tables.",
)

enrichment_job = dg.define_asset_job(
    "enrichment_job",
    selection=dg.AssetSelection.groups("enrichment"),
    executor_def=dg.in_process_executor,
    description="Enrich one rooftop-day's new and changed leads and repair-order lines through RelayCore.",
)


def sync_tags(dealership_id: str, dms_endpoint: str) -> dict[str, str]:
    """Run tags that dagster.yaml's concurrency limits key on (runs per DMS endpoint)."""
    return {"auterity/dealership": dealership_id, "auterity/dms-endpoint": dms_endpoint}


model_training_job = dg.define_asset_job(
    "model_training_job",
    selection=dg.AssetSelection.groups("ml"),
    description="Train every NeuroWeaver model, register each as challenger and promote those that win.",
)

lead_scoring_job = dg.define_asset_job(
    "lead_scoring_job",
    selection=dg.AssetSelection.groups("scoring"),
    executor_def=dg.in_process_executor,
    description="Score one rooftop-day's new leads with the lead conversion champion and challenger.",
)

lead_intake_job = dg.define_asset_job(
    "lead_intake_job",
    selection=dg.AssetSelection.groups("intake")
    | dg.AssetSelection.assets(["enrichment", "lead_enrichments"], ["ml", "lead_scores"]),
    executor_def=dg.in_process_executor,
    description="A rooftop-day's inbound leads: loaded, enriched, scored and posted to the rooftop's CRM.",
)
