"""DMS secrets are read from the environment when a client is built and appear nowhere else."""

import datetime as dt
import logging

import dagster as dg
import yaml

from auterity_pipelines.simulator.data import SimulatorSettings
from auterity_pipelines.simulator.server import Faults, Simulator, serve_in_thread
from tests.conftest import NOW
from tests.helpers import sync

SECRETS = {
    "LAKESIDE_CLIENT_ID": "lakeside-client-7f3a",
    "LAKESIDE_CLIENT_SECRET": "s3cr3t-9d1e-lakeside",
    "NORTHGATE_APP_ID": "northgate-app-42",
    "NORTHGATE_SECRET_KEY": "k3y-5b7c-northgate",
}


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_no_secret_reaches_run_config_events_metadata_or_logs(tmp_path, monkeypatch, warehouse):
    logs = Collect()
    logging.getLogger().addHandler(logs)
    monkeypatch.setattr(logging.getLogger(), "level", logging.DEBUG)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    credentials = {
        "AUTERITY_DEMO_FORTELLIS_CLIENT_ID": SECRETS["LAKESIDE_CLIENT_ID"],
        "AUTERITY_DEMO_FORTELLIS_CLIENT_SECRET": SECRETS["LAKESIDE_CLIENT_SECRET"],
        "AUTERITY_DEMO_TEKION_APP_ID": SECRETS["NORTHGATE_APP_ID"],
        "AUTERITY_DEMO_TEKION_SECRET_KEY": SECRETS["NORTHGATE_SECRET_KEY"],
    }
    # Tokens refused as expired make the clients authenticate again mid-run.
    simulator = Simulator(
        SimulatorSettings(now=NOW), Faults(expire_token_every=3, server_error_every=4), credentials
    )
    with serve_in_thread(simulator) as url, dg.instance_for_test() as instance:
        fleet = tmp_path / "fleet.yaml"
        fleet.write_text(yaml.safe_dump({"dealerships": [
            {"id": "lakeside-honda", "timezone": "America/Chicago",
             "dms": {"kind": "fortellis", "base_url": url, "client_id_env": "LAKESIDE_CLIENT_ID",
                     "client_secret_env": "LAKESIDE_CLIENT_SECRET", "subscription_id": "lakeside-honda"}},
            {"id": "northgate-ford", "timezone": "America/Los_Angeles",
             "dms": {"kind": "tekion", "base_url": url, "app_id_env": "NORTHGATE_APP_ID",
                     "secret_key_env": "NORTHGATE_SECRET_KEY", "dealer_id": "northgate-ford"}},
        ]}))  # fmt: skip
        instance.add_dynamic_partitions("dealerships", ["lakeside-honda", "northgate-ford"])
        for rooftop in ("lakeside-honda", "northgate-ford"):
            result = sync(instance, fleet, warehouse, rooftop, dt.date(2026, 11, 17))
            assert result.success
            assert warehouse.count("raw_customers", rooftop) > 0  # it authenticated with the secrets
        runs = instance.get_runs()
        assert len(runs) == 2
        recorded = [repr(run) for run in runs]  # run config and tags
        recorded += [repr(r) for run in runs for r in instance.get_records_for_run(run.run_id).records]
    logging.getLogger().removeHandler(logs)
    assert logs.lines  # the clients' retries were logged
    text = "\n".join([*recorded, *logs.lines])
    for value in SECRETS.values():
        assert value not in text
