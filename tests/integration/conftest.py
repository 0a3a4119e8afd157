"""Fixtures NeuroWeaver's tests share: months of simulated history, and a temporary MLflow store."""

import datetime as dt

import pytest

from auterity_pipelines.schema import lead_scores
from auterity_pipelines.simulator.data import EPOCH, RooftopDms, SimulatorSettings
from ml.registry import Store
from resources.mlflow import NeuroWeaver
from resources.warehouse import Warehouse
from tests.helpers import load_history

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
