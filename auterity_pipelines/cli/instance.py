"""The Dagster instance and warehouse that CLI commands run against, prepared for use."""

from __future__ import annotations

import os
import shutil

import click

from auterity_pipelines.fleet import Fleet
from auterity_pipelines.partitions import DEALERSHIPS
from auterity_pipelines.settings import dagster_home, project_file
from resources.warehouse import Warehouse, migrate, warehouse_now


def prepare_dagster_home():
    """DAGSTER_HOME set and holding dagster.yaml, so runs are recorded where the UI reads them."""
    from dagster import DagsterInstance

    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    config = project_file("dagster.yaml")
    if config and not (home / "dagster.yaml").exists():
        shutil.copy(config, home / "dagster.yaml")
    return DagsterInstance.get()


def ready_warehouse() -> Warehouse:
    """The embedded warehouse is migrated on the spot; a server's must be upgraded on purpose."""
    warehouse = warehouse_now()
    if os.environ.get("AUTERITY_WAREHOUSE_URL"):
        try:
            migrate.check(warehouse.engine)
        except migrate.SchemaOutOfDate as exc:
            raise click.ClickException(str(exc)) from None
    else:
        warehouse.upgrade()
    return warehouse


def ensure_partitions(instance, fleet: Fleet) -> list[str]:
    """Add partitions for rooftops the fleet sensor has not added yet; returns those added."""
    missing = [i for i in fleet.ids if not instance.has_dynamic_partition(DEALERSHIPS.name, i)]
    if missing:
        instance.add_dynamic_partitions(DEALERSHIPS.name, missing)
    return missing
