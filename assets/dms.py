"""DMS syncs: each rooftop's records changed in a local day, into raw_<entity> and the contract tables."""

import dagster as dg

from assets.core import CORE_KEYS, DESCRIPTIONS, contract_day
from assets.extract_load import load_extract_day
from assets.quality import PartitionRows, check_specs, evaluate
from assets.sync import LoadStats, RawLoader
from auterity_pipelines.conform import CONFORMERS
from auterity_pipelines.events.routes import EVENT_TAG
from auterity_pipelines.partitions import rooftop_days, split_key
from auterity_pipelines.records import ENTITIES
from auterity_pipelines.tracing import traced
from resources.dms.extract import ExtractIncomplete, ExtractReader
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


def _raw_spec(entity: str, key: dg.AssetKey) -> dg.AssetSpec:
    return dg.AssetSpec(
        key,
        group_name="dms_raw",
        kinds={"python", "sql"},
        owners=OWNERS,
        skippable=True,
        description=f"DMS {entity.replace('_', ' ')} as received, one row per DMS record, keyed "
        "(dealership_id, source_id); the partition is the rooftop's local day of change.",
    )


def _core_spec(entity: str, key: dg.AssetKey) -> dg.AssetSpec:
    return dg.AssetSpec(
        key,
        deps=[RAW_KEYS[entity]],
        group_name="core",
        kinds={"python", "sql"},
        owners=OWNERS,
        skippable=True,
        description=DESCRIPTIONS[entity] + " Records that cannot conform go to quarantine.",
    )


@dg.multi_asset(
    name="dms_sync",
    specs=[
        *(_raw_spec(entity, key) for entity, key in RAW_KEYS.items()),
        *(_core_spec(entity, key) for entity, key in CORE_KEYS.items()),
    ],
    check_specs=check_specs({CONFORMERS[entity][0]: key for entity, key in CORE_KEYS.items()}),
    partitions_def=rooftop_days,
    can_subset=True,
    pool="dms",
    retry_policy=DMS_RETRY,
)
@traced
def dms_sync(context: dg.AssetExecutionContext, dms: DmsFleet, warehouse: Warehouse):
    """Pull one rooftop-day from its DMS into the raw tables and conform it into the contract
    tables in the same pass; then check each contract table's day."""
    dealership_id, day = split_key(context.partition_key)
    fleet = dms.fleet()
    dealership = fleet.get(dealership_id)
    warehouse.register_fleet(fleet)
    selected = context.selected_asset_keys
    raw = {entity for entity, key in RAW_KEYS.items() if key in selected}
    core = [entity for entity, key in CORE_KEYS.items() if key in selected]
    checked = PartitionRows(dealership_id)
    conformed: dict[str, LoadStats] = {}
    if raw:
        conformed = yield from _load(context, dms, warehouse, dealership, day, raw, set(core), checked)
    for entity in core:
        key, table = CORE_KEYS[entity], CONFORMERS[entity][0]
        stats = contract_day(warehouse, entity, dealership_id, dealership.timezone, day, conformed, checked)
        context.log.info(
            f"{entity}: {stats.rows} rows, {stats.quarantined} quarantined, {stats.released} released"
        )
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "dealership": dealership_id,
                "day": day.isoformat(),
                "released_from_quarantine": stats.released,
                **stats.metadata(),
            },
        )
        checks = {k.name for k in context.selected_asset_check_keys if k.asset_key == key}
        if checks:
            rows = checked.rows(table)
            yield from evaluate(warehouse, key, table, rows, dealership_id, day, context.run.run_id, checks)
        checked.discard(table)  # a table's rows are checked: let them go
    # The run says its event is done, not a sensor: the sync the event asked for has loaded its day.
    event_id = context.run.tags.get(EVENT_TAG)
    if event_id and core:
        from resources.events.inbox import mark

        mark(warehouse, [event_id], "done")


def load_day(client, warehouse: Warehouse, dealership, window: Window, run_id: str, raw, core, checked, log):
    """One rooftop-day from its DMS into the raw tables: an extract in one pass that conforms the
    `core` entities too, a REST API per record. Returns raw and contract statistics by entity."""
    if isinstance(client, ExtractReader):
        return load_extract_day(
            warehouse, client, dealership.id, dealership.timezone, window, run_id, raw, core, checked, log
        )
    loader = RawLoader(warehouse, dealership.id, dealership.timezone, window, run_id, targets=raw)
    pull(client, loader, window, raw, log)
    return loader.stats, {}


def _load(context, dms: DmsFleet, warehouse: Warehouse, dealership, day, raw: set, core: set, checked):
    """The raw load (and, for an extract, the conform too); yields the raw materializations and
    returns the contract statistics of what it conformed."""
    window = Window.local_day(day, dealership.timezone)
    client = open_client(dms, dealership, f"{dealership.id} {day}")
    run_id = context.run.run_id
    context.log.info(
        f"{dealership.id} ({dealership.dms.kind}) {day}: window {window.start:%Y-%m-%d %H:%M} to "
        f"{window.end:%Y-%m-%d %H:%M} UTC"
    )
    try:
        loaded, conformed = load_day(
            client, warehouse, dealership, window, run_id, raw, core, checked, context.log
        )
    except ExtractIncomplete as exc:
        # An incomplete day will not become complete by retrying now; it waits for the next drop.
        raise dg.Failure(f"{dealership.id} {day}: extract not loaded: {exc}", allow_retries=False) from exc
    except DmsError as exc:
        raise dg.Failure(f"{dealership.id} {day}: {exc}") from exc
    finally:
        client.close()
    retries = ", ".join(f"{cause} ×{n}" for cause, n in getattr(client, "retries", {}).items())
    if retries:
        context.log.warning(f"the DMS needed retries: {retries}")
    for entity in ENTITIES:
        if entity in raw:
            stats = loaded.get(entity)
            metadata = {
                "dealership": dealership.id,
                "day": day.isoformat(),
                "dms": dealership.dms.kind,
                "dms_retries": retries or "none",
                **(stats.metadata() if stats else {"rows": 0, "quarantined": 0}),
            }
            yield dg.MaterializeResult(asset_key=RAW_KEYS[entity], metadata=metadata)
    return conformed
