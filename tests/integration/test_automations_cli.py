"""`auterity automations preview` and `deliveries` as a user runs them, against a rooftop's history."""

import json
import subprocess
import sys

from tests.conftest import clean_environment
from tests.integration.automations_world import HOT, ROOFTOP


def cli(world, *args: str) -> subprocess.CompletedProcess:
    env = clean_environment() | {
        "AUTERITY_FLEET": str(world.fleet_file),
        "AUTERITY_WAREHOUSE_URL": world.warehouse.url,
        "AUTERITY_HOME": str(world.tmp / "home"),
        "AUTERITY_SMS_URL": f"{world.url}/twilio",
    }
    return subprocess.run(
        [sys.executable, "-m", "auterity_pipelines.cli.main", "automations", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


def test_preview_prints_each_action_of_the_day_and_sends_nothing(fresh):
    hot = fresh.score_leads()
    path = fresh.tmp / "preview.yaml"
    path.write_text(HOT)
    result = cli(fresh, "preview", str(path), "--dealership", ROOFTOP, "--date", "2026-11-19")
    assert result.returncode == 0, result.stderr
    actions = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(a["subject"] for a in actions) == sorted(f"lead:{i}" for i in hot)
    assert {(a["automation"], a["channel"], a["to"], a["decision"]) for a in actions} == {
        ("hot", "sms", "***0100", "send")
    }
    assert fresh.sms() == [] and fresh.deliveries() == []


def test_preview_of_an_unknown_rooftop_is_refused(fresh):
    result = cli(fresh, "preview", "--dealership", "nowhere-motors", "--date", "2026-11-19")
    assert result.returncode == 2 and "nowhere-motors" in result.stderr


def test_deliveries_lists_what_was_decided_and_why(fresh, instance):
    fresh.score_leads()
    fresh.run(HOT.replace("rate_limits: {sms: 10000", "rate_limits: {sms: 2"), instance)
    result = cli(fresh, "deliveries", "--dealership", ROOFTOP, "--json", "--limit", "1000")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted({r["decision"] for r in rows}) == ["deferred", "sent"]
    assert {r["recipient"] for r in rows} == {"***0100"}
    assert all(r["reason"] == "rate limit: 2 sms per minute" for r in rows if r["decision"] == "deferred")
    table = cli(fresh, "deliveries", "--dealership", ROOFTOP)
    assert "rate limit: 2 sms per minute" in table.stdout and "***0100" in table.stdout
