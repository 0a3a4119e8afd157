"""The code location loads, validates, and its instance config and schema migrations hold."""

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from auterity_pipelines.definitions import defs
from auterity_pipelines.schema import metadata

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def live_instance():
    # Resolving definitions reads Dagster's process-wide defs-state storage, which still names
    # the last test instance after it is closed (tests of schedules and sensors leave one): give
    # it a live one, whatever ran before.
    with dg.instance_for_test():
        yield


def test_every_asset_says_what_it_is_who_owns_it_and_where_it_belongs():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"dms/raw_repair_orders", "dms/raw_repair_order_lines", "core/vehicles", "core/leads",
            "enrichment/lead_enrichments", "enrichment/repair_order_enrichments", "ml/lead_conversion",
            "ml/lead_conversion_champion", "ml/service_retention", "ml/complaint_classifier",
            "ml/lead_scores"} <= keys  # fmt: skip
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.owners == ["team:data-platform"], key
        assert node.group_name in {
            "dms_raw", "dms_history", "core", "enrichment", "ml", "scoring", "intake", "identity", "automations",
        }, key  # fmt: skip
        assert node.description and node.kinds, key


def test_no_asset_passes_dagsters_partition_recommendation_for_a_300_rooftop_group(monkeypatch):
    """Dagster recommends at most 100,000 partitions per asset; the day dimension is a window of
    whole months, so rooftops × days stays under it however long the group has been syncing."""
    from auterity_pipelines.partitions import DEFAULT_DAILY_WINDOW_MONTHS, MONTHS, rooftop_days, window_start

    for today in (dt.date(2026, 1, 31), dt.date(2027, 7, 31), dt.date(2030, 12, 31)):
        first = window_start(today, DEFAULT_DAILY_WINDOW_MONTHS)
        days = (today - first).days + 2  # end_offset=1: tomorrow's partition exists in the east
        assert 300 * days <= 100_000, today
    assert 300 * len(MONTHS.get_partition_keys()) <= 100_000
    graph = defs.resolve_asset_graph()
    partitioned = {graph.get(k).partitions_def for k in graph.get_all_asset_keys()} - {None}
    assert {p.name if isinstance(p, dg.DynamicPartitionsDefinition) else p for p in partitioned} <= {
        rooftop_days,
        graph.get(dg.AssetKey(["dms", "history"])).partitions_def,
    }


def test_each_demo_automation_is_an_asset_downstream_of_the_tables_its_template_reads():
    from assets.automations import AUTOMATIONS

    graph = defs.resolve_asset_graph()
    assert AUTOMATIONS.problems == [] and len(AUTOMATIONS.automations) >= 7
    for automation in AUTOMATIONS.automations:
        node = graph.get(dg.AssetKey(["automations", automation.name]))
        assert {k.to_user_string() for k in node.parent_keys} == {
            "/".join(k) for k in automation.template.reads
        }
        assert node.partitions_def is not None and node.group_name == "automations"
    assert defs.resolve_job_def("automations_job")
    for name in ("automation_triggers", "automation_schedule", "automations_file"):
        assert defs.resolve_sensor_def(name)


def test_the_sync_job_schedule_and_sensor_are_defined():
    assert defs.resolve_job_def("dms_sync_job")
    assert defs.resolve_job_def("enrichment_job")
    assert defs.resolve_schedule_def("nightly_dms_sync").cron_schedule == "15 * * * *"
    assert defs.resolve_sensor_def("fleet_partitions")


def test_neuroweaver_jobs_schedule_and_sensors_are_defined():
    assert defs.resolve_job_def("model_training_job")
    assert defs.resolve_job_def("lead_scoring_job").partitions_def is not None
    assert defs.resolve_schedule_def("weekly_model_training").cron_schedule == "0 4 * * 1"
    assert defs.resolve_sensor_def("retrain_on_new_outcomes")
    assert defs.resolve_sensor_def("score_new_leads")


def test_the_event_intake_job_and_sensor_are_defined():
    job = defs.resolve_job_def("lead_intake_job")
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} >= {
        "events/inbound_leads", "enrichment/lead_enrichments", "ml/lead_scores", "events/crm_deliveries"
    }  # fmt: skip
    assert defs.resolve_sensor_def("inbox_events").minimum_interval_seconds == 2


def test_the_quality_identity_and_replay_jobs_are_defined():
    conform = defs.resolve_assets_def(dg.AssetKey(["core", "customers"]))
    checks = {k.name for k in conform.check_keys if k.asset_key.path[-1] == "vehicles"}
    assert checks == {
        "schema_matches_contract", "keys_present_and_unique", "values_in_range", "valid_vin_share",
        "volume_within_trailing_range",
    }  # fmt: skip
    assert {s.key.name for s in conform.check_specs if s.blocking} == {
        "schema_matches_contract",
        "keys_present_and_unique",
    }
    assert defs.resolve_job_def("identity_job") and defs.resolve_job_def("quarantine_replay_job")
    assert defs.resolve_schedule_def("nightly_identity").cron_schedule == "0 11 * * *"


def test_loading_the_code_location_imports_neither_mlflow_nor_sklearn_nor_great_expectations():
    probe = (
        "import sys, auterity_pipelines.definitions; "
        "print(sorted({'mlflow', 'sklearn', 'great_expectations'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr


def test_dagster_definitions_validate_passes():
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run([str(dagster), "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
                            cwd=ROOT, capture_output=True, text=True, timeout=180)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_the_instance_config_loads_with_its_concurrency_limits(tmp_path):
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert limits == [
            {"key": "auterity/dms-endpoint", "value": {"applyLimitPerUniqueValue": True}, "limit": 2},
            {"key": "auterity/intake-day", "value": {"applyLimitPerUniqueValue": True}, "limit": 1},
            {"key": "auterity/event-type", "value": "lead.received", "limit": 2},
        ]
        assert instance.run_monitoring_enabled and instance.run_monitoring_max_runtime_seconds == 21600
        # Steps retry under their RetryPolicy, and a Failure(allow_retries=False) must stay failed:
        # run retries are for a lost worker only.
        assert instance.run_retries_enabled and not instance.run_retries_retry_on_asset_or_op_failure
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 4
    finally:
        instance.dispose()


def test_the_migrations_build_exactly_the_schema_in_code(warehouse):
    with warehouse.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_services_starting_together_upgrade_the_warehouse_once_without_failing(backend, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 'warehouse.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    probe = "import sys; from resources.warehouse import Warehouse; Warehouse(url=sys.argv[1]).upgrade()"
    racers = [
        subprocess.Popen([sys.executable, "-c", probe, url], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in racers]
    assert [p.returncode for p in racers] == [0, 0, 0, 0], errors


def _defined_in_project():
    """Every schedule, sensor, job, asset and asset check a project module defines at its top level."""
    import importlib
    import pkgutil

    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

    kinds = (
        dg.ScheduleDefinition,
        dg.SensorDefinition,
        dg.JobDefinition,
        UnresolvedAssetJobDefinition,
        dg.AssetsDefinition,
        dg.AssetChecksDefinition,
    )
    found = {}
    for package in ("assets", "sensors", "auterity_pipelines", "resources"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if ".migrations" in info.name or ".cli" in info.name:
                continue
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                values = value if type(value) in (list, tuple) else [value]
                for item in values:
                    if isinstance(item, kinds) and not name.startswith("_"):
                        found[f"{info.name}.{name}"] = item
    return found


def test_everything_the_project_defines_is_in_the_code_location():
    """A sensor, schedule, job or asset written but never put in definitions.py never runs (it happened twice)."""
    graph = defs.resolve_asset_graph()
    asset_keys, check_keys = set(graph.get_all_asset_keys()), set(graph.asset_check_keys)
    repository = defs.get_repository_def()
    schedules = {s.name for s in repository.schedule_defs}
    sensors = {s.name for s in repository.sensor_defs}
    jobs = {j.name for j in defs.resolve_all_job_defs()}
    missing = []
    for where, item in _defined_in_project().items():
        if isinstance(item, dg.ScheduleDefinition):
            ok = item.name in schedules
        elif isinstance(item, dg.SensorDefinition):
            ok = item.name in sensors
        elif isinstance(item, dg.AssetChecksDefinition):
            ok = set(item.check_keys) <= check_keys
        elif isinstance(item, dg.AssetsDefinition):
            ok = set(item.keys) <= asset_keys
        else:
            ok = item.name in jobs
        if not ok:
            missing.append(where)
    assert missing == []
    assert len(_defined_in_project()) > 30  # the walk found the project, not nothing
