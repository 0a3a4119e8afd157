"""A sync killed with SIGKILL mid-run, then rerun: nothing lost, nothing duplicated."""

import datetime as dt
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from auterity_pipelines.records import ENTITIES
from auterity_pipelines.schema import RAW_TABLES
from auterity_pipelines.simulator.data import RooftopDms, SimulatorSettings
from auterity_pipelines.simulator.server import Faults
from tests.conftest import NOW, clean_environment, start_simulator, write_fleet
from tests.helpers import checksum, expected, raw_payloads

ROOFTOP, TZ = "lakeside-honda", "America/Chicago"
DAYS = [dt.date(2026, 11, 10) + dt.timedelta(days=n) for n in range(6)]


def loaded(warehouse) -> int:
    with warehouse.engine.connect() as conn:
        return sum(
            conn.execute(select(func.count()).select_from(t)).scalar_one() for t in RAW_TABLES.values()
        )


@pytest.mark.slow
def test_a_sync_killed_mid_run_and_rerun_loses_and_duplicates_nothing(tmp_path, warehouse):
    env = clean_environment()
    env.update(AUTERITY_HOME=str(tmp_path / "home"), AUTERITY_FLEET=str(tmp_path / "fleet.yaml"),
               AUTERITY_WAREHOUSE_URL=warehouse.url)  # fmt: skip
    command = [sys.executable, "-m", "auterity_pipelines.cli.main", "sync", "--dealership", ROOFTOP,
               "--start", DAYS[0].isoformat(), "--end", DAYS[-1].isoformat()]  # fmt: skip
    settings = SimulatorSettings(now=NOW)
    faults = Faults(slow_every=1, slow_seconds=0.25)  # slow enough to be killed mid-run
    with start_simulator(settings, faults) as url:
        write_fleet(tmp_path / "fleet.yaml", url)
        victim = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while loaded(warehouse) < 150 and time.monotonic() < deadline and victim.poll() is None:
            time.sleep(0.1)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        assert victim.returncode == -signal.SIGKILL, "the sync finished before it could be killed"
        at_kill = loaded(warehouse)
        faults.slow_every = 0  # the rerun need not be slow
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    dms = RooftopDms(ROOFTOP, settings)
    total = 0
    for entity in ENTITIES:
        truth = expected(dms, entity, TZ, DAYS)
        payloads = raw_payloads(warehouse, entity, ROOFTOP)
        assert checksum(payloads) == checksum(truth.records), entity
        total += len(payloads)
    assert 0 < at_kill < total, (at_kill, total)
