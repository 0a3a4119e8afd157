"""Raw DMS syncs: each rooftop's records changed in a local day, upserted into raw_<entity>."""

import dagster as dg

from assets.sync import RawLoader
from auterity_pipelines.partitions import rooftop_days, split_key
from auterity_pipelines.records import ENTITIES
from resources.dms.extract import ExtractIncomplete
from resources.dms.fleet import DmsFleet
from resources.dms.http import DmsConfigError, DmsError
from resources.dms.window import Window
from resources.warehouse import Warehouse

OWNERS = ["team:data-platform"]
RAW_KEYS = {entity: dg.AssetKey(["dms", f"raw_{entity}"]) for entity in ENTITIES}
# A DMS that failed past its client's own retries (rate limits, 5xx, dropped connections) gets
# the whole step again, later: most outages end within minutes.
DMS_RETRY = dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.FULL)


def pull(client, loader: RawLoader, window: Window, selected: set[str], log) -> None:
    """One rooftop-day's selected entities from the DMS into the raw tables."""
    client.check(window)
    for entity in client.entities:
        wanted = entity in selected or (
            entity == "repair_orders" and client.nests_lines and "repair_order_lines" in selected
        )
        if wanted:
            loader.load(
                entity, client.batches(entity, window), progress=lambda e, n: log.debug(f"{e}: +{n} records")
            )
            log.info(
                f"{entity}: {loader.stats[entity].rows} rows, {loader.stats[entity].quarantined} quarantined"
            )


def open_client(dms: DmsFleet, dealership, where: str):
    """The rooftop's DMS client; a configuration no retry can fix (an unset secret) fails for good."""
    try:
        return dms.client(dealership)
    except DmsConfigError as exc:
        raise dg.Failure(f"{where}: {exc}", allow_retries=False) from exc


@dg.multi_asset(
    name="dms_sync",
    specs=[
        dg.AssetSpec(
            key,
            group_name="dms_raw",
            kinds={"python", "sql"},
            owners=OWNERS,
            skippable=True,
            description=f"DMS {entity.replace('_', ' ')} as received, one row per DMS record, keyed "
            "(dealership_id, source_id); the partition is the rooftop's local day of change.",
        )
        for entity, key in RAW_KEYS.items()
    ],
    partitions_def=rooftop_days,
    can_subset=True,
    pool="dms",
    retry_policy=DMS_RETRY,
)
def dms_sync(context: dg.AssetExecutionContext, dms: DmsFleet, warehouse: Warehouse):
    """Pull one rooftop-day from its DMS into the raw tables."""
    dealership_id, day = split_key(context.partition_key)
    fleet = dms.fleet()
    dealership = fleet.get(dealership_id)
    warehouse.register_fleet(fleet)
    window = Window.local_day(day, dealership.timezone)
    selected = {key.path[-1].removeprefix("raw_") for key in context.selected_asset_keys}
    client = open_client(dms, dealership, f"{dealership_id} {day}")
    loader = RawLoader(
        warehouse, dealership_id, dealership.timezone, window, context.run.run_id, targets=selected
    )
    context.log.info(
        f"{dealership_id} ({dealership.dms.kind}) {day}: window {window.start:%Y-%m-%d %H:%M} to "
        f"{window.end:%Y-%m-%d %H:%M} UTC"
    )
    try:
        pull(client, loader, window, selected, context.log)
    except ExtractIncomplete as exc:
        # An incomplete day will not become complete by retrying now; it waits for the next drop.
        raise dg.Failure(f"{dealership_id} {day}: extract not loaded: {exc}", allow_retries=False) from exc
    except DmsError as exc:
        raise dg.Failure(f"{dealership_id} {day}: {exc}") from exc
    finally:
        client.close()
    retries = ", ".join(f"{cause} ×{n}" for cause, n in getattr(client, "retries", {}).items())
    if retries:
        context.log.warning(f"the DMS needed retries: {retries}")
    for entity in ENTITIES:
        if entity in selected:
            stats = loader.stats.get(entity)
            metadata = {
                "dealership": dealership_id,
                "day": day.isoformat(),
                "dms": dealership.dms.kind,
                "dms_retries": retries or "none",
                **(stats.metadata() if stats else {"rows": 0, "quarantined": 0}),
            }
            yield dg.MaterializeResult(asset_key=RAW_KEYS[entity], metadata=metadata)
