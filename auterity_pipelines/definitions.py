"""The code location: every asset, job, schedule, sensor and resource, assembled in one place."""

import dagster as dg

from assets.core import conform
from assets.dms import dms_sync
from assets.enrichment import lead_enrichments, repair_order_enrichments
from auterity_pipelines.jobs import dms_sync_job, enrichment_job
from resources.ai import RelayCore
from resources.dms.fleet import dms_fleet_resource
from resources.warehouse import warehouse_resource
from sensors.fleet import fleet_partitions
from sensors.schedules import nightly_dms_sync

defs = dg.Definitions(
    assets=[dms_sync, conform, lead_enrichments, repair_order_enrichments],
    jobs=[dms_sync_job, enrichment_job],
    schedules=[nightly_dms_sync],
    sensors=[fleet_partitions],
    resources={"dms": dms_fleet_resource(), "warehouse": warehouse_resource(), "relaycore": RelayCore()},
)
