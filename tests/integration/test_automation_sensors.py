"""When automations run: the trigger sensor after the runs they read, the schedule at rooftop-local
hours, and the file sensor naming a bad file's problems while the rest keeps running."""

import datetime as dt
import json
import subprocess
import sys

import dagster as dg
import pytest

from assets.automations import AUTOMATIONS
from auterity_pipelines.automations.config import DEMO_AUTOMATIONS
from sensors.automations import automation_triggers, scheduled_due
from tests.conftest import clean_environment
from tests.integration.automations_world import DAY, ROOFTOP

PARTITION = f"{DAY.isoformat()}|{ROOFTOP}"


def _materialized(instance, path: list[str], partition: str = PARTITION) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=path, partition=partition))


def test_a_lead_scored_starts_each_hot_lead_automation_covering_its_rooftop_once(instance, warehouse):
    resources = {"warehouse": warehouse}
    _materialized(instance, ["ml", "lead_scores"])  # history before the sensor's first look
    first = automation_triggers(dg.build_sensor_context(instance=instance, resources=resources))
    assert not first.run_requests  # is not replayed
    _materialized(instance, ["ml", "lead_scores"])
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=["ml", "lead_scores"])
    )  # no partition
    _materialized(instance, ["ml", "lead_scores"], "2026-11|lakeside-honda")  # not a rooftop-day
    _materialized(instance, ["ml", "lead_scores"], f"{DAY.isoformat()}|northgate-ford")
    result = automation_triggers(
        dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=resources)
    )
    requested = sorted((r.asset_selection[0].path[-1], r.partition_key) for r in result.run_requests)
    # The demo file: hot-leads-to-sales-manager covers every rooftop, hot-leads-to-crm only harbor-kia.
    assert requested == [
        ("hot-leads-to-sales-manager", PARTITION),
        ("hot-leads-to-sales-manager", f"{DAY.isoformat()}|northgate-ford"),
    ]
    assert len({r.run_key for r in result.run_requests}) == 2
    assert all(r.tags["auterity/automation"] == "hot-leads-to-sales-manager" for r in result.run_requests)
    again = automation_triggers(
        dg.build_sensor_context(instance=instance, cursor=result.cursor, resources=resources)
    )
    assert not again.run_requests


def test_an_automation_that_ran_inside_the_intake_run_is_not_started_again():
    from types import SimpleNamespace

    from sensors.automations import triggered_requests

    def record(run_id: str, storage_id: int):
        return SimpleNamespace(
            run_id=run_id,
            storage_id=storage_id,
            partition_key=PARTITION,
            asset_key=dg.AssetKey(["ml", "lead_scores"]),
        )

    automations = [a for a in AUTOMATIONS.automations if a.template.name == "hot_lead_alert"]
    from_intake = triggered_requests(
        [record("intake-run", 1)], automations, intake_runs=frozenset({"intake-run"})
    )
    from_scoring = triggered_requests(
        [record("scoring-run", 2)], automations, intake_runs=frozenset({"intake-run"})
    )
    assert from_intake == []
    assert [r.asset_selection[0].path[-1] for r in from_scoring] == ["hot-leads-to-sales-manager"]


def test_the_intake_job_runs_the_automations_that_follow_intake():
    from auterity_pipelines.definitions import defs

    # Resolving reads Dagster's process-wide defs-state storage, which may still name a closed
    # test instance (tests/test_definitions.py): give it a live one.
    with dg.instance_for_test():
        job = defs.resolve_job_def("lead_intake_job")
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"automations/hot-leads-to-sales-manager", "automations/unanswered-leads"} <= keys
    assert "automations/deal-thank-you" not in keys and "automations/service-due-reminders" not in keys


def test_each_event_template_is_started_by_what_it_reads(instance, warehouse):
    resources = {"warehouse": warehouse}
    first = automation_triggers(dg.build_sensor_context(instance=instance, resources=resources))
    for path in (["events", "inbound_leads"], ["enrichment", "repair_order_enrichments"], ["core", "deals"]):
        _materialized(instance, path)
    result = automation_triggers(
        dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=resources)
    )
    assert sorted(r.asset_selection[0].path[-1] for r in result.run_requests) == [
        "deal-thank-you",
        "unanswered-leads",
        "unhappy-service-customers",
    ]


def test_repair_order_lines_synced_are_enriched_so_an_unhappy_customer_is_raised_that_day(instance):
    from sensors.enrichment import enrich_synced_repair_orders

    _materialized(instance, ["core", "repair_order_lines"], f"{DAY.isoformat()}|northgate-ford")
    first = enrich_synced_repair_orders(dg.build_sensor_context(instance=instance))
    assert not first.run_requests  # a day synced before the sensor first looked is a backfill's
    _materialized(instance, ["core", "repair_order_lines"])
    _materialized(instance, ["core", "repair_order_lines"])  # twice in a tick: one run for the day
    result = enrich_synced_repair_orders(dg.build_sensor_context(instance=instance, cursor=first.cursor))
    (request,) = result.run_requests
    assert request.partition_key == PARTITION
    assert request.asset_selection == [dg.AssetKey(["enrichment", "repair_order_enrichments"])]
    again = enrich_synced_repair_orders(dg.build_sensor_context(instance=instance, cursor=result.cursor))
    assert isinstance(again, dg.SkipReason)


@pytest.mark.parametrize(
    ("name", "utc", "expected"),
    [
        # service-due-reminders: nightly at 02:00 Chicago, for today's partition
        ("service-due-reminders", "2026-11-30T07:59", None),
        (
            "service-due-reminders",
            "2026-11-30T08:00",
            ("service-due-reminders:lakeside-honda:2026-11-30", "2026-11-30"),
        ),
        # warranty-digest: daily at 07:00, for the day that ended
        ("warranty-digest", "2026-11-30T13:00", ("warranty-digest:lakeside-honda:2026-11-30", "2026-11-29")),
        # aged-inventory: Mondays at 07:00 (2026-11-30 is a Monday)
        ("aged-inventory", "2026-11-30T13:00", ("aged-inventory:lakeside-honda:2026-11-30", "2026-11-30")),
        ("aged-inventory", "2026-12-01T13:00", None),
    ],
)
def test_scheduled_automations_are_due_at_their_rooftop_local_time(name, utc, expected):
    automation = AUTOMATIONS.get(name)
    now = dt.datetime.fromisoformat(utc).replace(tzinfo=dt.UTC)
    found = scheduled_due(automation, ROOFTOP, "America/Chicago", now)
    assert (found[0], found[1].isoformat()) == expected if expected else found is None


PROBE = """
import json
import dagster as dg
from auterity_pipelines.definitions import defs
from sensors.automations import automations_file
keys = sorted("/".join(k.path) for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[0] == "automations")
print("KEYS", json.dumps(keys))
try:
    automations_file(dg.build_sensor_context())
    print("no error")
except Exception as exc:
    print("SENSOR ERROR:", exc)
"""


def test_a_bad_automations_file_leaves_the_location_up_the_valid_ones_running_and_names_each_problem(
    tmp_path,
):
    text = DEMO_AUTOMATIONS.read_text()
    text = text.replace("template: warranty_digest", "template: warranty_digests")
    text = text.replace(
        'quiet_hours: {start: "21:00", end: "08:00"}', 'quiet_hours: {start: "21:00", end: "8am"}', 1
    )
    path = tmp_path / "automations.yaml"
    path.write_text(text)
    env = clean_environment() | {"AUTERITY_AUTOMATIONS": str(path), "AUTERITY_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    keys = next(line for line in result.stdout.splitlines() if line.startswith("KEYS "))
    sensor = result.stdout[result.stdout.index("SENSOR ERROR:") :] if "SENSOR ERROR:" in result.stdout else ""
    assert json.loads(keys.removeprefix("KEYS ")) == [
        "automations/aged-inventory",
        "automations/deal-thank-you",
        "automations/hot-leads-to-crm",
        "automations/hot-leads-to-sales-manager",
        "automations/unanswered-leads",
        "automations/unhappy-service-customers",
    ]
    assert "2 problem(s)" in sensor
    assert "service-due-reminders: quiet_hours: end '8am' is not a 24-hour HH:MM time" in sensor
    assert "warranty-digest: template: unknown template 'warranty_digests'" in sensor
    validate = subprocess.run(
        [sys.executable, "-m", "auterity_pipelines.cli.main", "automations", "validate"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert validate.returncode == 1
    lines = validate.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0] == "service-due-reminders: quiet_hours: end '8am' is not a 24-hour HH:MM time"
    assert lines[1].startswith("warranty-digest: template: unknown template 'warranty_digests' (one of ")


def test_dagster_loads_the_location_with_a_file_that_is_not_yaml(tmp_path):
    path = tmp_path / "automations.yaml"
    path.write_text("automations: [\n  - {name: x\n")
    env = clean_environment() | {"AUTERITY_AUTOMATIONS": str(path), "AUTERITY_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [str(__import__("pathlib").Path(sys.executable).with_name("dagster")), "definitions", "validate",
         "-m", "auterity_pipelines.definitions"],
        capture_output=True, text=True, env=env, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
