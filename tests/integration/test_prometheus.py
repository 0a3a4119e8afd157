"""Every dashboard panel's query and every alert rule, run by a real Prometheus over the platform's
`/metrics` after a real sync, a failed run, AI calls with a failover, an event and automation
decisions: each panel and recorded rule returns numbers, and every rule evaluates without error."""

from __future__ import annotations

import json
import re
from collections import deque
from pathlib import Path

import pytest
import yaml

from auterity_pipelines.enrichment.tasks import LEAD_ENRICHMENT
from auterity_pipelines.simulator.data import SimulatorSettings
from ml.serving import NeuroWeaverServer, ServingFaults, serve_in_thread
from resources.ai.router import Router
from resources.channels import ledger
from resources.events.inbox import mark
from resources.warehouse import Warehouse
from tests.conftest import start_simulator, write_fleet
from tests.helpers import sync
from tests.integration.prometheus_server import RULES, prometheus
from tests.integration.test_delivery_ledger import row as delivery
from tests.integration.test_events_intake import ADF, ROOFTOP, inbox, post
from tests.integration.test_metrics import DAY, NOW, serving
from tests.integration.test_relaycore import config, items

DASHBOARDS = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"
# Grafana's variables as a viewer's defaults would set them: every rooftop, a short rate window.
VARIABLES = {"$dealership": ".*", "$__rate_interval": "2m"}


def panel_queries() -> list[tuple[str, str]]:
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                expr = target["expr"]
                for name, value in VARIABLES.items():
                    expr = expr.replace(name, value)
                found.append((f"{path.stem}: {panel['title']}", expr))
    return found


@pytest.fixture
def warehouse(postgres_url):  # the production backend (the SQLite one serves the same families)
    warehouse = Warehouse(url=postgres_url)
    warehouse.upgrade()
    return warehouse


def test_every_panel_and_rule_returns_data_from_a_real_prometheus(tmp_path, warehouse, instance, receiver):
    server = NeuroWeaverServer(ServingFaults(script=deque(["server_error"])))
    with serve_in_thread(server) as nw_url:
        relay = config(nw_url, price=2.0, local=True, quota={"monthly_budget_usd": 5})
        with (
            serving(warehouse, instance, relay, refresh_seconds=0.25) as port,
            prometheus(tmp_path, port) as prom,
        ):
            prom.settle()
            with start_simulator(SimulatorSettings(now=NOW)) as url:
                fleet = write_fleet(tmp_path / "fleet.yaml", url)
                assert sync(instance, fleet, warehouse, ROOFTOP, DAY).success
                prom.settle()
                assert not sync(instance, tmp_path / "no-such-fleet.yaml", warehouse, ROOFTOP, DAY).success
            prom.settle()
            router = Router(relay, warehouse.engine)
            # The first request meets a server error at NeuroWeaver and fails over to the local provider.
            assert [o.status for o in router.run(LEAD_ENRICHMENT, ROOFTOP, items(1))] == ["ok"]
            prom.settle()
            assert [o.status for o in router.run(LEAD_ENRICHMENT, ROOFTOP, items(2, offset=1))] == ["ok"] * 2
            prom.settle()
            assert post(receiver, "leads", ADF).status_code == 202
            prom.settle()
            mark(warehouse, [e["event_id"] for e in inbox(warehouse)], "done")
            ledger.record(warehouse.engine, [delivery("k1", "sent"), delivery("k2", "suppressed")])
            prom.settle()
            ledger.record(warehouse.engine, [delivery("k3", "sent")])
            prom.settle()

            empty = [(title, expr) for title, expr in panel_queries() if not prom.finite(expr)]
            assert not empty, f"panels with no data: {empty}"

            rules = yaml.safe_load(RULES.read_text())["groups"]
            recorded = [r for g in rules for r in g["rules"] if "record" in r]
            alerts = [r for g in rules for r in g["rules"] if "alert" in r]
            for rule in recorded:
                assert prom.finite(rule["expr"]), f"{rule['record']} returns no numbers"
                assert prom.finite(rule["record"]), f"{rule['record']} was not recorded"
            names = {r["record"] for r in recorded} | prom.metric_names()
            for rule in alerts:
                prom.query(rule["expr"])  # a valid expression
                read = set(re.findall(r"[a-z_:][a-z0-9_:]*", rule["expr"])) & names
                assert read, rule["alert"]
                for series in read:
                    assert prom.finite(series), f"{rule['alert']} reads {series}, which has no data"
            evaluated = prom.rules()
            assert {r["name"] for r in evaluated} == {
                r.get("record") or r["alert"] for r in recorded + alerts
            }
            assert all(r["health"] == "ok" for r in evaluated), [r for r in evaluated if r["health"] != "ok"]
