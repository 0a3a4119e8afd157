"""deploy/dagster.yaml on the real PostgreSQL: it loads, and a run's events land in the database."""

from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import create_engine, text

from auterity_pipelines.cli.instance import PRODUCTION_INSTANCE_ENV, prepare_dagster_home
from tests.deploy.conftest import libpq, production_instance

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


@dg.asset
def rooftop_count() -> int:
    return 300


def test_the_production_instance_keeps_runs_and_events_in_postgresql(postgres_url, tmp_path, monkeypatch):
    with production_instance(postgres_url, tmp_path, monkeypatch) as instance:
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

    engine = create_engine(postgres_url)
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
    postgres_url, tmp_path, monkeypatch
):
    monkeypatch.setenv(
        PRODUCTION_INSTANCE_ENV, libpq(postgres_url)
    )  # plain postgresql://, as written by hand
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
    monkeypatch.setenv(PRODUCTION_INSTANCE_ENV, libpq(postgres_url))
    prepare_dagster_home().dispose()
    assert installed.read_text().endswith("# edited by hand\n")  # left alone


def _first_dequeue(limits: list[dict], max_runs: int, queued: list) -> list:
    """The runs one pass of Dagster's queue would launch, in queue order: its own counter of
    tag limits, as the run queue daemon uses it, with nothing in progress yet."""
    from dagster._utils.tags import TagConcurrencyLimitsCounter

    counter, launched = TagConcurrencyLimitsCounter(limits, []), []
    for run in queued:
        if len(launched) < max_runs and not counter.is_blocked(run):
            counter.update_counters_with_launched_item(run)
            launched.append(run)
    return launched


def test_a_rooftops_backfill_leaves_room_for_the_rest_of_the_group(postgres_url, tmp_path, monkeypatch):
    from dagster._core.storage.dagster_run import DagsterRun

    from auterity_pipelines.fleet import Dealership, DmsConfig
    from auterity_pipelines.jobs import sync_tags

    with production_instance(postgres_url, tmp_path, monkeypatch) as instance:
        queue = instance.get_concurrency_config().run_queue_config
        limits, max_runs = queue.tag_concurrency_limits, queue.max_concurrent_runs

    def rooftop(i: int, kind: str) -> Dealership:
        base = None if kind == "extract" else f"https://{kind}-{i % 8}.example"
        return Dealership(
            f"r{i:02d}", f"R{i}", "America/Chicago", DmsConfig(kind=kind, path=f"/x/{i}", base_url=base)
        )

    group = [rooftop(i, ("fortellis", "tekion", "extract")[i % 3]) for i in range(60)]
    onboarding = group[0]  # a new fortellis rooftop: 30 days of backfill, queued first

    def run(dealership: Dealership, n: int) -> DagsterRun:
        return DagsterRun(job_name="dms_sync_job", run_id=f"{dealership.id}-{n}", tags=sync_tags(dealership))

    queued = [run(onboarding, n) for n in range(30)] + [run(d, 0) for d in group[1:]]
    launched = _first_dequeue(limits, max_runs, queued)

    by_rooftop = {}
    for r in launched:
        by_rooftop[r.tags["auterity/dealership"]] = by_rooftop.get(r.tags["auterity/dealership"], 0) + 1
    assert by_rooftop[onboarding.id] == 2  # the backfill takes two slots, not forty
    kinds = [r.tags["auterity/dms-kind"] for r in launched]
    assert kinds.count("fortellis") == 12 and kinds.count("tekion") == 12  # the vendors' shared quota
    assert kinds.count("extract") == 16  # an extract's folder is its own endpoint: no vendor quota
    assert len(launched) == max_runs == 40
    endpoints = {}
    for r in launched:
        endpoints[r.tags["auterity/dms-endpoint"]] = endpoints.get(r.tags["auterity/dms-endpoint"], 0) + 1
    assert max(endpoints.values()) <= 4
