"""The code location: every asset, job, schedule, sensor and resource, assembled in one place."""

import dagster as dg

from assets.automations import automation_assets
from assets.dms import dms_sync
from assets.enrichment import lead_enrichments, repair_order_enrichments
from assets.freshness import freshness_job, hourly_freshness, sync_freshness
from assets.history import dms_history
from assets.identity import customer_identity, vehicle_identity
from assets.intake import crm_deliveries, inbound_leads
from assets.models import model_assets
from assets.scoring import lead_scores
from auterity_pipelines.jobs import (
    automations_job,
    dms_history_job,
    dms_sync_job,
    enrichment_job,
    file_drop_job,
    identity_job,
    lead_intake_job,
    lead_scoring_job,
    model_training_job,
    quarantine_replay_job,
)
from resources.ai import RelayCore
from resources.channels import channels_resource
from resources.dms.fleet import dms_fleet_resource
from resources.mlflow import neuroweaver_resource
from resources.warehouse import warehouse_resource
from sensors.alerts import alert_on_run_failure
from sensors.automations import automation_schedule, automation_triggers, automations_file
from sensors.bootstrap import demo_bootstrap
from sensors.enrichment import enrich_synced_repair_orders
from sensors.events import extract_day_drops, inbox_events, lead_file_drops
from sensors.fleet import fleet_partitions
from sensors.models import retrain_on_new_outcomes, score_new_leads, weekly_model_training
from sensors.schedules import nightly_dms_sync, nightly_identity

defs = dg.Definitions(
    assets=[
        dms_sync,
        dms_history,
        lead_enrichments,
        repair_order_enrichments,
        *model_assets,
        lead_scores,
        inbound_leads,
        crm_deliveries,
        customer_identity,
        vehicle_identity,
        *automation_assets,
    ],
    jobs=[
        dms_sync_job,
        dms_history_job,
        enrichment_job,
        model_training_job,
        lead_scoring_job,
        lead_intake_job,
        file_drop_job,
        identity_job,
        freshness_job,
        quarantine_replay_job,
        automations_job,
    ],
    asset_checks=[sync_freshness],
    schedules=[nightly_dms_sync, nightly_identity, weekly_model_training, hourly_freshness],
    sensors=[
        fleet_partitions,
        retrain_on_new_outcomes,
        score_new_leads,
        inbox_events,
        lead_file_drops,
        extract_day_drops,
        alert_on_run_failure,
        demo_bootstrap,
        automation_triggers,
        automation_schedule,
        automations_file,
        enrich_synced_repair_orders,
    ],
    resources={
        "dms": dms_fleet_resource(),
        "warehouse": warehouse_resource(),
        "relaycore": RelayCore(),
        "neuroweaver": neuroweaver_resource(),
        "channels": channels_resource(),
    },
)
