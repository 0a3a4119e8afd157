"""deploy/dagster.yaml on the real PostgreSQL: it loads, and a run's events land in the database."""

import shutil
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from auterity_pipelines.cli.instance import PRODUCTION_INSTANCE_ENV, prepare_dagster_home
from auterity_pipelines.cli.instance import dagster_postgres_url as dagster_postgres_url_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


@pytest.fixture
def dagster_postgres_url(postgres_url, monkeypatch) -> str:
    """A fresh database for the instance, as an operator would write its URL."""
    url = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    monkeypatch.setenv(PRODUCTION_INSTANCE_ENV, url)
    return url


@dg.asset
def rooftop_count() -> int:
    return 300


def test_the_production_instance_keeps_runs_and_events_in_postgresql(
    dagster_postgres_url, tmp_path, monkeypatch
):
    # Under SQLAlchemy 2.1 a plain postgresql:// URL means psycopg 3, on which dagster-postgres
    # fails to write its first event (NOTIFY with a bound parameter): the driver must be psycopg2.
    monkeypatch.setenv(PRODUCTION_INSTANCE_ENV, dagster_postgres_url_for(dagster_postgres_url))
    shutil.copy(ROOT / "deploy" / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert {limit["key"] for limit in limits} == {
            "auterity/sync-dealership", "auterity/dms-endpoint", "auterity/dms-kind",
            "auterity/intake-day", "auterity/event-type",
        }  # fmt: skip
        assert instance.run_monitoring_enabled and instance.run_retries_enabled
        assert instance.run_retries_max_retries == 2

        result = dg.materialize([rooftop_count], instance=instance)
        assert result.success
        run_id = result.run_id
    finally:
        instance.dispose()

    engine = create_engine(dagster_postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            status = conn.execute(text("SELECT status FROM runs WHERE run_id = :r"), {"r": run_id}).scalar()
            kinds = set(
                conn.execute(
                    text("SELECT dagster_event_type FROM event_logs WHERE run_id = :r"), {"r": run_id}
                ).scalars()
            )
            materialized = conn.execute(
                text("SELECT count(*) FROM asset_keys WHERE asset_key = :k"), {"k": '["rooftop_count"]'}
            ).scalar()
    finally:
        engine.dispose()
    assert status == "SUCCESS"
    # run events keep their old names in storage
    assert {"PIPELINE_START", "ASSET_MATERIALIZATION", "PIPELINE_SUCCESS"} <= kinds, kinds
    assert materialized == 1


def test_one_variable_moves_the_cli_between_the_embedded_and_the_production_instance(
    dagster_postgres_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AUTERITY_HOME", str(tmp_path))
    installed = tmp_path / "home" / "dagster.yaml"

    instance = prepare_dagster_home()
    try:
        assert installed.read_bytes() == (ROOT / "deploy" / "dagster.yaml").read_bytes()
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    finally:
        instance.dispose()

    monkeypatch.delenv(PRODUCTION_INSTANCE_ENV)
    prepare_dagster_home().dispose()
    assert installed.read_bytes() == (ROOT / "dagster.yaml").read_bytes()

    installed.write_text(installed.read_text() + "\n# edited by hand\n")
    monkeypatch.setenv(PRODUCTION_INSTANCE_ENV, dagster_postgres_url)
    prepare_dagster_home().dispose()
    assert installed.read_text().endswith("# edited by hand\n")  # left alone
