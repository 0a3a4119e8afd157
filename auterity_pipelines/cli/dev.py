"""`auterity dev`: the whole platform on its embedded defaults, the demo fleet's DMSs included."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time

import click
import httpx

from auterity_pipelines.fleet import load_fleet
from auterity_pipelines.settings import fleet_path, project_file


def wait_for(
    url: str, process: subprocess.Popen, seconds: float = 60, what: str = "the DMS simulator"
) -> None:
    """Until `url` answers 200; fails when `process` (`what`) exits first or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(f"{what} exited with code {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
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
@click.option(
    "--smtp-port", type=int, default=8025, show_default=True, help="The demo mailbox's SMTP port (0: none)."
)
@click.option(
    "--metrics-port",
    type=int,
    default=9464,
    show_default=True,
    help="The Prometheus endpoint's port (0: none).",
)
def dev(port, simulator_port, extract_days, smtp_port, metrics_port):
    """Start the DMS simulator, then the Dagster UI and daemon on http://127.0.0.1:PORT."""
    from auterity_pipelines.cli.instance import ensure_partitions, prepare_dagster_home, ready_warehouse

    # The demo's messages go to the simulator's loopback providers, wherever they were put.
    os.environ.setdefault("AUTERITY_SMS_URL", f"http://127.0.0.1:{simulator_port}/twilio")
    os.environ.setdefault(
        "AUTERITY_DEMO_CHAT_WEBHOOK_URL",
        f"http://127.0.0.1:{simulator_port}/_chat/services/T0DEMO/B0DEMO/demo",
    )
    if smtp_port:
        os.environ.setdefault("AUTERITY_SMTP_PORT", str(smtp_port))
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
            "--smtp-port",
            str(smtp_port),
        ]
    )
    metrics = (
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "auterity_pipelines.cli.main",
                "metrics",
                "serve",
                "--port",
                str(metrics_port),
            ]
        )
        if metrics_port
        else None
    )
    try:
        wait_for(f"http://127.0.0.1:{simulator_port}/_sim/health", simulator, seconds=300)
        if metrics:
            click.echo(f"Prometheus metrics on http://127.0.0.1:{metrics_port}/metrics")
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
            end_stragglers()
    finally:
        if metrics:
            stop(metrics, first=signal.SIGTERM, grace=10)
        stop(simulator, first=signal.SIGTERM, grace=10)


def _group_members() -> list[int]:
    """Other processes in this process group (Linux: read from /proc; elsewhere none are found)."""
    group, me, found = os.getpgrp(), os.getpid(), []
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()) if os.path.isdir("/proc") else ():
        try:
            if pid != me and os.getpgid(pid) == group:
                found.append(pid)
        except ProcessLookupError:
            pass
    return found


def end_stragglers(grace: float = 15) -> None:
    """End run workers that started after Ctrl-C reached the process group.

    The daemon can launch a run while it is stopping (a queued run, or a retry of one that
    Ctrl-C interrupted); its worker never saw the signal and would outlive `auterity dev`. It is
    in this process group, as everything Ctrl-C was meant to stop is: ask the group again, then
    kill what is left. An interrupted run is failed by run monitoring at the next start, and its
    loads are idempotent.
    """
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.killpg(os.getpgrp(), signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)
    deadline = time.monotonic() + grace
    while (left := _group_members()) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


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
