"""`auterity dms-simulator`: the demo fleet's DMSs over HTTP, with faults on request."""

from __future__ import annotations

import datetime as dt
import threading
import time

import click
from tqdm import tqdm

from auterity_pipelines.cli.binding import host_option, warn_if_exposed
from auterity_pipelines.fleet import FleetError, load_fleet
from auterity_pipelines.settings import fleet_path


def write_fleet_extracts(days: int, settings, now: dt.datetime, progress: bool = True) -> int:
    """Write the last `days` local days for every extract rooftop in the fleet (existing days are kept)."""
    from pathlib import Path

    from auterity_pipelines.simulator.data import RooftopDms
    from auterity_pipelines.simulator.extract import write_extract

    fleet = load_fleet(fleet_path())
    jobs = [
        (d, d.last_full_day(now) - dt.timedelta(days=n))
        for d in fleet.dealerships
        if d.dms.kind == "extract"
        for n in range(days)
    ]
    written = 0
    for dealership, day in tqdm(
        jobs, desc="writing extracts", unit="day", disable=None if progress else True
    ):
        if not (Path(dealership.dms.path) / day.isoformat() / "manifest.json").exists():
            write_extract(
                RooftopDms(dealership.id, settings),
                dealership.id,
                day,
                dealership.timezone,
                Path(dealership.dms.path),
            )
            written += 1
    return written


def warm_outcomes(simulator, settings) -> None:
    """Walk the fleet's REST rooftops' hidden outcomes (which visits come back, which leads buy)
    up to today before listening: the walk covers all history, and a first page must not wait
    for it (at --scale 1 about a second a rooftop; it grows with the scale)."""
    from auterity_pipelines.simulator.generate import EPOCH

    if not settings.outcomes:
        return
    try:
        keys = [d.dms.subscription_id or d.dms.dealer_id for d in load_fleet(fleet_path()).dealerships]
    except FleetError:
        return  # the API serves any rooftop it is asked for; it warms on first use
    today = (settings.current_time() - EPOCH).days
    for key in tqdm([k for k in keys if k], desc="walking the hidden outcomes", unit="rooftop", disable=None):
        rooftop = simulator.rooftop(key)
        for entity in ("repair_orders", "deals"):
            rooftop.count(entity, today)


def keep_writing_extracts(days: int, settings, every: float = 300) -> None:
    while True:
        time.sleep(every)
        try:
            write_fleet_extracts(days, settings, settings.current_time(), progress=False)
        except Exception as exc:  # a bad fleet edit must not stop the API
            click.echo(f"extract writer: {exc}", err=True)


@click.command("dms-simulator")
@click.option("--port", type=int, default=8765, show_default=True)
@host_option("simulator")
@click.option("--now", type=click.DateTime(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]), help="Freeze the clock (UTC).")
@click.option("--scale", type=float, default=1.0, show_default=True, help="Record volume multiplier.")
@click.option(
    "--malformed-share", type=float, default=0.0, show_default=True, help="Share of records served broken."
)
@click.option("--bad-vin-share", type=float, default=0.03, show_default=True)
@click.option("--rate-limit-every", type=int, default=0, help="Every Nth data request: 429 with Retry-After.")
@click.option("--server-error-every", type=int, default=0, help="Every Nth data request: 500 or 503.")
@click.option("--slow-every", type=int, default=0, help="Every Nth data request waits --slow-seconds.")
@click.option("--slow-seconds", type=float, default=2.0, show_default=True)
@click.option(
    "--drop-every", type=int, default=0, help="Every Nth data request: connection dropped mid-page."
)
@click.option(
    "--expire-token-every", type=int, default=0, help="Every Nth data request: token refused as expired."
)
@click.option("--token-ttl", type=int, default=3600, show_default=True, help="Token lifetime in seconds.")
@click.option(
    "--extract-days",
    type=int,
    default=0,
    help="First write this many past days of extracts for the fleet's extract rooftops.",
)
@click.option(
    "--smtp-port", type=int, default=8025, show_default=True, help="The demo mailbox's SMTP port (0: none)."
)
@click.option(
    "--no-outcomes",
    is_flag=True,
    help="Leads never become deals, visits never return: every day stands alone (load benchmarks at large scales).",
)
def dms_simulator(
    port, host, now, scale, malformed_share, bad_vin_share, extract_days, smtp_port, no_outcomes, **faults
):
    """Serve the demo fleet's DMSs: Fortellis and Tekion styles, deterministic data, optional faults."""
    import uvicorn

    warn_if_exposed(host, "DMS simulator", "anyone who reaches it can read its demo data and mailbox")

    from auterity_pipelines.simulator.data import SimulatorSettings
    from auterity_pipelines.simulator.server import Faults, Simulator

    frozen = now.replace(tzinfo=dt.UTC) if now else None
    settings = SimulatorSettings(
        now=frozen,
        scale=scale,
        malformed_share=malformed_share,
        bad_vin_share=bad_vin_share,
        outcomes=not no_outcomes,
    )
    if extract_days:
        try:
            written = write_fleet_extracts(extract_days, settings, settings.current_time())
        except FleetError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"wrote {written} extract day(s)")
        # A DMS drops each finished day's extract after its midnight; so does the simulator.
        threading.Thread(target=keep_writing_extracts, args=(extract_days, settings), daemon=True).start()
    simulator = Simulator(settings, Faults(**faults))
    warm_outcomes(simulator, settings)
    if smtp_port:
        try:
            simulator.mailbox.start(smtp_port, host)
            click.echo(f"demo mailbox: SMTP on {host}:{smtp_port}, GET /_mail lists what arrived")
        except (OSError, RuntimeError) as exc:  # the DMSs still serve; e-mail automations will say why
            click.echo(f"demo mailbox not started on {host}:{smtp_port}: {exc}", err=True)
    click.echo(
        f"DMS simulator on http://{host}:{port} (Fortellis: /fortellis/v1/…, Tekion: /tekion/openapi/v4/…)"
    )
    try:
        uvicorn.run(simulator.app(), host=host, port=port, log_level="warning")
    finally:
        simulator.mailbox.stop()
