"""`auterity sync` and `auterity warehouse`, as an operator runs them."""

import datetime as dt
import subprocess
import sys

import dagster as dg
import pytest

from auterity_pipelines.simulator.data import RooftopDms, SimulatorSettings
from auterity_pipelines.simulator.extract import write_extract
from tests.conftest import NOW, clean_environment, start_simulator, write_fleet

DAY = "2026-11-17"


def auterity(env: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "auterity_pipelines.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


@pytest.fixture
def environment(tmp_path):
    env = clean_environment()
    env.update(AUTERITY_HOME=str(tmp_path / "home"), AUTERITY_FLEET=str(tmp_path / "fleet.yaml"))
    return env


def test_sync_runs_through_dagster_and_prints_rows_per_rooftop_and_entity(tmp_path, environment):
    extracts = tmp_path / "extracts"
    day = dt.date.fromisoformat(DAY)
    write_extract(
        RooftopDms("harbor-kia", SimulatorSettings(now=NOW)), "harbor-kia", day, "America/New_York", extracts
    )
    with start_simulator() as url:
        write_fleet(tmp_path / "fleet.yaml", url, extract_root=extracts)
        result = auterity(environment, "sync", "--date", DAY)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "3 of 3 partitions synced in" in result.stdout
    for rooftop in ("lakeside-honda", "northgate-ford", "harbor-kia"):
        (row,) = [
            line.split() for line in lines if line.startswith(rooftop) and " repair_order_lines " in line
        ]
        assert int(row[2]) > 0 and row[2] == row[3] and row[4] == "0", row
    # The runs are in the instance the UI reads, tagged for the per-DMS concurrency limit.
    with dg.DagsterInstance.from_config(str(tmp_path / "home" / "dagster")) as instance:
        runs = instance.get_runs()
        assert len(runs) == 3 and all(r.is_success for r in runs)
        assert {r.tags["auterity/dealership"] for r in runs} == {
            "lakeside-honda",
            "northgate-ford",
            "harbor-kia",
        }
        assert {r.tags["auterity/dms-endpoint"] for r in runs} == {
            f"fortellis:{url}",
            f"tekion:{url}",
            f"extract:{extracts}",
        }


def test_sync_of_a_missing_extract_day_exits_non_zero_with_the_reason(tmp_path, environment):
    write_fleet(tmp_path / "fleet.yaml", "http://127.0.0.1:9", extract_root=tmp_path / "extracts")
    result = auterity(environment, "sync", "--dealership", "harbor-kia", "--date", DAY)
    assert result.returncode == 1
    assert f"failed: harbor-kia {DAY}: extract not loaded" in result.stderr
    assert "no manifest.json" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", DAY], "--start and --end go together"),
        (["--start", "2026-11-18", "--end", "2026-11-17"], "is before --start"),
        (["--dealership", "nowhere-motors"], "unknown dealership 'nowhere-motors'"),
        (["--date", "17/11/2026"], "'17/11/2026' does not match the format"),
    ],
)
def test_sync_refuses_bad_input_clearly(tmp_path, environment, args, message):
    write_fleet(tmp_path / "fleet.yaml", "http://127.0.0.1:9")
    result = auterity(environment, "sync", *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_server_warehouse_must_be_upgraded_on_purpose(tmp_path, environment, postgres_url):
    write_fleet(tmp_path / "fleet.yaml", "http://127.0.0.1:9")
    environment["AUTERITY_WAREHOUSE_URL"] = postgres_url
    refused = auterity(environment, "sync", "--date", DAY)
    assert refused.returncode == 1 and "run `auterity warehouse upgrade`" in refused.stderr
    assert auterity(environment, "warehouse", "status").returncode == 1
    upgraded = auterity(environment, "warehouse", "upgrade")
    from resources.warehouse.migrate import head_revision

    assert upgraded.returncode == 0 and f"empty -> {head_revision()}" in upgraded.stdout
    assert auterity(environment, "warehouse", "status").returncode == 0


def test_a_failure_no_retry_can_fix_fails_once_and_the_cli_says_its_cause(tmp_path, environment):
    """An unset secret is not retried three times to print `Exceeded max_retries`; it fails once, saying why."""
    write_fleet(tmp_path / "fleet.yaml", "http://127.0.0.1:9")
    fleet = (tmp_path / "fleet.yaml").read_text()
    (tmp_path / "fleet.yaml").write_text(fleet.replace("AUTERITY_DEMO_FORTELLIS_CLIENT_ID", "NOPE_ID"))
    environment.pop("NOPE_ID", None)
    result = auterity(environment, "sync", "--dealership", "lakeside-honda", "--date", DAY)
    assert result.returncode == 1
    assert "environment variable NOPE_ID is not set" in result.stderr, result.stderr
    with dg.DagsterInstance.from_config(str(tmp_path / "home" / "dagster")) as instance:
        (run,) = instance.get_runs()
        kinds = [e.dagster_event.event_type_value for e in instance.all_logs(run.run_id) if e.dagster_event]
    assert kinds.count("STEP_FAILURE") == 1 and "STEP_UP_FOR_RETRY" not in kinds


def test_the_cli_names_the_innermost_cause_of_a_step_that_used_up_its_retries():
    from dagster._utils.error import SerializableErrorInfo

    from auterity_pipelines.cli.sync import failure_reason

    cause = SerializableErrorInfo("DmsError: lakeside-honda: HTTP 503 after 3 attempts\n", [], "DmsError")
    outer = SerializableErrorInfo("Exceeded max_retries of 3\n", [], "DagsterMaxRetriesExceededError", cause)
    data = type("Data", (), {"user_failure_data": None, "error": outer})()
    event = type("Event", (), {"event_type_value": "STEP_FAILURE", "event_specific_data": data})()
    result = type("Result", (), {"all_events": [event]})()
    assert failure_reason(result) == "DmsError: lakeside-honda: HTTP 503 after 3 attempts"
