"""Every sensor the code location registers, on its first tick in an instance that already has
history: an install where runs came before the daemon's first look (`auterity dev` syncs and
bootstraps as it starts), or a sensor added, renamed or reset on a running deployment."""

import dagster as dg
import pytest

from auterity_pipelines.definitions import defs


@pytest.mark.parametrize("name", sorted(sensor.name for sensor in defs.sensors))
def test_each_sensor_starts_on_an_instance_with_history_and_goes_on_from_its_cursor(
    name, instance, warehouse, tmp_path, monkeypatch
):
    monkeypatch.setenv("AUTERITY_HOME", str(tmp_path))
    keys = defs.resolve_asset_graph().get_all_asset_keys()

    def materialize_every_asset() -> None:
        for key in keys:
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))

    def tick(cursor: str | None):
        context = dg.build_sensor_context(
            instance=instance,
            cursor=cursor,
            resources={**defs.resources, "warehouse": warehouse},
            sensor_name=name,
            definitions=defs,
        )
        # As the daemon evaluates it: dynamic partitions read from the instance; an error raises.
        with dg.partition_loading_context(dynamic_partitions_store=instance):
            return defs.resolve_sensor_def(name).evaluate_tick(context)

    materialize_every_asset()
    first = tick(None)
    materialize_every_asset()
    tick(first.cursor)
