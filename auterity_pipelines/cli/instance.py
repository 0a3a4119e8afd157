"""The Dagster instance and warehouse that CLI commands run against, prepared for use."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import click

from auterity_pipelines.fleet import Fleet
from auterity_pipelines.partitions import DEALERSHIPS
from auterity_pipelines.settings import dagster_home, project_file
from resources.warehouse import Warehouse, migrate, warehouse_now

PRODUCTION_INSTANCE_ENV = "DAGSTER_POSTGRES_URL"
INSTANCE_FILES = {"embedded": "dagster.yaml", "production": "deploy/dagster.yaml"}


def instance_file() -> Path | None:
    """The project's instance config: production (PostgreSQL) when DAGSTER_POSTGRES_URL is set."""
    kind = "production" if os.environ.get(PRODUCTION_INSTANCE_ENV) else "embedded"
    return project_file(INSTANCE_FILES[kind])


def dagster_postgres_url(url: str) -> str:
    """The URL with psycopg2 as its driver. dagster-postgres sends NOTIFY with a bound parameter,
    which psycopg 3 (SQLAlchemy 2.1's default for postgresql://) cannot send."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql+psycopg2://{rest}" if sep and scheme in ("postgres", "postgresql") else url


def prepare_dagster_home():
    """DAGSTER_HOME set and holding dagster.yaml, so runs are recorded where the UI reads them.

    A dagster.yaml that is a copy of either of the project's is replaced by the one the
    environment asks for; one edited by hand is left alone.
    """
    from dagster import DagsterInstance

    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    if os.environ.get(PRODUCTION_INSTANCE_ENV):  # the daemon and webserver we start inherit it
        os.environ[PRODUCTION_INSTANCE_ENV] = dagster_postgres_url(os.environ[PRODUCTION_INSTANCE_ENV])
    wanted, present = instance_file(), home / "dagster.yaml"
    ours = [f for f in map(project_file, INSTANCE_FILES.values()) if f]
    if wanted and (not present.exists() or any(present.read_bytes() == f.read_bytes() for f in ours)):
        shutil.copy(wanted, present)
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
