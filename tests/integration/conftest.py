"""Fixtures the integration tests share: months of simulated history, a temporary MLflow store, a CRM."""

import datetime as dt
import json

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from auterity_pipelines.events.signing import verify
from auterity_pipelines.loopback import serve_app_in_thread
from auterity_pipelines.schema import lead_scores
from auterity_pipelines.simulator.data import EPOCH, RooftopDms, SimulatorSettings
from ml.registry import Store
from resources.mlflow import NeuroWeaver
from resources.warehouse import Warehouse
from tests.helpers import load_history
from tests.integration.automations_world import fresh, world  # noqa: F401 (fixtures of the automation tests)
from tests.integration.test_events_intake import SECRET

ROOFTOP = "lakeside-honda"
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
SCORED_DAY = dt.date(2026, 11, 19)


@pytest.fixture(scope="session")
def history(tmp_path_factory) -> Warehouse:
    """A SQLite warehouse holding 23 months of one simulated rooftop; its last day is partition SCORED_DAY."""
    warehouse = Warehouse(url=f"sqlite:///{tmp_path_factory.mktemp('history') / 'warehouse.db'}")
    warehouse.upgrade()
    dms = RooftopDms(ROOFTOP, SimulatorSettings(now=NOW))
    last = dt.datetime.combine(SCORED_DAY, dt.time(), tzinfo=dt.UTC)
    load_history(warehouse, dms, ROOFTOP, EPOCH, last, SCORED_DAY - dt.timedelta(days=1))
    load_history(warehouse, dms, ROOFTOP, last, last + dt.timedelta(days=1), SCORED_DAY)
    return warehouse


@pytest.fixture(autouse=True)
def no_scores_left_behind(request):
    yield
    if "history" in request.fixturenames:
        with request.getfixturevalue("history").engine.begin() as conn:
            conn.execute(lead_scores.delete())


@pytest.fixture
def neuroweaver(tmp_path) -> NeuroWeaver:
    return NeuroWeaver(tracking_uri=Store.default(tmp_path).tracking_uri, challenger_share=0.5)


# A rooftop whose leads go to a CRM on loopback (lead intake, first run).
KEY_VARIABLES = ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AUTERITY_NEUROWEAVER_URL")


class Crm:
    """A rooftop's CRM on loopback: keeps what it is sent, and checks the signature like a real one would."""

    def __init__(self):
        self.received: list[dict] = []

    async def post(self, request: Request) -> JSONResponse:
        body = await request.body()
        verify(
            SECRET,
            request.headers.get("x-auterity-timestamp"),
            request.headers.get("x-auterity-signature"),
            body,
            ROOFTOP,
        )
        self.received.append(json.loads(body))
        return JSONResponse({"ok": True})


@pytest.fixture
def crm():
    crm = Crm()
    with serve_app_in_thread(Starlette(routes=[Route("/leads", crm.post, methods=["POST"])]), "CRM") as url:
        crm.url = f"{url}/leads"
        yield crm


@pytest.fixture
def fleet_file(tmp_path, monkeypatch, crm):
    monkeypatch.setenv("LAKESIDE_WEBHOOK_SECRET", SECRET)
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "fleet.yaml"
    path.write_text(
        f"""dealerships:
  - id: {ROOFTOP}
    name: Lakeside Honda
    timezone: America/Chicago
    webhook_secret_env: LAKESIDE_WEBHOOK_SECRET
    crm_webhook_url: {crm.url}
    dms: {{kind: extract, path: {tmp_path}}}
"""
    )
    monkeypatch.setenv("AUTERITY_FLEET", str(path))
    return path


@pytest.fixture
def receiver(warehouse, tmp_path, monkeypatch):
    """The real webhook receiver on loopback for lakeside-honda (no CRM), storing into `warehouse`."""
    from auterity_pipelines.fleet import load_fleet
    from auterity_pipelines.loopback import serve_app_in_thread
    from resources.events.receiver import Receiver
    from tests.integration.test_events_intake import SECRET

    monkeypatch.setenv("LAKESIDE_WEBHOOK_SECRET", SECRET)
    (tmp_path / "fleet.yaml").write_text(
        f"dealerships:\n  - id: {ROOFTOP}\n    name: Lakeside Honda\n    timezone: America/Chicago\n"
        f"    webhook_secret_env: LAKESIDE_WEBHOOK_SECRET\n    dms: {{kind: extract, path: {tmp_path}}}\n"
    )
    with serve_app_in_thread(
        Receiver(load_fleet(tmp_path / "fleet.yaml"), warehouse, max_body=10_000).app(), "receiver"
    ) as url:
        yield url
