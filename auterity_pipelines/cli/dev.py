"""`auterity dev`: the whole platform on its embedded defaults, the demo fleet's DMSs included."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import click
import httpx

from auterity_pipelines.fleet import load_fleet
from auterity_pipelines.settings import fleet_path, project_file


def wait_for(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(f"the DMS simulator exited with code {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    raise click.ClickException(f"{url} did not answer within {seconds:.0f} s")


@click.command()
@click.option("--port", type=int, default=3000, show_default=True, help="The Dagster UI's port.")
@click.option(
    "--simulator-port", type=int, default=8765, show_default=True, help="Must match the fleet's base_url."
)
@click.option(
    "--extract-days", type=int, default=7, show_default=True, help="Days of demo extracts to write."
)
def dev(port, simulator_port, extract_days):
    """Start the DMS simulator, then the Dagster UI and daemon on http://127.0.0.1:PORT."""
    from auterity_pipelines.cli.instance import ensure_partitions, prepare_dagster_home, ready_warehouse

    instance = prepare_dagster_home()
    ready_warehouse()
    ensure_partitions(instance, load_fleet(fleet_path()))
    simulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "auterity_pipelines.cli.main",
            "dms-simulator",
            "--port",
            str(simulator_port),
            "--extract-days",
            str(extract_days),
        ]
    )
    try:
        wait_for(f"http://127.0.0.1:{simulator_port}/_sim/health", simulator, seconds=300)
        workspace = project_file("workspace.yaml")
        target = ["-w", str(workspace)] if workspace else ["-m", "auterity_pipelines.definitions"]
        dagster = shutil.which("dagster") or str(
            __import__("pathlib").Path(sys.executable).with_name("dagster")
        )
        click.echo(f"Dagster UI on http://127.0.0.1:{port} (Ctrl-C stops everything)")
        ui = subprocess.Popen([dagster, "dev", *target, "-h", "127.0.0.1", "-p", str(port)])
        try:
            ui.wait()
        except KeyboardInterrupt:
            stop(ui, first=signal.SIGINT)
    finally:
        stop(simulator, first=signal.SIGTERM, grace=10)


def stop(process: subprocess.Popen, first: signal.Signals, grace: float = 60) -> None:
    """Let a child stop its own children (Ctrl-C reached it too), asking again, then killing, if it will not."""
    for nudge, wait in ((None, 10), (first, grace)):
        if nudge is not None and process.poll() is None:
            process.send_signal(nudge)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
    process.kill()
    process.wait()
