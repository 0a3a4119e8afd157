"""Keeps the dealership partitions in step with the fleet file: a new rooftop needs no deploy."""

import dagster as dg

from auterity_pipelines.fleet import FleetError, load_fleet
from auterity_pipelines.partitions import DEALERSHIPS
from auterity_pipelines.settings import fleet_path


def partition_changes(fleet_ids: list[str], existing: list[str]) -> tuple[list[str], list[str]]:
    """(to add, to remove) so that the partitions are exactly the fleet's rooftops."""
    return [i for i in fleet_ids if i not in existing], [i for i in existing if i not in fleet_ids]


@dg.sensor(minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def fleet_partitions(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Add a partition per rooftop in the fleet file; remove those no longer in it (their data stays)."""
    try:
        fleet = load_fleet(fleet_path())
    except FleetError as exc:
        return dg.SkipReason(f"fleet file not usable, partitions left as they are: {exc}")
    add, remove = partition_changes(fleet.ids, context.instance.get_dynamic_partitions(DEALERSHIPS.name))
    if not add and not remove:
        return dg.SkipReason(f"partitions match the fleet's {len(fleet.ids)} rooftops")
    requests = []
    if add:
        requests.append(DEALERSHIPS.build_add_request(add))
    if remove:
        requests.append(DEALERSHIPS.build_delete_request(remove))
    context.log.info(f"adding {add or 'none'}, removing {remove or 'none'}")
    return dg.SensorResult(dynamic_partitions_requests=requests)
