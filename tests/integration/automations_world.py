"""A rooftop with months of history, the loopback providers, and a way to run automations on it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import httpx
import pytest
import yaml
from sqlalchemy import delete, insert, select

from assets.automations import build_automation_asset
from auterity_pipelines.automations.config import load_automations
from auterity_pipelines.fleet import load_fleet
from auterity_pipelines.partitions import partition_key
from auterity_pipelines.schema import (
    automation_deliveries,
    contact_opt_outs,
    events_inbox,
    lead_scores,
    repair_order_enrichments,
    vehicles,
)
from resources.channels import Channels
from resources.dms.fleet import DmsFleet
from resources.mlflow import NeuroWeaver
from resources.warehouse import Warehouse
from tests.helpers import load_history

ROOFTOP = "lakeside-honda"
DAY = dt.date(2026, 11, 19)
PARTITION = partition_key(ROOFTOP, DAY)
STAFF_PHONE = "+15555550100"  # AUTERITY_DEMO_SALES_MANAGER_PHONE
STAFF_EMAIL = "gm@auterity.example"  # AUTERITY_DEMO_GM_EMAIL
CHAT_PATH = "services/T0DEMO/B0DEMO/test"


@dataclass
class World:
    warehouse: Warehouse
    url: str  # the simulator: DMS, SMS provider, chat, CRM
    smtp_port: int
    simulator: object
    fleet_file: Path
    tmp: Path

    def channels(self, **changes) -> Channels:
        return Channels(sms_url=f"{self.url}/twilio", smtp_port=self.smtp_port, **changes)

    def resources(self, **channel_changes) -> dict:
        return {
            "warehouse": self.warehouse,
            "channels": self.channels(**channel_changes),
            "dms": DmsFleet(fleet_file=str(self.fleet_file)),
            "neuroweaver": NeuroWeaver(tracking_uri=f"sqlite:///{self.tmp / 'mlflow.db'}"),
        }

    def automations(self, text: str):
        path = self.tmp / "automations.yaml"
        path.write_text(text)
        found = load_automations(path, fleet=load_fleet(self.fleet_file))
        assert not found.problems, found.problems
        return found

    def run(self, text: str, instance, raise_on_error: bool = True, retry_policy=None, **channel_changes):
        """Materialize each automation in `text` for the rooftop-day; the materialization metadata of each."""
        found = self.automations(text)
        out = {}
        for automation in found.automations:
            asset = build_automation_asset(
                automation, found.rate_limits, retry_policy or dg.RetryPolicy(max_retries=0)
            )
            result = dg.materialize(
                [asset],
                resources=self.resources(**channel_changes),
                partition_key=str(PARTITION),
                instance=instance,
                raise_on_error=raise_on_error,
            )
            events = result.asset_materializations_for_node(asset.node_def.name) if result.success else []
            out[automation.name] = (
                {k: v.value for k, v in events[-1].metadata.items()}
                if events
                else {"success": result.success}
            )
        return out

    def sms(self) -> list[dict]:
        return httpx.get(f"{self.url}/_sms/messages").json()["messages"]

    def chat(self) -> list[dict]:
        return httpx.get(f"{self.url}/_chat/{CHAT_PATH}").json()["posts"]

    def mail(self) -> list[dict]:
        return list(self.simulator.mailbox.messages)

    def crm_tasks(self) -> list[dict]:
        return httpx.get(f"{self.url}/_crm/{ROOFTOP}/tasks").json()["tasks"]

    def deliveries(self, automation: str | None = None) -> list[dict]:
        query = select(automation_deliveries)
        if automation:
            query = query.where(automation_deliveries.c.automation == automation)
        with self.warehouse.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def rows(self, query) -> list[dict]:
        with self.warehouse.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def score_leads(self, hot: set[str] | None = None) -> list[str]:
        """Scores for the day's leads: 0.9 for `hot` (default every other one), 0.2 for the rest."""
        ids = sorted(self.warehouse.partition_source_ids("leads", ROOFTOP, DAY))
        hot = set(ids[::2]) if hot is None else hot
        now = dt.datetime.now(dt.UTC)
        self.warehouse.upsert(
            "lead_scores",
            [
                (ROOFTOP, i, "lead_conversion", "1", 0.9 if i in hot else 0.2, "champion", now, "t")
                for i in ids
            ],
        )
        return sorted(hot)

    def enrich_lines(
        self, sentiments: dict[tuple[str, int], float], warranty: set[tuple[str, int]] = frozenset()
    ):
        now = dt.datetime.now(dt.UTC)
        rows = [
            {
                "dealership_id": ROOFTOP, "ro_number": ro, "line_number": line, "prompt_version": "t1",
                "input_hash": "x", "status": "ok", "provider": "local", "model": "m", "result": "{}",
                "enriched_at": now, "run_id": "t", "category": "brakes", "sentiment": value,
                "warranty_likely": (ro, line) in warranty, "summary": f"summary of {ro}/{line}",
            }
            for (ro, line), value in sentiments.items()
        ]  # fmt: skip
        with self.warehouse.engine.begin() as conn:
            conn.execute(insert(repair_order_enrichments), rows)

    def add_vehicles(self, ages_days: dict[str, int], status: str = "in_stock") -> None:
        now = dt.datetime.now(dt.UTC)
        rows = [
            {
                "dealership_id": ROOFTOP, "vin": vin, "vin_valid": True, "vin_model_year": 2024, "model_year": 2024,
                "make": "Honda", "model": "Civic", "trim": "EX", "mileage": 10, "stock_number": f"S{vin[-4:]}",
                "status": status, "list_price": 25000, "updated_at": now - dt.timedelta(days=age), "source_id": vin,
            }
            for vin, age in ages_days.items()
        ]  # fmt: skip
        with self.warehouse.engine.begin() as conn:
            conn.execute(insert(vehicles), rows)

    def reset(self) -> None:
        with self.warehouse.engine.begin() as conn:
            for table in (
                automation_deliveries,
                contact_opt_outs,
                lead_scores,
                repair_order_enrichments,
                vehicles,
            ):
                conn.execute(delete(table))
            conn.execute(delete(events_inbox))
        self.simulator.sms.messages.clear()
        self.simulator.sms.faults.queue.clear()
        self.simulator.chat.posts.clear()
        self.simulator.chat.faults.queue.clear()
        self.simulator.mailbox.messages.clear()
        self.simulator.crm.tasks.clear()


def write_fleet(path: Path, url: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "dealerships": [
                    {
                        "id": ROOFTOP,
                        "name": "Lakeside Honda",
                        "timezone": "America/Chicago",
                        "webhook_secret_env": "AUTERITY_DEMO_WEBHOOK_SECRET",
                        "crm_webhook_url": f"{url}/_crm/{ROOFTOP}/leads",
                        "dms": {"kind": "extract", "path": str(path.parent / "extracts")},
                    }
                ]
            }
        )
    )
    return path


NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Eight months of one simulated rooftop, ending with partition DAY, and the loopback providers."""
    from auterity_pipelines.simulator.data import RooftopDms, SimulatorSettings
    from auterity_pipelines.simulator.server import Simulator, serve_in_thread

    tmp = tmp_path_factory.mktemp("automations")
    warehouse = Warehouse(url=f"sqlite:///{tmp / 'warehouse.db'}")
    warehouse.upgrade()
    dms = RooftopDms(ROOFTOP, SimulatorSettings(now=NOW))
    last = dt.datetime.combine(DAY, dt.time(), tzinfo=dt.UTC)
    load_history(warehouse, dms, ROOFTOP, last - dt.timedelta(days=240), last, DAY - dt.timedelta(days=1))
    load_history(warehouse, dms, ROOFTOP, last, last + dt.timedelta(days=1), DAY)
    simulator = Simulator(SimulatorSettings(now=NOW))
    smtp_port = simulator.mailbox.start(0)
    with serve_in_thread(simulator) as url, pytest.MonkeyPatch.context() as patch:
        fleet = write_fleet(tmp / "fleet.yaml", url)
        patch.setenv("AUTERITY_FLEET", str(fleet))
        patch.setenv("AUTERITY_TEST_CHAT_URL", f"{url}/_chat/{CHAT_PATH}")
        yield World(warehouse, url, smtp_port, simulator, fleet, tmp)
    simulator.mailbox.stop()


@pytest.fixture
def fresh(world, instance):
    """The world with no decision, opt-out, score, enrichment, vehicle, event or received message in it."""
    world.reset()
    yield world
    world.reset()


RATE = "rate_limits: {sms: 10000, email: 10000, chat: 10000, crm: 10000}\n"


def automation(name: str, template: str, params: str, extra: str = "", rate: str = RATE) -> str:
    """An automations file of one automation for the rooftop."""
    return (
        f"{rate}automations:\n  - name: {name}\n    template: {template}\n    dealerships: [{ROOFTOP}]\n"
        f"    params: {params}\n{extra}"
    )


HOT = automation(
    "hot",
    "hot_lead_alert",
    "{min_score: 0.6, notify: {channel: sms, to_env: AUTERITY_DEMO_SALES_MANAGER_PHONE}}",
)
