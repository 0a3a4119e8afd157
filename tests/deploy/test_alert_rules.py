"""deploy/prometheus and deploy/grafana as Prometheus and Grafana read them: the rules load
(`promtool check rules`), the freshness and budget alerts fire on their cases and only then
(`promtool test rules`), and the dashboards name only series the platform serves or records.
Running each query against real data is tests/integration/test_prometheus.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import service_missing

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "rules.yml"
SERVED = DEPLOY.parent / "auterity_pipelines" / "metrics"


@pytest.fixture
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        service_missing("promtool", "PATH (apt-get install prometheus)", FileNotFoundError("promtool"))
    return found


def test_the_rules_load(promtool):
    checked = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 12 rules found" in checked.stdout


def test_the_freshness_and_budget_alerts_fire_on_their_cases(promtool):
    tests = sorted((DEPLOY / "prometheus" / "tests").glob("*.yml"))
    assert tests
    ran = subprocess.run([promtool, "test", "rules", *map(str, tests)], capture_output=True, text=True,
                         cwd=DEPLOY / "prometheus" / "tests")  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    tested = {a["alertname"] for f in tests for t in yaml.safe_load(f.read_text())["tests"]
              for a in t.get("alert_rule_test", [])}  # fmt: skip
    assert {"RooftopNotSynced", "AIBudgetLow"} <= tested


def test_the_rule_tests_can_fail(promtool, tmp_path):
    """The freshness case run against a rule set with 25 h instead of 26 h must fail."""
    shutil.copytree(DEPLOY / "prometheus", tmp_path / "prometheus")
    rules = tmp_path / "prometheus" / "rules.yml"
    rules.write_text(rules.read_text().replace("> 26 * 3600", "> 25 * 3600"))
    ran = subprocess.run([promtool, "test", "rules", "freshness_and_budget.yml"], capture_output=True,
                         text=True, cwd=tmp_path / "prometheus" / "tests")  # fmt: skip
    assert ran.returncode != 0 and "RooftopNotSynced" in ran.stdout + ran.stderr


def test_the_dashboards_read_only_what_the_platform_serves_or_records():
    served = set(re.findall(r'"(auterity_[a-z_]+)"', "".join(p.read_text() for p in SERVED.glob("*.py"))))
    recorded = {
        r["record"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "record" in r
    }
    readable = recorded | {f"{n}{s}" for n in served for s in ("", "_total", "_bucket", "_count", "_sum")}
    dashboards = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
    assert [d.stem for d in dashboards] == ["auterity-ai", "auterity-events", "auterity-operations"]
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), path
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == "${datasource}", (path.stem, panel["title"])
            for target in panel["targets"]:
                names = set(re.findall(r"\b(auterity[a-z0-9_:]*[a-z0-9_])\b", target["expr"]))
                assert names and names <= readable, (path.stem, panel["title"], names - readable)
