"""End to end through the real daemon: signed ADF leads and a RabbitMQ DMS event become successful runs."""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import dagster as dg
import httpx
import pytest
import yaml
from sqlalchemy import func, select

from assets.models import champion_key, model_assets, model_key
from auterity_pipelines.events.signing import headers
from auterity_pipelines.schema import RAW_TABLES, events_inbox, lead_scores, leads
from ml.registry import Store
from resources.events.amqp import publish
from resources.mlflow import NeuroWeaver
from resources.warehouse import Warehouse
from tests.conftest import clean_environment, write_fleet
from tests.helpers import crm_posts
from tests.integration.test_dev import free_port
from tests.integration.test_events_intake import SECRET  # the CRM on loopback checks with it

RUNS_BY_EVENT = """
query Runs($value: String!) {
  runsOrError(filter: {tags: [{key: "auterity/event", value: $value}]}) {
    ... on Runs { results { runId status } }
  }
}"""


def start(env, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "auterity_pipelines.cli.main", *args],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while True:
        try:
            found = check()
        except httpx.TransportError:
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)


def run_statuses(ui_port: int, event_id: str) -> list[str]:
    answer = httpx.post(
        f"http://127.0.0.1:{ui_port}/graphql",
        json={"query": RUNS_BY_EVENT, "variables": {"value": event_id}},
        timeout=10,
    ).json()
    return [r["status"] for r in answer["data"]["runsOrError"]["results"]]


@pytest.mark.slow
def test_leads_and_dms_events_start_their_runs_through_the_daemon(tmp_path, corpus, crm, history, amqp_queue):
    url, queue = amqp_queue  # the bridge reads this test's queue, deleted afterwards
    home, ui_port, sim_port, events_port = tmp_path / "home", free_port(), free_port(), free_port()
    fleet_path = write_fleet(tmp_path / "fleet.yaml", f"http://127.0.0.1:{sim_port}")
    fleet = yaml.safe_load(fleet_path.read_text())
    fleet["dealerships"][0].update(webhook_secret_env="E2E_WEBHOOK_SECRET", crm_webhook_url=crm.url)
    fleet_path.write_text(yaml.safe_dump(fleet))
    # The lead intake scores with the champion: register one in the store the runs will read.
    trained = [
        a for a in model_assets if a.key in (model_key("lead_conversion"), champion_key("lead_conversion"))
    ]
    with dg.instance_for_test() as scratch:
        neuroweaver = NeuroWeaver(tracking_uri=Store.default(home).tracking_uri)
        assert dg.materialize(
            trained, resources={"warehouse": history, "neuroweaver": neuroweaver}, instance=scratch
        ).success

    env = clean_environment("MLFLOW_", "OPENAI_")
    env.update(AUTERITY_HOME=str(home), AUTERITY_FLEET=str(fleet_path), E2E_WEBHOOK_SECRET=SECRET)
    processes = [
        start(env, "dev", "--port", str(ui_port), "--simulator-port", str(sim_port), "--extract-days", "1"),
        start(env, "serve-events", "--port", str(events_port)),
        start({**env, "AUTERITY_AMQP_URL": url}, "consume-events", "--queue", queue),
    ]
    try:
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{ui_port}/server_info", timeout=2).status_code == 200,
            240,
            "the UI",
        )
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{events_port}/health", timeout=2).status_code == 200,
            60,
            "the receiver",
        )
        lead_events = []
        for path in sorted((corpus / "adf").glob("*.xml")):
            body = path.read_bytes()
            answer = httpx.post(
                f"http://127.0.0.1:{events_port}/v1/dealerships/lakeside-honda/leads",
                content=body,
                headers={**headers(SECRET, body, "lakeside-honda"), "Content-Type": "application/xml"},
                timeout=10,
            )
            assert answer.status_code == 202, answer.text
            lead_events.append(answer.json()["event_id"])
        # A day ago: the rooftop's previous local day, whole whatever the hour (an hour ago is
        # minutes into a new day just after the rooftop's midnight, with no repair orders yet).
        occurred = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
        ro = {"id": f"ro-{uuid.uuid4().hex[:6]}", "type": "ro.closed", "occurred_at": occurred,
              "data": {"ro_number": "R-1", "closed_at": occurred}}  # fmt: skip
        # The bridge declares its queue when it starts; publish once it is bound.
        time.sleep(3)
        publish(url, "lakeside-honda.ro.closed", ro)
        warehouse = Warehouse(url=f"sqlite:///{home / 'warehouse.db'}")
        ro_event = wait_until(
            lambda: _event_id(warehouse, f"id:{ro['id']}"), 60, "the RabbitMQ event in the inbox"
        )
        # Leads that arrive together share an intake run; each has its CRM delivery row once posted.
        wait_until(lambda: [d for _, d in _crm_posts(warehouse)] == ["sent"] * 3, 420, "the leads at the CRM")
        statuses = wait_until(
            lambda: (s := run_statuses(ui_port, ro_event)) and s[0] in ("SUCCESS", "FAILURE") and s,
            420,
            "the sync the repair-order event started",
        )
        assert statuses == ["SUCCESS"]
        newest = wait_until(
            lambda: (s := run_statuses(ui_port, lead_events[-1])) and s[0] in ("SUCCESS", "FAILURE") and s,
            120,
            "the newest lead's intake run",
        )
        assert newest == ["SUCCESS"]
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGINT)
        for process in processes:
            process.wait(timeout=120)

    with warehouse.engine.connect() as conn:
        inbound = {r.payload["source_id"] for r in conn.execute(select(events_inbox.c.payload).where(
            events_inbox.c.event_type == "lead.received"))}  # fmt: skip
        assert inbound <= set(conn.execute(select(leads.c.lead_id)).scalars())
        assert inbound <= set(conn.execute(select(lead_scores.c.lead_id)).scalars())
        statuses = dict(conn.execute(select(events_inbox.c.event_id, events_inbox.c.status)).all())
        # The repair-order event synced its rooftop-day from the DMS.
        assert conn.execute(select(func.count()).select_from(RAW_TABLES["repair_orders"])).scalar() > 0
    assert len(inbound) == 3 and [statuses[e] for e in lead_events] == ["done"] * 3
    assert statuses[ro_event] == "done"  # marked by the sync run it started
    assert sorted(json.dumps(p["lead"]["last_name"]) for p in crm.received) == [
        '"Doe"',
        '"Test01292019"',
        '"user"',
    ]


def _event_id(warehouse: Warehouse, dedup_key: str) -> str | None:
    try:
        with warehouse.engine.connect() as conn:
            return conn.execute(
                select(events_inbox.c.event_id).where(events_inbox.c.dedup_key == dedup_key)
            ).scalar()
    except Exception:  # the receiver creates the tables on start; until then there is nothing to read
        return None


def _crm_posts(warehouse: Warehouse) -> list[tuple[str, str]]:
    try:
        return crm_posts(warehouse)
    except Exception:  # the tables appear when the receiver starts
        return []
