"""`auterity dev` as a user runs it: UI and daemon up, a run launched through GraphQL succeeds,
and Ctrl-C leaves nothing running."""

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest
import yaml
from dagster import DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient
from prometheus_client.parser import text_string_to_metric_families

from auterity_pipelines.cli.dev import wait_for
from tests.conftest import clean_environment, free_port, write_fleet


def session_processes(session: int) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.getsid(int(pid)) == session:
                found.append(int(pid))
        except (ProcessLookupError, PermissionError):
            pass
    return found


@pytest.mark.slow
def test_dev_serves_the_ui_runs_a_partition_through_the_daemon_and_stops_on_ctrl_c(tmp_path):
    ui_port, sim_port, metrics_port = free_port(), free_port(), free_port()
    fleet = write_fleet(
        tmp_path / "fleet.yaml", f"http://127.0.0.1:{sim_port}", extract_root=tmp_path / "extracts"
    )
    # The demo automations send harbor-kia's hot leads to its CRM: with a CRM the automations file
    # is valid, so any sensor error below is a fault, not the file's problem reported.
    config = yaml.safe_load(fleet.read_text())
    config["dealerships"][-1]["crm_webhook_url"] = f"http://127.0.0.1:{sim_port}/_crm/harbor-kia/leads"
    fleet.write_text(yaml.safe_dump(config))
    env = clean_environment()
    env.update(AUTERITY_HOME=str(tmp_path / "home"), AUTERITY_FLEET=str(fleet))
    with open(tmp_path / "dev.log", "wb") as output:  # dev writes to its own copy of the file
        dev = subprocess.Popen(
            [sys.executable, "-m", "auterity_pipelines.cli.main", "dev", "--port", str(ui_port),
             "--simulator-port", str(sim_port), "--extract-days", "2", "--metrics-port", str(metrics_port)],
            env=env, start_new_session=True, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{ui_port}/server_info", dev, 180, "auterity dev")
        up = time.monotonic()  # the UI answers
        client = DagsterGraphQLClient("127.0.0.1", port_number=ui_port)
        day = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).date().isoformat()
        run_id = client.submit_job_execution(
            "dms_sync_job", tags={"dagster/partition": f"{day}|harbor-kia", "dagster/partition/dealership": "harbor-kia",
                                  "dagster/partition/day": day},
        )  # fmt: skip
        while (status := client.get_run_status(run_id)) not in (
            DagsterRunStatus.SUCCESS,
            DagsterRunStatus.FAILURE,
        ):
            assert time.monotonic() < up + 240, f"the run is still {status}"
            time.sleep(1)
        assert status == DagsterRunStatus.SUCCESS
        # The first sync's figures on the metrics endpoint `auterity dev` started, and the AI
        # figures of the enrichment run the sync set off.
        while True:
            found = {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for f in text_string_to_metric_families(
                    httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
                )
                for s in f.samples
            }
            ai = sum(v for (name, _), v in found.items() if name == "auterity_ai_requests_total")
            if ai > 0:
                break
            assert time.monotonic() < up + 360, "no AI request after the first sync"
            time.sleep(2)
        synced = [v for (name, labels), v in found.items()
                  if name == "auterity_sync_rows_total" and ("dealership", "harbor-kia") in labels]  # fmt: skip
        assert synced and sum(synced) > 0
        assert found[("auterity_runs_total", (("job", "dms_sync_job"), ("status", "SUCCESS")))] >= 1
        # Everything `auterity dev` started listens on loopback only: UI, daemon, code server,
        # simulator and its mailbox, metrics.
        bound = set()
        for pid in session_processes(dev.pid):
            with contextlib.suppress(psutil.NoSuchProcess):
                bound |= {(c.laddr.ip, c.laddr.port) for c in psutil.Process(pid).net_connections("inet")
                          if c.status == "LISTEN"}  # fmt: skip
        assert {("127.0.0.1", p) for p in (ui_port, sim_port, metrics_port)} <= bound
        assert {ip for ip, _ in bound} <= {"127.0.0.1", "::1"}, bound
    finally:
        os.killpg(dev.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        dev.wait(timeout=120)
    time.sleep(2)
    assert session_processes(dev.pid) == [], "processes outlived Ctrl-C"
    # Every sensor and schedule the daemon ticked on this fresh install ticked without an error.
    log = (tmp_path / "dev.log").read_text(errors="replace")
    failed = log.find("tick caught an error")
    assert failed == -1, log[failed : failed + 3000]


def test_ctrl_c_ends_a_run_worker_that_started_after_it():
    """The daemon can launch a run while it stops; its worker never saw Ctrl-C. `auterity dev`
    ends what is left of its process group, a worker that ignores SIGTERM included."""
    script = (
        "import subprocess, sys\n"
        "from auterity_pipelines.cli.dev import end_stragglers\n"
        "worker = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "stubborn = subprocess.Popen([sys.executable, '-c', 'import signal, time; "
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); time.sleep(600)'], "
        "stdout=subprocess.PIPE)\n"
        "stubborn.stdout.readline()  # its handler is in place\n"
        "end_stragglers(grace=2)\n"
        "print(worker.wait(timeout=5), stubborn.wait(timeout=5))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], start_new_session=True, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(-signal.SIGTERM), str(-signal.SIGKILL)]
