"""The operations guide's backup and restore, run against the real PostgreSQL: `pg_dump
--format=custom --no-owner` of the warehouse and of the Dagster instance, `pg_restore --no-owner
--jobs=4` into empty databases, and the restored copies hold what was dumped."""

import shutil
import subprocess
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy.engine import make_url

from resources.warehouse import Warehouse
from tests.conftest import NOW, start_simulator, write_fleet
from tests.deploy.conftest import libpq, production_instance
from tests.helpers import snapshot, sync

pytestmark = pytest.mark.postgres


def dump_and_restore(source: str, target: str, tmp_path: Path) -> None:
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is not installed (Debian: postgresql-client)")
    dump = tmp_path / f"{make_url(source).database}.dump"
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", libpq(source)], check=True)
    subprocess.run(
        ["pg_restore", "--no-owner", "--jobs=4", f"--dbname={libpq(target)}", str(dump)], check=True
    )


def test_a_restored_warehouse_holds_exactly_what_was_dumped(postgres_databases, tmp_path, instance):
    from auterity_pipelines.simulator.data import SimulatorSettings

    warehouse = Warehouse(url=postgres_databases.create())
    warehouse.upgrade()
    with start_simulator(SimulatorSettings(now=NOW, malformed_share=0.03)) as url:
        result = sync(
            instance, write_fleet(tmp_path / "fleet.yaml", url), warehouse, "lakeside-honda", NOW.date()
        )
    assert result.success
    before = snapshot(warehouse)
    assert sum(bool(rows) for rows in before.values()) >= 8  # raw, contract, quarantine and quality tables

    restored = Warehouse(url=postgres_databases.create())
    dump_and_restore(warehouse.url, restored.url, tmp_path)
    assert snapshot(restored) == before
    from resources.warehouse import migrate

    migrate.check(restored.engine)  # at the schema the code needs: `auterity warehouse status` agrees


@dg.asset
def nightly_marker() -> int:
    return 1


def test_a_restored_instance_keeps_its_runs_and_asset_history(postgres_databases, tmp_path, monkeypatch):
    source, target = postgres_databases.create(), postgres_databases.create()
    with production_instance(source, tmp_path, monkeypatch) as instance:
        run_id = dg.materialize([nightly_marker], instance=instance).run_id
        instance.add_dynamic_partitions("dealerships", ["lakeside-honda", "northgate-ford"])

    dump_and_restore(source, target, tmp_path)
    with production_instance(target, tmp_path, monkeypatch) as restored:
        assert restored.get_run_by_id(run_id).is_success
        assert restored.get_latest_materialization_event(dg.AssetKey("nightly_marker")).run_id == run_id
        assert restored.get_dynamic_partitions("dealerships") == ["lakeside-honda", "northgate-ford"]
