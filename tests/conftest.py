"""Shared fixtures: real services only. Under CI=true a missing service fails; elsewhere it skips."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from pathlib import Path

import dagster as dg
import pytest
import yaml
from sqlalchemy import create_engine, make_url, text

from auterity_pipelines.simulator.credentials import DEMO_CREDENTIALS
from auterity_pipelines.simulator.data import SimulatorSettings
from auterity_pipelines.simulator.server import Faults, Simulator, serve_in_thread
from resources.warehouse import Warehouse

# Test fleets name the demo's variables; away from the bundled demo fleet nothing stands in for
# an unset one (settings.named_secret), so the tests set them, as a deployment sets its own.
for _name, _value in DEMO_CREDENTIALS.items():
    os.environ.setdefault(_name, _value)


def pytest_xdist_auto_num_workers(config) -> int | None:
    """`-n auto`: a worker per CPU this process may use (its affinity, and a cgroup v2 quota where
    one is set), not per core of the host a container runs on; PYTEST_XDIST_AUTO_NUM_WORKERS
    still decides where it is set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    cpus = len(os.sched_getaffinity(0))
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        cpus = min(cpus, int(quota) // int(period)) if quota != "max" else cpus
    except (OSError, ValueError):
        pass  # no cgroup v2 CPU controller here
    return max(1, cpus)


# Ports a test hands to a server it starts: below Linux's default ephemeral range, so no outgoing
# connection takes one before the server binds it, and in a block of their own per pytest-xdist
# worker, so two workers never hand out the same one.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_PORTS = iter(range(20_000 + 500 * _WORKER, 20_500 + 500 * _WORKER))


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now, and that no other test is given."""
    for port in _PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # taken by something else on this machine
                continue
            return port
    raise RuntimeError("this worker has handed out all of its ports")


def clean_environment(*prefixes: str) -> dict[str, str]:
    """This process's environment without the variables a test's subprocess must not inherit, but with
    the demo credentials the test fleets name."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("AUTERITY_", "DAGSTER_", *prefixes))}
    return kept | DEMO_CREDENTIALS


CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
POSTGRES_ADMIN_URL = os.environ.get(
    "AUTERITY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# The simulator's clock in tests: fixed, so every run sees the same DMS.
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def service_missing(what: str, variable: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error}); set {variable} to a reachable one"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


AMQP_URL = os.environ.get("AUTERITY_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


@pytest.fixture
def amqp_queue():
    """(broker URL, a durable queue of this test's own, bound to the events exchange), deleted after."""
    import pika

    from resources.events.amqp import declare

    try:
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    except Exception as exc:  # pika raises several kinds for an absent broker
        service_missing("RabbitMQ", "AUTERITY_TEST_AMQP_URL", exc)
    queue = f"auterity.test.{uuid.uuid4().hex[:8]}"
    with connection:
        declare(connection.channel(), queue)
    try:
        yield AMQP_URL, queue
    finally:
        # A connection of its own: an idle blocking connection answers no heartbeats, and the broker
        # drops it during a test that runs for minutes.
        with pika.BlockingConnection(pika.URLParameters(AMQP_URL)) as connection:
            connection.channel().queue_delete(queue)


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared corpus is missing at {CORPUS}")
    return CORPUS


class PostgresDatabases:
    """Creates empty PostgreSQL databases on the real server and drops them afterwards."""

    def __init__(self):
        self.admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.urls: list[str] = []

    def create(self) -> str:
        name = f"auterity_test_{uuid.uuid4().hex[:12]}"
        try:
            with self.admin.connect() as conn:
                conn.execute(text(f"CREATE DATABASE {name}"))
        except Exception as exc:  # any connection error means the service is not there
            service_missing("PostgreSQL", "AUTERITY_TEST_POSTGRES_URL", exc)
        url = self.admin.url.set(database=name).render_as_string(hide_password=False)
        self.urls.append(url)
        return url

    def drop_all(self) -> None:
        from resources.warehouse import engine_for

        for url in self.urls:
            engine_for(url).dispose()  # close pooled connections so the database can be dropped
        with self.admin.connect() as conn:
            for url in self.urls:
                conn.execute(text(f"DROP DATABASE IF EXISTS {make_url(url).database} WITH (FORCE)"))
        self.admin.dispose()


@pytest.fixture
def postgres_databases():
    databases = PostgresDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture
def postgres_url(postgres_databases) -> str:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    return postgres_databases.create()


@pytest.fixture(params=["sqlite", "postgres"])
def new_warehouse(request, tmp_path):
    """Makes migrated, empty warehouses on one backend (each parameter runs the test on one)."""
    databases = request.getfixturevalue("postgres_databases") if request.param == "postgres" else None
    count = iter(range(1000))

    def make() -> Warehouse:
        url = databases.create() if databases else f"sqlite:///{tmp_path / f'warehouse{next(count)}.db'}"
        warehouse = Warehouse(url=url)
        warehouse.upgrade()
        return warehouse

    return make


@pytest.fixture
def warehouse(new_warehouse) -> Warehouse:
    """A migrated warehouse on each backend."""
    return new_warehouse()


def start_simulator(settings: SimulatorSettings | None = None, faults: Faults | None = None):
    return serve_in_thread(Simulator(settings or SimulatorSettings(now=NOW), faults or Faults()))


def write_fleet(path: Path, base_url: str, extract_root: Path | None = None) -> Path:
    """A fleet of one Fortellis rooftop (Chicago), one Tekion rooftop (Los Angeles), optionally one extract."""
    dealerships = [
        {"id": "lakeside-honda", "name": "Lakeside Honda", "timezone": "America/Chicago",
         "dms": {"kind": "fortellis", "base_url": base_url, "client_id_env": "AUTERITY_DEMO_FORTELLIS_CLIENT_ID",
                 "client_secret_env": "AUTERITY_DEMO_FORTELLIS_CLIENT_SECRET", "subscription_id": "lakeside-honda"}},
        {"id": "northgate-ford", "name": "Northgate Ford", "timezone": "America/Los_Angeles",
         "dms": {"kind": "tekion", "base_url": base_url, "app_id_env": "AUTERITY_DEMO_TEKION_APP_ID",
                 "secret_key_env": "AUTERITY_DEMO_TEKION_SECRET_KEY", "dealer_id": "northgate-ford"}},
    ]  # fmt: skip
    if extract_root is not None:
        dealerships.append(
            {"id": "harbor-kia", "name": "Harbor Kia", "timezone": "America/New_York",
             "dms": {"kind": "extract", "path": str(extract_root)}}
        )  # fmt: skip
    path.write_text(yaml.safe_dump({"dealerships": dealerships}))
    return path


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("dealerships", ["lakeside-honda", "northgate-ford", "harbor-kia"])
        yield instance
